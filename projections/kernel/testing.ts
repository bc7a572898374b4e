import { randomUUID } from 'node:crypto';
import { encodeEvent, type ConsumedMessage } from '../../platform/bus/message.js';
import type { Bus, ConsumedBatch } from '../../platform/bus/port.js';
import type { QueryOptions, SqlClient, SqlExecutor } from '../../platform/sql/client.js';
import type { RawStoredEvent } from '../../schemas/events/registry.js';
import { pino } from 'pino';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { pgClient } from '../../platform/sql/client.js';
import { requireEnv } from '../../platform/testing/require-env.js';
import { createGeneration, tablesOf } from './generations.js';
import type { PostgresProjection } from './projection.js';
import { replayProjection } from './replay.js';
import { kernelTestProjection } from './test-projection.js';

/**
 * Test helpers of the projection kernel (not production code): waits that always end, a SqlClient that
 * fails on demand, hand-made bus batches, a DLQ reader with a deadline, and the integration tests' set-up
 * on the real servers (below).
 */

/** Polls `cond` every 10 ms; throws (never hangs) after `ms`. */
export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** `promise`, or a rejection naming `what` after `ms`: a broken guarantee fails the test instead of hanging it. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export { readTopic } from '../../platform/bus/testing.js';

/** What a fault sees of one statement. */
export interface Call {
  readonly sql: string;
  readonly params: readonly unknown[];
  /** Inside `transaction`. */
  readonly inTransaction: boolean;
}

/**
 * `inner` with a fault injector: before each statement (and before a transaction starts, as a call with
 * sql `BEGIN`), `fault` may return an error, which is thrown instead of running it. Counts transactions.
 */
export function faultySql(inner: SqlClient, fault: (call: Call) => unknown): SqlClient & { transactions: number } {
  const guard = (call: Call) => {
    const error = fault(call);
    if (error !== undefined) throw error;
  };
  const wrap = (x: SqlExecutor, inTransaction: boolean): SqlExecutor => ({
    async query<R>(sql: string, params: readonly unknown[] = [], options?: QueryOptions) {
      guard({ sql, params, inTransaction });
      return x.query<R>(sql, params, options);
    },
    async exec(sql: string) {
      guard({ sql, params: [], inTransaction });
      return x.exec(sql);
    },
  });
  const outer = wrap(inner, false);
  const client = {
    dialect: inner.dialect,
    transactions: 0,
    query: outer.query,
    exec: outer.exec,
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      guard({ sql: 'BEGIN', params: [], inTransaction: false });
      client.transactions++;
      return inner.transaction((tx) => fn(wrap(tx, true)));
    },
    close: () => inner.close(),
  };
  return client;
}

/** An error as node-postgres reports a server error: a message and a SQLSTATE `code`. */
export function sqlError(code: string, message = `simulated ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

/** Raw stored events (as the relay publishes them) delivered as one batch of one partition, from `firstOffset`. */
export function batchOf(records: readonly RawStoredEvent[], options: { topic?: string; partition: number; firstOffset?: bigint }): ConsumedBatch {
  const topic = options.topic ?? 'annals.lead.events';
  const first = options.firstOffset ?? 0n;
  return {
    topic,
    partition: options.partition,
    highWatermark: first + BigInt(records.length),
    messages: records.map((r, i): ConsumedMessage => ({ topic, partition: options.partition, offset: first + BigInt(i), ...encodeEvent(r) })),
  };
}

/** Hand-made raw events, with positions and stream revisions assigned in order; NOT validated (that is the point). */
export class RawHistory {
  readonly records: RawStoredEvent[] = [];
  private readonly revisions = new Map<string, bigint>();
  constructor(private position = 1_000n) {}

  add(streamId: string, type: string, data: unknown, tenantId: string, schemaVersion = 1): RawStoredEvent {
    const streamRevision = (this.revisions.get(streamId) ?? -1n) + 1n;
    this.revisions.set(streamId, streamRevision);
    this.position += 1n;
    const record: RawStoredEvent = {
      eventId: randomUUID(),
      type,
      schemaVersion,
      streamId,
      streamRevision,
      position: this.position,
      data,
      metadata: { tenantId, actor: { userId: 'u1', roles: ['sales'] }, correlationId: 'c', causationId: 'c', occurredAt: new Date().toISOString() },
    };
    this.records.push(record);
    return record;
  }

  capture(tenantId: string, leadId: string): RawStoredEvent {
    return this.add(`lead-${leadId}`, 'LeadCaptured', { leadId, name: 'Ada', source: 'web', capturedAt: new Date().toISOString() }, tenantId);
  }

  score(tenantId: string, leadId: string, score: number): RawStoredEvent {
    return this.add(`lead-${leadId}`, 'LeadScored', { leadId, score, factors: [] }, tenantId);
  }
}

// ── integration tests (real PostgreSQL + Kafka) ────────────────────────────────────────────────────

/**
 * Shared set-up of the kernel's integration tests (real PostgreSQL + Kafka from `annals stack`). Every run
 * gets its own tenant, read model name (hence consumer group, DLQ topic, tables) and relay checkpoint, so
 * runs and other engineers' tests on the same servers never see each other's effects.
 */
export const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export interface IntRun {
  readonly run: string;
  readonly tenant: string;
  readonly projection: PostgresProjection;
  readonly storeSql: SqlClient;
  readonly readSql: SqlClient;
  readonly store: EventStore;
  readonly brokers: string;
  /** The store's head when the run opened: every event of the run comes after it. */
  readonly startPosition: bigint | undefined;
  close(): Promise<void>;
}

export async function openIntRun(options: { sleepMsPerEvent?: number } = {}): Promise<IntRun> {
  const run = randomUUID().replace(/-/g, '').slice(0, 10);
  const storeSql = pgClient(requireEnv('EVENTSTORE_URL'), { max: 4 });
  const readSql = pgClient(requireEnv('READ_DB_URL'), { max: 4 });
  const brokers = requireEnv('KAFKA_BROKERS');
  const store = createEventStore(await postgresEventStore(storeSql));
  const projection = kernelTestProjection({ name: `kt-${run}`, table: `kt_${run}`, sleepMsPerEvent: options.sleepMsPerEvent });
  const startPosition = await store.headPosition();
  return {
    run,
    tenant: `tenant-${run}`,
    projection,
    storeSql,
    readSql,
    store,
    brokers,
    startPosition,
    async close() {
      // Leave the shared read database as we found it.
      const { rows } = await readSql.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE tablename LIKE $1`, [`kt_${run}_g%`]);
      await readSql.exec(`DROP VIEW IF EXISTS kt_${run}`);
      for (const r of rows) await readSql.exec(`DROP TABLE IF EXISTS ${r.t}`);
      for (const t of ['annals_projections', 'annals_projection_generations', 'annals_projection_offsets', 'annals_projection_streams']) {
        await readSql.query(`DELETE FROM ${t} WHERE name = $1`, [projection.name]).catch(() => {});
      }
      await storeSql.query(`DELETE FROM annals_relay_checkpoint WHERE name = $1`, [`test-${run}`]).catch(() => {});
      await Promise.allSettled([readSql.close(), storeSql.close()]);
    },
  };
}

export const meta = (tenantId: string) => ({
  tenantId,
  actor: { userId: 'u1', roles: ['sales' as const] },
  correlationId: 'c',
  causationId: 'c',
  occurredAt: new Date().toISOString(),
});
export const capture = (tenantId: string, leadId: string) => ({
  type: 'LeadCaptured',
  data: { leadId, name: 'Ada', source: 'web', capturedAt: new Date().toISOString() },
  metadata: meta(tenantId),
});
export const score = (tenantId: string, leadId: string, s: number) => ({ type: 'LeadScored', data: { leadId, score: s, factors: [] }, metadata: meta(tenantId) });

export async function tenantRows(sql: SqlClient, table: string, tenant: string): Promise<unknown[]> {
  return (await sql.query(`SELECT lead_id, score, events, revision::text, position::text FROM ${table} WHERE tenant_id = $1 ORDER BY lead_id`, [tenant])).rows;
}

/**
 * The tenant's rows of a fresh replay into a new generation of every event since the run opened. The
 * shared server's store holds every other run's history (hundreds of thousands of events); none of it is
 * the run's tenant's, so the replay starts at the run's first position rather than at the beginning.
 */
export async function freshReplayRows(r: IntRun): Promise<unknown[]> {
  const { generation } = await createGeneration(r.readSql, r.projection);
  if (r.startPosition !== undefined) {
    await r.readSql.query(`UPDATE annals_projection_generations SET position = $3 WHERE name = $1 AND generation = $2`, [r.projection.name, generation, r.startPosition.toString()]);
  }
  // A fresh replay must not be slowed by the crash test's per-event sleep.
  const fast = kernelTestProjection({ name: r.projection.name, table: r.projection.tables[0]! });
  // The store shows events only below the oldest transaction still open on it (the contract's visibility
  // rule), and the servers are shared: a replay can stop short of the head while another process holds a
  // transaction. It resumes from its checkpoint until it has reached the head seen now.
  const head = await r.store.headPosition();
  const end = Date.now() + 30_000;
  for (;;) {
    const res = await replayProjection({ sql: r.readSql, store: r.store, projection: fast, generation, log: silent, batchSize: 5000 });
    if (head === undefined || (res.position !== undefined && res.position >= head)) break;
    if (Date.now() > end) throw new Error(`the fresh replay stayed below the head ${head} (at ${res.position}) for 30 s: a transaction held open on the event store?`);
    await new Promise((res_) => setTimeout(res_, 200));
  }
  return tenantRows(r.readSql, tablesOf(r.projection, generation)[r.projection.tables[0]!]!, r.tenant);
}


/** Starts a new read model's consumer group at the current end of the topics: history on shared topics is other runs'. */
export async function seedOffsetsAtEnd(r: IntRun, bus: Bus, topics: readonly string[]): Promise<void> {
  await bus.ensureTopics(topics);
  for (const topic of topics) {
    for (const [partition, end] of await bus.endOffsets(topic)) {
      await r.readSql.query(`INSERT INTO annals_projection_offsets(name, topic, partition, next_offset) VALUES ($1, $2, $3, $4::bigint) ON CONFLICT DO NOTHING`, [
        r.projection.name,
        topic,
        partition,
        end.toString(),
      ]);
    }
  }
}

/**
 * A backup of one read model (its live generation's rows and its bookkeeping: offsets, revision guard,
 * generation position), and the restore that puts the database back to it, as restoring a dump of the
 * read database would. The bus is not restored: its group offsets stay wherever they were.
 */
export async function backupReadModel(sql: SqlClient, projection: PostgresProjection, generation: number): Promise<() => Promise<void>> {
  const tables = Object.values(tablesOf(projection, generation));
  const bookkeeping = ['annals_projection_offsets', 'annals_projection_streams', 'annals_projection_generations'];
  const saved = new Map<string, unknown[]>();
  for (const t of tables) saved.set(t, (await sql.query(`SELECT * FROM ${t}`)).rows);
  for (const t of bookkeeping) saved.set(t, (await sql.query(`SELECT * FROM ${t} WHERE name = $1`, [projection.name])).rows);
  const json = (rows: unknown[]) => JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return () =>
    sql.transaction(async (tx) => {
      for (const t of [...tables, ...bookkeeping]) {
        await tx.query(tables.includes(t) ? `DELETE FROM ${t}` : `DELETE FROM ${t} WHERE name = $1`, tables.includes(t) ? [] : [projection.name]);
        await tx.query(`INSERT INTO ${t} SELECT * FROM json_populate_recordset(NULL::${t}, $1::json)`, [json(saved.get(t)!)]);
      }
    });
}

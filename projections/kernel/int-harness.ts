import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import type { Bus } from '../../platform/bus/port.js';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { pgClient, type SqlClient } from '../../platform/sql/client.js';
import { requireEnv } from '../../platform/testing/require-env.js';
import { createGeneration, tablesOf } from './generations.js';
import type { PostgresProjection } from './projection.js';
import { replayProjection } from './replay.js';
import { kernelTestProjection } from './test-projection.js';

/**
 * Shared set-up of the kernel's integration tests (real PostgreSQL + Kafka from `annals stack`). Every run
 * gets its own tenant, read model name (hence consumer group, DLQ topic, tables) and relay checkpoint, so
 * runs and other engineers' tests on the same servers never see each other's effects. Not a test file.
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
  close(): Promise<void>;
}

export async function openIntRun(options: { sleepMsPerEvent?: number } = {}): Promise<IntRun> {
  const run = randomUUID().replace(/-/g, '').slice(0, 10);
  const storeSql = pgClient(requireEnv('EVENTSTORE_URL'), { max: 4 });
  const readSql = pgClient(requireEnv('READ_DB_URL'), { max: 4 });
  const brokers = requireEnv('KAFKA_BROKERS');
  const store = createEventStore(await postgresEventStore(storeSql));
  const projection = kernelTestProjection({ name: `kt-${run}`, table: `kt_${run}`, sleepMsPerEvent: options.sleepMsPerEvent });
  return {
    run,
    tenant: `tenant-${run}`,
    projection,
    storeSql,
    readSql,
    store,
    brokers,
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

/** The tenant's rows of a fresh replay of the whole store into a new generation. */
export async function freshReplayRows(r: IntRun): Promise<unknown[]> {
  const { generation } = await createGeneration(r.readSql, r.projection);
  // A fresh replay must not be slowed by the crash test's per-event sleep.
  const fast = kernelTestProjection({ name: r.projection.name, table: r.projection.tables[0]! });
  await replayProjection({ sql: r.readSql, store: r.store, projection: fast, generation, log: silent, batchSize: 5000 });
  return tenantRows(r.readSql, tablesOf(r.projection, generation)[r.projection.tables[0]!]!, r.tenant);
}

export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
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

import { appendBatcher } from '../append-batcher.js';
import { appendSignal } from '../append-signal.js';
import type { QueryOptions, SqlClient } from '../../sql/client.js';
import { migrate } from '../../sql/migrate.js';
import {
  DuplicateEventIdError,
  WrongExpectedRevisionError,
  appendWithRetries,
  assertDistinctIds,
  streamQueue,
  type AppendResult,
  type AppendRetryOptions,
  type EventStoreAdapter,
  type EventToStore,
  type ExpectedRevision,
  type ReadAllOptions,
  type ReadStreamOptions,
  type StoredRecord,
  type SubjectQuery,
} from '../port.js';
import { eventStoreMigrations } from './schema.js';

interface Row {
  position: string;
  stream_id: string;
  stream_revision: string;
  event_id: string;
  type: string;
  schema_version: number;
  data: string;
  metadata: string;
  prev_hash: string;
  hash: string;
}

// The casts keep the column names, so ORDER BY must name the table's columns (`e.position`): a bare
// `ORDER BY position` binds to the text output column and sorts "1000341504" before "999292928".
const COLUMNS = `position::text, stream_id, stream_revision::text, event_id::text, type, schema_version, data, metadata, prev_hash, hash`;
// Rows below this bound belong to finished transactions only (see schema.ts).
const VISIBLE = `position < (pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 20)`;

/**
 * The payload columns go as one JSON array each, not as text[]: node-postgres escapes every element of a
 * text[] with two regular expressions, which cost more than the seal of a codec-on event's fields
 * (measured: 5% of the writer's CPU at concurrency 16), while JSON.stringify escapes natively and the
 * server's JSON parser is C. Each element is a JSON text itself, so it holds no raw control character or
 * lone surrogate for the outer JSON to choke on.
 */
const TEXTS_OF_JSON = (param: string) => `ARRAY(SELECT x.t FROM json_array_elements_text(${param}::json) WITH ORDINALITY AS x(t, o) ORDER BY x.o)`;

/**
 * The append call is prepared once per connection (platform/sql/client.ts): a function call, so no plan of
 * it can go stale. The reads are not: their generic plan could keep a sequential scan made while the table
 * was small (see QueryOptions.prepare).
 */
const PREPARED: QueryOptions = { prepare: true };

const EXPECTED_CODE: Record<'no_stream' | 'any' | 'stream_exists', bigint> = { no_stream: -1n, any: -2n, stream_exists: -3n };

export interface PostgresEventStoreOptions {
  /** Apply the schema migrations on open (default true). */
  readonly migrate?: boolean;
  /** Backoff of `any` / `stream_exists` appends that lose a race with another process. */
  readonly retry?: AppendRetryOptions;
  /**
   * Appends sent at once (default 2). Appends to different streams that arrive while these are in flight go
   * together in the next round trip and transaction (group commit): one call, one commit for all of them.
   */
  readonly maxInFlight?: number;
  /** Events per grouped call (default 2000); a larger append goes alone. */
  readonly maxBatchEvents?: number;
}

/** The PostgreSQL adapter; the same SQL runs on a real server (`pg`) and on PGlite. */
export async function postgresEventStore(client: SqlClient, options: PostgresEventStoreOptions = {}): Promise<EventStoreAdapter> {
  if (options.migrate ?? true) await migrate(client, eventStoreMigrations);
  // Wakes local subscribers at once; other processes' appends are seen by polling.
  const appended = appendSignal();
  const queue = streamQueue();

  const toRecord = (r: Row): StoredRecord => ({
    eventId: r.event_id,
    type: r.type,
    schemaVersion: r.schema_version,
    streamId: r.stream_id,
    streamRevision: BigInt(r.stream_revision),
    position: BigInt(r.position),
    data: r.data,
    metadata: r.metadata,
    prevHash: r.prev_hash,
    hash: r.hash,
  });

  /** One call of annals_append_many: an outcome per append, in order; throws only if nothing was written. */
  async function appendMany(appends: readonly PendingAppend[]): Promise<Outcome[]> {
    const flat = appends.flatMap((a) => a.events);
    const { rows } = await client.query<Outcome>(
      `SELECT code, detail, message, next_revision, last_position FROM annals_append_many($1::text[], $2::bigint[], $3::integer[], $4::uuid[], $5::text[], $6::integer[],
         ${TEXTS_OF_JSON('$7')}, ${TEXTS_OF_JSON('$8')}, $9::text[], $10::timestamptz[])`,
      [
        appends.map((a) => a.streamId),
        appends.map((a) => (typeof a.expected === 'bigint' ? a.expected : EXPECTED_CODE[a.expected]).toString()),
        appends.map((a) => a.events.length),
        flat.map((e) => e.eventId),
        flat.map((e) => e.type),
        flat.map((e) => e.schemaVersion),
        JSON.stringify(flat.map((e) => e.data)),
        JSON.stringify(flat.map((e) => e.metadata)),
        flat.map(subjectOf),
        flat.map(occurredAtOf),
      ],
      PREPARED,
    );
    if (rows.length !== appends.length) throw new Error(`annals_append_many answered ${rows.length} outcomes for ${appends.length} appends`);
    return rows;
  }

  /** An append on its own: its outcome as a result or the port's error. */
  async function appendOnce(append: PendingAppend, raced = false): Promise<AppendResult> {
    let outcome: Outcome;
    try {
      [outcome] = (await appendMany([append])) as [Outcome];
    } catch (e) {
      if ((e as { code?: string }).code === '23505') {
        // A concurrent transaction took the same revision or inserted the same ids after our checks. The unique
        // index waited for it to commit, so one more look sees what it wrote: the same append (an idempotent
        // retry), or a plain conflict.
        if (!raced) return appendOnce(append, true);
        throw new WrongExpectedRevisionError(append.streamId, append.expected, await currentRevision(append.streamId));
      }
      throw e;
    }
    const settled = settle(append, outcome);
    if (settled.status === 'rejected') throw settled.reason;
    return settled.value;
  }

  const batcher = appendBatcher<PendingAppend, AppendResult>({
    maxInFlight: options.maxInFlight ?? 2,
    maxEvents: options.maxBatchEvents ?? 2000,
    size: (a) => a.events.length,
    one: (a) => appendOnce(a),
    async many(appends) {
      let outcomes: Outcome[];
      try {
        outcomes = await appendMany(appends);
      } catch {
        // One transaction: nothing was written (a concurrent writer's unique violation, a deadlock), or, after a
        // lost connection, maybe all of it. Either way each append now goes on its own, so one append's trouble
        // is its own; one that was in fact written answers as an idempotent retry (its ids, at its place).
        return Promise.allSettled(appends.map((a) => appendOnce(a)));
      }
      return appends.map((a, i) => settle(a, outcomes[i]!));
    },
  });
  async function currentRevision(streamId: string): Promise<bigint | 'no_stream'> {
    const { rows } = await client.query<{ r: string | null }>(`SELECT max(stream_revision)::text AS r FROM annals_events WHERE stream_id = $1`, [streamId]);
    return rows[0]?.r == null ? 'no_stream' : BigInt(rows[0].r);
  }

  return {
    name: client.dialect === 'pglite' ? 'pglite' : 'postgres',

    async append(streamId, events, expected) {
      if (events.length === 0) throw new Error('append needs at least one event');
      assertDistinctIds(streamId, events);
      const result = await queue(streamId, () => appendWithRetries(expected, () => batcher.submit({ streamId, events, expected }), options.retry));
      appended.notify();
      return result;
    },

    async readStream(streamId, options: ReadStreamOptions = {}) {
      const params: unknown[] = [streamId, (options.fromRevision ?? 0n).toString()];
      let where = `stream_id = $1 AND stream_revision >= $2`;
      if (options.toRevision !== undefined) {
        params.push(options.toRevision.toString());
        where += ` AND stream_revision <= $${params.length}`;
      }
      if (options.until !== undefined) {
        params.push(options.until.toISOString());
        where += ` AND occurred_at <= $${params.length}`;
      }
      const { rows } = await client.query<Row>(`SELECT ${COLUMNS} FROM annals_events e WHERE ${where} ORDER BY e.stream_revision`, params);
      return rows.map(toRecord);
    },

    async readAll(options: ReadAllOptions) {
      const { rows } = await client.query<Row>(
        `SELECT ${COLUMNS} FROM annals_events e WHERE position > $1 AND ${VISIBLE} ORDER BY e.position LIMIT $2`,
        [(options.after ?? -1n).toString(), options.maxCount ?? 1000],
      );
      return rows.map(toRecord);
    },

    async readBySubject(query: SubjectQuery) {
      if (query.subjectIds.length === 0 && query.streamIds.length === 0) return [];
      // Two index lookups (annals_events_subject_id, the (stream_id, stream_revision) key), never a table scan.
      // UNION drops a record found both ways.
      const { rows } = await client.query<Row>(
        `SELECT ${COLUMNS} FROM (
           SELECT * FROM annals_events WHERE subject_id = ANY ($1::text[])
           UNION
           SELECT * FROM annals_events WHERE stream_id = ANY ($2::text[])
         ) e WHERE ${VISIBLE} ORDER BY e.position`,
        [query.subjectIds, query.streamIds],
      );
      return rows.map(toRecord);
    },

    async headPosition() {
      const { rows } = await client.query<{ p: string | null }>(`SELECT max(position)::text AS p FROM annals_events WHERE ${VISIBLE}`);
      return rows[0]?.p == null ? undefined : BigInt(rows[0].p);
    },

    waitForAppend: (timeoutMs, signal) => appended.wait(timeoutMs, signal),

    async ping() {
      await client.query('SELECT 1');
    },

    close: () => client.close(),
  };
}

interface PendingAppend {
  readonly streamId: string;
  readonly events: readonly EventToStore[];
  readonly expected: ExpectedRevision;
}

interface Outcome {
  code: 'ok' | 'conflict' | 'duplicate';
  detail: string | null;
  message: string | null;
  next_revision: string | null;
  last_position: string | null;
}

/** An append's outcome as the port says it: a result, or WrongExpectedRevisionError / DuplicateEventIdError. */
function settle(append: PendingAppend, o: Outcome): PromiseSettledResult<AppendResult> {
  const { streamId, expected } = append;
  if (o.code === 'ok') return { status: 'fulfilled', value: { streamId, nextExpectedRevision: BigInt(o.next_revision!), position: BigInt(o.last_position!) } };
  if (o.code === 'conflict') {
    const actual = BigInt(o.detail ?? '-1');
    return { status: 'rejected', reason: new WrongExpectedRevisionError(streamId, expected, actual < 0n ? 'no_stream' : actual) };
  }
  return { status: 'rejected', reason: new DuplicateEventIdError(streamId, (o.detail ?? '').split(',').filter(Boolean), o.message ?? 'duplicate') };
}

function occurredAtOf(e: EventToStore): string {
  // The envelope's occurredAt drives as-of reads; it was validated before it got here.
  const occurredAt = e.occurredAt ?? envelopeOf(e).occurredAt;
  if (!occurredAt) throw new Error(`event ${e.eventId} has no metadata.occurredAt`);
  return occurredAt;
}

/** The data subject (subject_id: the erasure scan's index); the facade hands it over, others are parsed. */
function subjectOf(e: EventToStore): string | null {
  const subject = e.subjectId === undefined ? envelopeOf(e).subjectId : e.subjectId;
  return typeof subject === 'string' && subject !== '' ? subject : null;
}

function envelopeOf(e: EventToStore): { occurredAt?: string; subjectId?: unknown } {
  return (JSON.parse(e.metadata) ?? {}) as { occurredAt?: string; subjectId?: unknown };
}

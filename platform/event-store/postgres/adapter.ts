import { appendSignal } from '../append-signal.js';
import type { SqlClient } from '../../sql/client.js';
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

const EXPECTED_CODE: Record<'no_stream' | 'any' | 'stream_exists', bigint> = { no_stream: -1n, any: -2n, stream_exists: -3n };

export interface PostgresEventStoreOptions {
  /** Apply the schema migrations on open (default true). */
  readonly migrate?: boolean;
  /** Backoff of `any` / `stream_exists` appends that lose a race with another process. */
  readonly retry?: AppendRetryOptions;
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

  async function appendOnce(streamId: string, events: readonly EventToStore[], expected: ExpectedRevision, raced = false): Promise<AppendResult> {
    const occurred = events.map((e) => occurredAtOf(e));
    try {
      const { rows } = await client.query<{ next_revision: string; last_position: string }>(
        `SELECT next_revision, last_position FROM annals_append($1, $2, $3::uuid[], $4::text[], $5::integer[], $6::text[], $7::text[], $8::timestamptz[])`,
        [
          streamId,
          (typeof expected === 'bigint' ? expected : EXPECTED_CODE[expected]).toString(),
          events.map((e) => e.eventId),
          events.map((e) => e.type),
          events.map((e) => e.schemaVersion),
          events.map((e) => e.data),
          events.map((e) => e.metadata),
          occurred,
        ],
      );
      const row = rows[0]!;
      return { streamId, nextExpectedRevision: BigInt(row.next_revision), position: BigInt(row.last_position) };
    } catch (e) {
      const err = e as { code?: string; detail?: string; message?: string };
      if (err.code === 'AN409') {
        const actual = BigInt(err.detail ?? '-1');
        throw new WrongExpectedRevisionError(streamId, expected, actual < 0n ? 'no_stream' : actual);
      }
      if (err.code === 'AN422') throw new DuplicateEventIdError(streamId, (err.detail ?? '').split(',').filter(Boolean), err.message ?? 'duplicate');
      if (err.code === '23505') {
        // A concurrent transaction took the same revision or inserted the same ids after our checks. The unique
        // index waited for it to commit, so one more look sees what it wrote: the same append (an idempotent
        // retry), or a plain conflict.
        if (!raced) return appendOnce(streamId, events, expected, true);
        throw new WrongExpectedRevisionError(streamId, expected, await currentRevision(streamId));
      }
      throw e;
    }
  }

  async function currentRevision(streamId: string): Promise<bigint | 'no_stream'> {
    const { rows } = await client.query<{ r: string | null }>(`SELECT max(stream_revision)::text AS r FROM annals_events WHERE stream_id = $1`, [streamId]);
    return rows[0]?.r == null ? 'no_stream' : BigInt(rows[0].r);
  }

  return {
    name: client.dialect === 'pglite' ? 'pglite' : 'postgres',

    async append(streamId, events, expected) {
      if (events.length === 0) throw new Error('append needs at least one event');
      assertDistinctIds(streamId, events);
      const result = await queue(streamId, () => appendWithRetries(expected, () => appendOnce(streamId, events, expected), options.retry));
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
      // Two index lookups (annals_events_subject, the (stream_id, stream_revision) key), never a table scan:
      // the expression is the index's own (schema.ts 002). UNION drops a record found both ways.
      const { rows } = await client.query<Row>(
        `SELECT ${COLUMNS} FROM (
           SELECT * FROM annals_events WHERE annals_event_subject(metadata) = ANY ($1::text[]) AND annals_event_subject(metadata) IS NOT NULL
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

function occurredAtOf(e: EventToStore): string {
  // The envelope's occurredAt drives as-of reads; it was validated before it got here.
  const m = JSON.parse(e.metadata) as { occurredAt?: string };
  if (!m.occurredAt) throw new Error(`event ${e.eventId} has no metadata.occurredAt`);
  return m.occurredAt;
}

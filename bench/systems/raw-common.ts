import { randomUUID } from 'node:crypto';
import type { SystemDriver } from '../lib/system.js';
import { describeSql } from './describe.js';

/** `prepare`: keep the statement prepared per connection where the driver can (pg; PGlite ignores it). */
type Query = (sql: string, params?: unknown[], prepare?: boolean) => Promise<{ rows: Record<string, unknown>[] }>;

/**
 * The floor: a plain table with the columns of annals_events and the same three indexes (position,
 * stream + revision, event id), one multi-row INSERT per append in autocommit, no validation, no
 * revision check beyond the unique index, no hash chain. What any store on this server pays at least;
 * so its INSERT is a prepared statement, as our append call is (since 2026-12-01: a parse per append
 * cost the floor 10-20% at concurrency 1).
 */
export const RAW_TABLE = `
CREATE TABLE IF NOT EXISTS bench_events (
  position        bigserial   PRIMARY KEY,
  stream_id       text        NOT NULL,
  stream_revision bigint      NOT NULL,
  event_id        uuid        NOT NULL UNIQUE,
  type            text        NOT NULL,
  schema_version  integer     NOT NULL,
  data            text        NOT NULL,
  metadata        text        NOT NULL,
  occurred_at     timestamptz NOT NULL,
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (stream_id, stream_revision)
)`;

const INSERT = `INSERT INTO bench_events (stream_id, stream_revision, event_id, type, schema_version, data, metadata, occurred_at)
SELECT $1, r, id, t, 1, d, m, o FROM unnest($2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::timestamptz[]) AS x(r, id, t, d, m, o)`;

export function rawDriver(query: Query, engine: string, close: () => Promise<void>): SystemDriver {
  return {
    async reset() {
      await query(RAW_TABLE);
      await query('TRUNCATE bench_events RESTART IDENTITY');
    },
    async append(streamId, events, existing) {
      await query(INSERT, [
        streamId,
        events.map((_, i) => existing + i),
        events.map(() => randomUUID()),
        events.map((e) => e.type),
        events.map((e) => JSON.stringify(e.data)),
        events.map((e) => JSON.stringify(e.metadata)),
        events.map((e) => e.metadata.occurredAt),
      ], true);
    },
    async readStream(streamId) {
      const { rows } = await query(
        `SELECT position::text, stream_revision::text, event_id::text, type, schema_version, data, metadata FROM bench_events WHERE stream_id = $1 ORDER BY stream_revision`,
        [streamId],
      );
      // The least a reader must do to hand out objects: parse the JSON.
      const events = rows.map((r) => ({ ...r, data: JSON.parse(r.data as string) as unknown, metadata: JSON.parse(r.metadata as string) as unknown }));
      return events.length;
    },
    describe: () => describeSql((sql) => query(sql), engine),
    close,
  };
}

/**
 * A FROZEN copy of the event-store schema as release 7c0a6b8 applied it (platform/event-store/postgres/schema.ts
 * and platform/sql/migrate.ts at that commit), to build a database "the previous version made" in upgrade
 * tests. Never edit it to follow the current schema: its whole point is that it does not.
 */
import type { SqlExecutor } from '../../sql/client.js';

/** The text of `event-store/001-events` as it ran then (the first annals_append included). */
export const FROZEN_V1_EVENTS_SQL = `
CREATE TABLE IF NOT EXISTS annals_events (
  position        bigint      PRIMARY KEY,
  stream_id       text        NOT NULL,
  stream_revision bigint      NOT NULL,
  event_id        uuid        NOT NULL UNIQUE,
  type            text        NOT NULL,
  schema_version  integer     NOT NULL,
  data            text        NOT NULL,
  metadata        text        NOT NULL,
  occurred_at     timestamptz NOT NULL,
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  prev_hash       text        NOT NULL,
  hash            text        NOT NULL,
  CONSTRAINT annals_events_stream_revision UNIQUE (stream_id, stream_revision)
);

-- One round trip per append: check the expected revision, chain the hashes, insert.
-- p_expected: >= 0 exact revision, -1 no stream, -2 any, -3 stream exists.
CREATE OR REPLACE FUNCTION annals_append(
  p_stream text, p_expected bigint,
  p_ids uuid[], p_types text[], p_versions integer[], p_data text[], p_metadata text[], p_occurred timestamptz[]
) RETURNS TABLE (next_revision text, last_position text)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_rev     bigint;
  v_hash    text;
  v_prev    text;
  v_base    bigint := (pg_current_xact_id()::text::bigint) << 20;
  v_offset  bigint;
  v_pos     bigint;
  i         integer;
BEGIN
  SELECT e.stream_revision, e.hash INTO v_rev, v_hash
    FROM annals_events e WHERE e.stream_id = p_stream
    ORDER BY e.stream_revision DESC LIMIT 1;
  IF NOT FOUND THEN v_rev := -1; v_hash := ''; END IF;

  IF (p_expected = -1 AND v_rev <> -1) OR (p_expected = -3 AND v_rev = -1) OR (p_expected >= 0 AND v_rev <> p_expected) THEN
    RAISE EXCEPTION 'wrong expected revision for %', p_stream USING ERRCODE = 'AN409', DETAIL = v_rev::text;
  END IF;

  -- Several appends in one transaction continue the numbering of the earlier ones.
  SELECT coalesce(max(e.position) - v_base + 1, 0) INTO v_offset
    FROM annals_events e WHERE e.position >= v_base AND e.position < v_base + 1048576;
  IF v_offset + cardinality(p_ids) > 1048576 THEN
    RAISE EXCEPTION 'too many events in one transaction (max 1048576)';
  END IF;

  FOR i IN 1 .. cardinality(p_ids) LOOP
    v_rev  := v_rev + 1;
    v_prev := v_hash;
    v_hash := encode(sha256(convert_to(concat_ws(E'\\n', v_prev, p_ids[i]::text, p_stream, v_rev::text, p_types[i], p_versions[i]::text, p_data[i], p_metadata[i]), 'UTF8')), 'hex');
    v_pos  := v_base + v_offset + i - 1;
    INSERT INTO annals_events (position, stream_id, stream_revision, event_id, type, schema_version, data, metadata, occurred_at, prev_hash, hash)
    VALUES (v_pos, p_stream, v_rev, p_ids[i], p_types[i], p_versions[i], p_data[i], p_metadata[i], p_occurred[i], v_prev, v_hash);
  END LOOP;

  RETURN QUERY SELECT v_rev::text, v_pos::text;
END
$fn$;
`;

/** What that release's migrator left behind: the migrations table without checksums, and 001 applied. */
export async function buildV1EventStore(sql: SqlExecutor): Promise<void> {
  await sql.query(`CREATE TABLE IF NOT EXISTS annals_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
  await sql.exec(FROZEN_V1_EVENTS_SQL);
  await sql.query(`INSERT INTO annals_migrations(name) VALUES ($1)`, ['event-store/001-events']);
}

import type { Migration } from '../../sql/migrate.js';

/**
 * Global positions follow commit order without a global lock.
 *
 * position = (xid8 of the appending transaction << 20) + index within it.
 *
 * A reader only returns rows whose position is below `xmin(current snapshot) << 20`: every transaction
 * with an xid under the snapshot's xmin has finished, and any transaction that commits later has an xid
 * at or above it, hence a larger position. So the order a reader sorts by (position) is the order it
 * resumes from, and a concurrent append that commits late can never land behind a checkpoint.
 * (The anti-pattern this avoids: sorting by (txid, seq) but resuming from seq > last; see GUIDE.md.)
 *
 * Trade-off: a long-running write transaction anywhere in the cluster holds readers back until it ends
 * (nothing is lost, events are delayed). Keep read models on their own database server in production,
 * or at least keep their transactions short (they are: one batch each).
 *
 * `data` and `metadata` are stored as text, byte-for-byte what the hash chain covers.
 *
 * Migration policy (platform/sql/migrate.ts): 001 is frozen — it ran on every existing database, and the
 * migrator refuses to start if its text changes. Schema changes go in new numbered migrations; the append
 * function is a repeatable definition below, re-applied whenever its text changes, so an upgraded database
 * runs the current code (001 still creates the first version of it, which the repeatable one replaces).
 */
export const eventStoreMigrations: readonly Migration[] = [
  {
    name: 'event-store/001-events',
    sql: `
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
`,
  },
  {
    name: 'event-store/fn-annals_append',
    repeatable: true,
    sql: `
-- One round trip per append: duplicate ids, the expected revision, the hash chain, the insert.
-- p_expected: >= 0 exact revision, -1 no stream, -2 any, -3 stream exists.
-- Errors: AN409 wrong expected revision (DETAIL: current revision, -1 for none);
--         AN422 duplicate event id (DETAIL: the ids, comma-separated). The rules are in port.ts.
-- Every lookup here is one index probe, whatever the statistics say: PL/pgSQL keeps a connection's generic
-- plan, and one made while the table was small (a fresh store, before autovacuum's first ANALYZE) seq-scanned
-- the whole table for the event-id probe on every later append, so appends slowed as the store grew.
-- enable_seqscan = off holds only inside this function.
CREATE OR REPLACE FUNCTION annals_append(
  p_stream text, p_expected bigint,
  p_ids uuid[], p_types text[], p_versions integer[], p_data text[], p_metadata text[], p_occurred timestamptz[]
) RETURNS TABLE (next_revision text, last_position text)
LANGUAGE plpgsql SET enable_seqscan = off AS $fn$
DECLARE
  v_n       integer := cardinality(p_ids);
  v_rev     bigint;
  v_hash    text;
  v_prev    text;
  v_from    bigint;
  v_window  uuid[];
  v_dups    uuid[];
  v_base    bigint;
  v_offset  bigint;
  v_pos     bigint;
  i         integer;
BEGIN
  SELECT array_agg(d.id) INTO v_dups FROM (SELECT x AS id FROM unnest(p_ids) x GROUP BY x HAVING count(*) > 1) d;
  IF v_dups IS NOT NULL THEN
    RAISE EXCEPTION 'the same id twice in one append' USING ERRCODE = 'AN422', DETAIL = array_to_string(v_dups, ',');
  END IF;

  SELECT e.stream_revision, e.hash INTO v_rev, v_hash
    FROM annals_events e WHERE e.stream_id = p_stream
    ORDER BY e.stream_revision DESC LIMIT 1;
  IF NOT FOUND THEN v_rev := -1; v_hash := ''; END IF;

  -- Fresh ids (the usual case) cost one probe of the event_id index.
  SELECT array_agg(e.event_id) INTO v_dups FROM annals_events e WHERE e.event_id = ANY (p_ids);
  IF v_dups IS NOT NULL THEN
    -- The window: where this append's events would have landed.
    v_from := CASE WHEN p_expected >= 0 THEN p_expected + 1 WHEN p_expected = -1 THEN 0 ELSE greatest(v_rev - v_n + 1, 0) END;
    SELECT coalesce(array_agg(e.event_id ORDER BY e.stream_revision), '{}') INTO v_window
      FROM annals_events e WHERE e.stream_id = p_stream AND e.stream_revision BETWEEN v_from AND v_from + v_n - 1;
    IF v_window = p_ids THEN
      -- A retry of an append that was written: its original result, nothing new.
      RETURN QUERY SELECT e.stream_revision::text, e.position::text FROM annals_events e
        WHERE e.stream_id = p_stream AND e.stream_revision = v_from + v_n - 1;
      RETURN;
    END IF;
    IF v_window && p_ids THEN
      RAISE EXCEPTION 'some of these ids were already written there, not as this append' USING ERRCODE = 'AN422', DETAIL = array_to_string(v_dups, ',');
    END IF;
  END IF;

  IF (p_expected = -1 AND v_rev <> -1) OR (p_expected = -3 AND v_rev = -1) OR (p_expected >= 0 AND v_rev <> p_expected) THEN
    RAISE EXCEPTION 'wrong expected revision for %', p_stream USING ERRCODE = 'AN409', DETAIL = v_rev::text;
  END IF;
  IF v_dups IS NOT NULL THEN
    RAISE EXCEPTION 'already stored elsewhere' USING ERRCODE = 'AN422', DETAIL = array_to_string(v_dups, ',');
  END IF;

  -- Only an append that will write takes a transaction id (a refused one leaves no gap in xids).
  v_base := (pg_current_xact_id()::text::bigint) << 20;
  -- Several appends in one transaction continue the numbering of the earlier ones.
  SELECT coalesce(max(e.position) - v_base + 1, 0) INTO v_offset
    FROM annals_events e WHERE e.position >= v_base AND e.position < v_base + 1048576;
  IF v_offset + v_n > 1048576 THEN
    RAISE EXCEPTION 'too many events in one transaction (max 1048576)';
  END IF;

  FOR i IN 1 .. v_n LOOP
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
`,
  },
  {
    // The erasure scan (pii-scanner.ts) reads a subject's records through this index instead of the whole
    // store. `metadata` is text (the hash chain covers its bytes), so the subject is taken out with a regular
    // expression rather than a jsonb cast: a cast would make the index, hence every append, fail on a row
    // whose metadata PostgreSQL's jsonb refuses (\u0000, a lone surrogate written before the input gate),
    // while a pattern never raises. The metadata is always JSON.stringify of the validated envelope, so a
    // top-level subjectId reads exactly `"subjectId":"<id>"`; the same text inside a string value is
    // escaped (`\"subjectId\":\"`) and does not match. Partial: events without a subject are not indexed.
    name: 'event-store/002-subject-index',
    sql: `
CREATE OR REPLACE FUNCTION annals_event_subject(p_metadata text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$ SELECT substring(p_metadata FROM '"subjectId":"([^"\\\\]+)"') $fn$;
CREATE INDEX IF NOT EXISTS annals_events_subject ON annals_events (annals_event_subject(metadata))
  WHERE annals_event_subject(metadata) IS NOT NULL;
`,
  },
];

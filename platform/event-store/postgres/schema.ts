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
    name: 'event-store/fn-annals_append_many',
    repeatable: true,
    sql: `
-- Several appends, each to its own stream, in one round trip and one transaction: the store's one append.
-- Each append is checked as if it ran alone after the ones before it in the call (duplicate ids, the expected
-- revision, the hash chain) and a refused one writes nothing while the others are written: its outcome is a
-- row, not an exception. One row per append, in order:
--   ok        next_revision, last_position (also an idempotent retry of a written append: its first result)
--   conflict  detail: the stream's current revision (-1 for none)
--   duplicate detail: the ids, comma-separated; message: which rule
-- The rules are in port.ts. p_expected: >= 0 exact revision, -1 no stream, -2 any, -3 stream exists.
-- p_counts[a] events of the flat arrays belong to append a; p_subjects[i] is event i's metadata.subjectId (NULL
-- for none), stored in subject_id for the erasure scan's lookups (003). Raises (nothing written): a stream twice in one
-- call, more than 1048576 events in one transaction; a unique violation of a concurrent writer (23505).
-- Every lookup here is one index probe, whatever the statistics say: PL/pgSQL keeps a connection's generic
-- plan, and one made while the table was small (a fresh store, before autovacuum's first ANALYZE) seq-scanned
-- the whole table for the event-id probe on every later append, so appends slowed as the store grew.
-- enable_seqscan = off holds only inside this function. The rows are written by one INSERT at the end.
CREATE OR REPLACE FUNCTION annals_append_many(
  p_streams text[], p_expected bigint[], p_counts integer[],
  p_ids uuid[], p_types text[], p_versions integer[], p_data text[], p_metadata text[], p_subjects text[], p_occurred timestamptz[]
) RETURNS TABLE (code text, detail text, message text, next_revision text, last_position text)
LANGUAGE plpgsql SET enable_seqscan = off AS $fn$
DECLARE
  v_total   integer := cardinality(p_ids);
  v_stored  uuid[];
  v_seen    uuid[] := '{}';
  v_ids     uuid[];
  v_dups    uuid[];
  v_window  uuid[];
  v_stream  text;
  v_expect  bigint;
  v_n       integer;
  v_first   integer := 1;
  v_rev     bigint;
  v_hash    text;
  v_prev    text;
  v_from    bigint;
  v_base    bigint;
  v_next    bigint;
  -- One element per event of the call, NULL position for the events of a refused append.
  w_pos     bigint[] := '{}';
  w_stream  text[] := '{}';
  w_rev     bigint[] := '{}';
  w_prev    text[] := '{}';
  w_hash    text[] := '{}';
  a         integer;
  i         integer;
BEGIN
  IF cardinality(p_streams) <> cardinality(p_expected) OR cardinality(p_streams) <> cardinality(p_counts)
     OR (SELECT coalesce(sum(c), 0) FROM unnest(p_counts) c) <> v_total OR (SELECT min(c) FROM unnest(p_counts) c) < 1 THEN
    RAISE EXCEPTION 'annals_append_many: p_counts must be positive and add up to the events given';
  END IF;
  IF cardinality(p_streams) > 1 AND (SELECT count(DISTINCT s) FROM unnest(p_streams) s) < cardinality(p_streams) THEN
    RAISE EXCEPTION 'annals_append_many: a stream twice in one call';
  END IF;
  -- Fresh ids (the usual case) cost one probe of the event_id index for the whole call.
  SELECT coalesce(array_agg(e.event_id), '{}') INTO v_stored FROM annals_events e WHERE e.event_id = ANY (p_ids);

  FOR a IN 1 .. cardinality(p_streams) LOOP
    v_stream := p_streams[a];
    v_expect := p_expected[a];
    v_n := p_counts[a];
    v_ids := p_ids[v_first : v_first + v_n - 1];
    code := NULL; detail := NULL; message := NULL; next_revision := NULL; last_position := NULL;

    IF v_n > 1 THEN
      SELECT array_agg(d.id) INTO v_dups FROM (SELECT x AS id FROM unnest(v_ids) x GROUP BY x HAVING count(*) > 1) d;
      IF v_dups IS NOT NULL THEN
        code := 'duplicate'; detail := array_to_string(v_dups, ','); message := 'the same id twice in one append';
      END IF;
    END IF;

    IF code IS NULL THEN
      SELECT e.stream_revision, e.hash INTO v_rev, v_hash
        FROM annals_events e WHERE e.stream_id = v_stream
        ORDER BY e.stream_revision DESC LIMIT 1;
      IF NOT FOUND THEN v_rev := -1; v_hash := ''; END IF;
      -- The id probe above ran in an earlier statement, so an earlier snapshot: an identical append that
      -- committed in between shows here as a moved revision but not there as stored ids, and would be answered
      -- as a conflict instead of its first result. Before calling it a conflict, probe this append's ids again.
      IF NOT (v_ids && v_stored) AND ((v_expect = -1 AND v_rev <> -1) OR (v_expect >= 0 AND v_rev <> v_expect)) THEN
        SELECT v_stored || coalesce(array_agg(e.event_id), '{}') INTO v_stored FROM annals_events e WHERE e.event_id = ANY (v_ids);
      END IF;

      v_dups := NULL;
      IF v_ids && v_stored OR v_ids && v_seen THEN
        SELECT array_agg(x) INTO v_dups FROM unnest(v_ids) x WHERE x = ANY (v_stored) OR x = ANY (v_seen);
      END IF;
      IF v_dups IS NOT NULL AND v_ids && v_stored THEN
        -- The window: where this append's events would have landed.
        v_from := CASE WHEN v_expect >= 0 THEN v_expect + 1 WHEN v_expect = -1 THEN 0 ELSE greatest(v_rev - v_n + 1, 0) END;
        SELECT coalesce(array_agg(e.event_id ORDER BY e.stream_revision), '{}') INTO v_window
          FROM annals_events e WHERE e.stream_id = v_stream AND e.stream_revision BETWEEN v_from AND v_from + v_n - 1;
        IF v_window = v_ids THEN
          -- A retry of an append that was written: its original result, nothing new.
          code := 'ok';
          SELECT e.stream_revision::text, e.position::text INTO next_revision, last_position FROM annals_events e
            WHERE e.stream_id = v_stream AND e.stream_revision = v_from + v_n - 1;
        ELSIF v_window && v_ids THEN
          code := 'duplicate'; detail := array_to_string(v_dups, ','); message := 'some of these ids were already written there, not as this append';
        END IF;
      END IF;
    END IF;

    IF code IS NULL AND ((v_expect = -1 AND v_rev <> -1) OR (v_expect = -3 AND v_rev = -1) OR (v_expect >= 0 AND v_rev <> v_expect)) THEN
      code := 'conflict'; detail := v_rev::text; message := 'wrong expected revision for ' || v_stream;
    END IF;
    IF code IS NULL AND v_dups IS NOT NULL THEN
      code := 'duplicate'; detail := array_to_string(v_dups, ','); message := 'already stored elsewhere';
    END IF;

    IF code IS NULL THEN
      IF v_base IS NULL THEN
        -- Only a call that writes takes a transaction id (a refused one leaves no gap in xids). Several calls
        -- in one transaction continue the numbering of the earlier ones.
        v_base := (pg_current_xact_id()::text::bigint) << 20;
        SELECT coalesce(max(e.position) + 1, v_base) INTO v_next
          FROM annals_events e WHERE e.position >= v_base AND e.position < v_base + 1048576;
        IF v_next - v_base + v_total > 1048576 THEN
          RAISE EXCEPTION 'too many events in one transaction (max 1048576)';
        END IF;
      END IF;
      FOR i IN v_first .. v_first + v_n - 1 LOOP
        v_rev  := v_rev + 1;
        v_prev := v_hash;
        v_hash := encode(sha256(convert_to(concat_ws(E'\\n', v_prev, p_ids[i]::text, v_stream, v_rev::text, p_types[i], p_versions[i]::text, p_data[i], p_metadata[i]), 'UTF8')), 'hex');
        w_pos := array_append(w_pos, v_next);
        w_stream := array_append(w_stream, v_stream);
        w_rev := array_append(w_rev, v_rev);
        w_prev := array_append(w_prev, v_prev);
        w_hash := array_append(w_hash, v_hash);
        v_next := v_next + 1;
      END LOOP;
      v_seen := v_seen || v_ids;
      code := 'ok'; next_revision := v_rev::text; last_position := (v_next - 1)::text;
    ELSE
      FOR i IN 1 .. v_n LOOP
        w_pos := array_append(w_pos, NULL::bigint);
        w_stream := array_append(w_stream, NULL::text);
        w_rev := array_append(w_rev, NULL::bigint);
        w_prev := array_append(w_prev, NULL::text);
        w_hash := array_append(w_hash, NULL::text);
      END LOOP;
    END IF;
    v_first := v_first + v_n;
    RETURN NEXT;
  END LOOP;

  IF v_base IS NOT NULL THEN
    INSERT INTO annals_events (position, stream_id, stream_revision, event_id, type, schema_version, data, metadata, subject_id, occurred_at, prev_hash, hash)
    SELECT u.pos, u.stream, u.rev, u.id, u.type, u.ver, u.data, u.meta, u.subject, u.occ, u.prev, u.hash
      FROM unnest(w_pos, w_stream, w_rev, p_ids, p_types, p_versions, p_data, p_metadata, p_subjects, p_occurred, w_prev, w_hash)
        AS u(pos, stream, rev, id, type, ver, data, meta, subject, occ, prev, hash)
     WHERE u.pos IS NOT NULL;
  END IF;
END
$fn$;
`,
  },
  {
    name: 'event-store/fn-annals_append',
    repeatable: true,
    sql: `
-- One append, for callers that want errors: annals_append_many with one append, its outcome raised; the
-- subject is read from the metadata (the adapter passes it instead: it has the envelope parsed).
-- Errors: AN409 wrong expected revision (DETAIL: current revision, -1 for none);
--         AN422 duplicate event id (DETAIL: the ids, comma-separated). The rules are in port.ts.
CREATE OR REPLACE FUNCTION annals_append(
  p_stream text, p_expected bigint,
  p_ids uuid[], p_types text[], p_versions integer[], p_data text[], p_metadata text[], p_occurred timestamptz[]
) RETURNS TABLE (next_revision text, last_position text)
LANGUAGE plpgsql AS $fn$
DECLARE
  r record;
BEGIN
  SELECT * INTO r FROM annals_append_many(ARRAY[p_stream], ARRAY[p_expected], ARRAY[cardinality(p_ids)], p_ids, p_types, p_versions, p_data, p_metadata,
    ARRAY(SELECT annals_event_subject(u.m) FROM unnest(p_metadata) WITH ORDINALITY AS u(m, o) ORDER BY u.o), p_occurred);
  IF r.code = 'conflict' THEN
    RAISE EXCEPTION '%', r.message USING ERRCODE = 'AN409', DETAIL = r.detail;
  ELSIF r.code = 'duplicate' THEN
    RAISE EXCEPTION '%', r.message USING ERRCODE = 'AN422', DETAIL = r.detail;
  END IF;
  RETURN QUERY SELECT r.next_revision, r.last_position;
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
  {
    // 002's expression index ran its regular expression on every insert (for the key and again for the partial
    // predicate): ~18 µs an evaluation on the bench machine, as much as the rest of an event's insert. The
    // subject is now a column the append fills from the envelope it already has (the facade's parsed metadata),
    // under a plain btree. Rows written before are filled from the same expression, once. The column is a
    // lookup aid outside the hash chain (the chain covers the metadata it was taken from).
    name: 'event-store/003-subject-column',
    sql: `
ALTER TABLE annals_events ADD COLUMN IF NOT EXISTS subject_id text;
UPDATE annals_events SET subject_id = annals_event_subject(metadata)
 WHERE subject_id IS NULL AND annals_event_subject(metadata) IS NOT NULL;
CREATE INDEX IF NOT EXISTS annals_events_subject_id ON annals_events (subject_id) WHERE subject_id IS NOT NULL;
DROP INDEX IF EXISTS annals_events_subject;
`,
  },
];

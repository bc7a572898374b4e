import type { SqlClient, SqlExecutor } from '../../platform/sql/client.js';
import { migrate, type Migration } from '../../platform/sql/migrate.js';

/**
 * The dead letters of every consumer (each projector of each store, and the relay) in ONE place: the table
 * `annals_dead_letters` in the read database, beside the control tables (projections/kernel/target.ts).
 *
 * Source of truth, and why: producers keep publishing to the bus topic `annals.dlq.<consumer>` (SPEC: Kafka),
 * because that is the one channel every producer has (the relay has no read database) and what Kafka
 * tooling consumes. A topic cannot say that a letter was retried or skipped, by whom and when, and it
 * cannot be listed without reading it all. So `collectDeadLetters` (collect.ts) drains the topics into this
 * table — with its own offsets, in the same transaction as the rows, so a letter is recorded exactly once —
 * and listing, retry and skip work on the table. The table holds coordinates, error and attempts, never the
 * event's data: a retry re-reads the event from the event store (the record of truth; erased subjects
 * stay erased), so no personal value is copied here.
 *
 * One row per (consumer, event) while pending: the same event dead-lettered again (a redelivery, a fill and
 * the consumer) adds to `occurrences` instead of a second row.
 */
export const deadLetterMigrations: readonly Migration[] = [
  {
    name: 'dead-letters/001-table',
    sql: `
CREATE TABLE IF NOT EXISTS annals_dead_letters (
  id               bigserial   PRIMARY KEY,
  consumer         text        NOT NULL,
  event_id         text,
  event_type       text,
  stream_id        text,
  stream_revision  bigint,
  position         bigint,
  source_topic     text,
  source_partition integer,
  source_offset    bigint,
  dlq_topic        text        NOT NULL,
  dlq_partition    integer     NOT NULL,
  dlq_offset       bigint      NOT NULL,
  error            text        NOT NULL,
  code             text        NOT NULL,
  attempts         integer     NOT NULL,
  occurrences      integer     NOT NULL DEFAULT 1,
  dead_lettered_at timestamptz NOT NULL,
  status           text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'retried', 'skipped')),
  resolved_by      text,
  resolved_at      timestamptz,
  retry_count      integer     NOT NULL DEFAULT 0,
  last_retry_error text,
  last_retry_at    timestamptz,
  UNIQUE (dlq_topic, dlq_partition, dlq_offset)
);
CREATE INDEX IF NOT EXISTS annals_dead_letters_pending ON annals_dead_letters (consumer, stream_id, stream_revision) WHERE status = 'pending';
CREATE TABLE IF NOT EXISTS annals_dead_letter_offsets (
  topic       text    NOT NULL,
  partition   integer NOT NULL,
  next_offset bigint  NOT NULL,
  PRIMARY KEY (topic, partition)
);
`,
  },
];

export type DeadLetterStatus = 'pending' | 'retried' | 'skipped';

export interface DeadLetter {
  readonly id: bigint;
  readonly consumer: string;
  readonly eventId: string | undefined;
  readonly eventType: string | undefined;
  readonly streamId: string | undefined;
  readonly streamRevision: bigint | undefined;
  readonly position: bigint | undefined;
  readonly source: { readonly topic: string; readonly partition: number; readonly offset: bigint } | undefined;
  readonly dlq: { readonly topic: string; readonly partition: number; readonly offset: bigint };
  readonly error: string;
  readonly code: string;
  readonly attempts: number;
  readonly occurrences: number;
  readonly deadLetteredAt: Date;
  readonly status: DeadLetterStatus;
  readonly resolvedBy: string | undefined;
  readonly resolvedAt: Date | undefined;
  readonly retryCount: number;
  readonly lastRetryError: string | undefined;
  readonly lastRetryAt: Date | undefined;
}

/** A dead letter as collected from a DLQ message (collect.ts), before it has an id. */
export type NewDeadLetter = Omit<DeadLetter, 'id' | 'occurrences' | 'status' | 'resolvedBy' | 'resolvedAt' | 'retryCount' | 'lastRetryError' | 'lastRetryAt'>;

export async function ensureDeadLetterTables(sql: SqlClient): Promise<void> {
  await migrate(sql, deadLetterMigrations);
}

interface Row {
  id: string;
  consumer: string;
  event_id: string | null;
  event_type: string | null;
  stream_id: string | null;
  stream_revision: string | null;
  position: string | null;
  source_topic: string | null;
  source_partition: number | null;
  source_offset: string | null;
  dlq_topic: string;
  dlq_partition: number;
  dlq_offset: string;
  error: string;
  code: string;
  attempts: number;
  occurrences: number;
  dead_lettered_at: Date | string;
  status: DeadLetterStatus;
  resolved_by: string | null;
  resolved_at: Date | string | null;
  retry_count: number;
  last_retry_error: string | null;
  last_retry_at: Date | string | null;
}

const COLUMNS = `id::text, consumer, event_id, event_type, stream_id, stream_revision::text, position::text, source_topic, source_partition,
  source_offset::text, dlq_topic, dlq_partition, dlq_offset::text, error, code, attempts, occurrences, dead_lettered_at, status, resolved_by,
  resolved_at, retry_count, last_retry_error, last_retry_at`;

const big = (v: string | null): bigint | undefined => (v === null ? undefined : BigInt(v));
const date = (v: Date | string | null): Date | undefined => (v === null ? undefined : new Date(v));

function toDeadLetter(r: Row): DeadLetter {
  return {
    id: BigInt(r.id),
    consumer: r.consumer,
    eventId: r.event_id ?? undefined,
    eventType: r.event_type ?? undefined,
    streamId: r.stream_id ?? undefined,
    streamRevision: big(r.stream_revision),
    position: big(r.position),
    source: r.source_topic === null ? undefined : { topic: r.source_topic, partition: r.source_partition ?? 0, offset: BigInt(r.source_offset ?? '0') },
    dlq: { topic: r.dlq_topic, partition: r.dlq_partition, offset: BigInt(r.dlq_offset) },
    error: r.error,
    code: r.code,
    attempts: r.attempts,
    occurrences: r.occurrences,
    deadLetteredAt: new Date(r.dead_lettered_at),
    status: r.status,
    resolvedBy: r.resolved_by ?? undefined,
    resolvedAt: date(r.resolved_at),
    retryCount: r.retry_count,
    lastRetryError: r.last_retry_error ?? undefined,
    lastRetryAt: date(r.last_retry_at),
  };
}

/**
 * Records collected letters in the caller's transaction. A letter already recorded at the same DLQ
 * coordinates is ignored (the collector re-read it after a crash); one for an event that already has a
 * pending letter of the same consumer counts as another occurrence (latest error and attempts kept).
 */
export async function recordDeadLetters(tx: SqlExecutor, letters: readonly NewDeadLetter[]): Promise<number> {
  let added = 0;
  for (const l of letters) {
    if (l.eventId !== undefined) {
      const { rows } = await tx.query<{ id: string }>(
        `UPDATE annals_dead_letters SET occurrences = occurrences + 1, error = $3, code = $4, attempts = GREATEST(attempts, $5)
          WHERE consumer = $1 AND event_id = $2 AND status = 'pending'
            AND NOT EXISTS (SELECT 1 FROM annals_dead_letters d WHERE d.dlq_topic = $6 AND d.dlq_partition = $7 AND d.dlq_offset = $8)
          RETURNING id::text`,
        [l.consumer, l.eventId, l.error, l.code, l.attempts, l.dlq.topic, l.dlq.partition, l.dlq.offset.toString()],
      );
      if (rows.length > 0) continue;
    }
    const { rows } = await tx.query<{ id: string }>(
      `INSERT INTO annals_dead_letters (consumer, event_id, event_type, stream_id, stream_revision, position, source_topic, source_partition, source_offset,
         dlq_topic, dlq_partition, dlq_offset, error, code, attempts, dead_lettered_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
       ON CONFLICT (dlq_topic, dlq_partition, dlq_offset) DO NOTHING RETURNING id::text`,
      [
        l.consumer,
        l.eventId ?? null,
        l.eventType ?? null,
        l.streamId ?? null,
        l.streamRevision?.toString() ?? null,
        l.position?.toString() ?? null,
        l.source?.topic ?? null,
        l.source?.partition ?? null,
        l.source?.offset.toString() ?? null,
        l.dlq.topic,
        l.dlq.partition,
        l.dlq.offset.toString(),
        l.error,
        l.code,
        l.attempts,
        l.deadLetteredAt.toISOString(),
      ],
    );
    added += rows.length;
  }
  return added;
}

export interface ListFilter {
  /** Default: pending only. */
  readonly status?: DeadLetterStatus | 'all';
  readonly consumer?: string;
}

/** Dead letters in the order a retry applies them: consumer, then stream order (stream, revision), then id. */
export async function listDeadLetters(sql: SqlExecutor, filter: ListFilter = {}): Promise<DeadLetter[]> {
  const status = filter.status ?? 'pending';
  const { rows } = await sql.query<Row>(
    `SELECT ${COLUMNS} FROM annals_dead_letters
      WHERE ($1::text = 'all' OR status = $1) AND ($2::text IS NULL OR consumer = $2)
      ORDER BY consumer, position NULLS LAST, stream_id, stream_revision, id`,
    [status, filter.consumer ?? null],
  );
  return rows.map(toDeadLetter);
}

export async function getDeadLetter(sql: SqlExecutor, id: bigint): Promise<DeadLetter | undefined> {
  const { rows } = await sql.query<Row>(`SELECT ${COLUMNS} FROM annals_dead_letters WHERE id = $1`, [id.toString()]);
  return rows[0] ? toDeadLetter(rows[0]) : undefined;
}

/** Pending letters per consumer (for `annals replay status`); empty when the table does not exist yet. */
export async function pendingCounts(sql: SqlExecutor): Promise<Map<string, number>> {
  const exists = await sql.query<{ t: string | null }>(`SELECT to_regclass('annals_dead_letters')::text AS t`);
  if (exists.rows[0]?.t == null) return new Map();
  const { rows } = await sql.query<{ consumer: string; n: string }>(`SELECT consumer, count(*)::text AS n FROM annals_dead_letters WHERE status = 'pending' GROUP BY consumer`);
  return new Map(rows.map((r) => [r.consumer, Number(r.n)]));
}

/** Marks a pending letter resolved; false when it was not pending (resolved meanwhile by someone else). */
export async function resolveDeadLetter(sql: SqlExecutor, id: bigint, status: Exclude<DeadLetterStatus, 'pending'>, actor: string, at: Date): Promise<boolean> {
  const { rows } = await sql.query<{ id: string }>(
    `UPDATE annals_dead_letters SET status = $2::text, resolved_by = $3, resolved_at = $4,
        retry_count = retry_count + CASE WHEN $2::text = 'retried' THEN 1 ELSE 0 END,
        last_retry_at = CASE WHEN $2::text = 'retried' THEN $4::timestamptz ELSE last_retry_at END,
        last_retry_error = CASE WHEN $2::text = 'retried' THEN NULL ELSE last_retry_error END
      WHERE id = $1 AND status = 'pending' RETURNING id::text`,
    [id.toString(), status, actor, at.toISOString()],
  );
  return rows.length > 0;
}

export async function recordRetryFailure(sql: SqlExecutor, id: bigint, error: string, at: Date): Promise<void> {
  await sql.query(`UPDATE annals_dead_letters SET retry_count = retry_count + 1, last_retry_error = $2, last_retry_at = $3 WHERE id = $1`, [id.toString(), error, at.toISOString()]);
}

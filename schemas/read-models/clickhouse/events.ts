/**
 * The analytics fact table (SPEC: Read models → ClickHouse): ONE row per event of the five aggregates,
 * holding the envelope and the event's numeric and categorical facts, and **no personal data at all**:
 * ids are pseudonymous (UUIDs, user ids), and the projector copies only fields the event schemas do not
 * mark personal (projections/clickhouse/events/facts.ts checks every mapped field against the marker
 * when it loads). So analysts may query it freely and erasure has nothing to redact here; the
 * ClickHouse scanner proves it for every erasure.
 *
 * Idempotent on position: the engine is a ReplacingMergeTree ordered by (tenant_id, position), so a
 * redelivered event (same position, same row) collapses into one at merge time, and every query reads
 * the table through `FINAL` (the `events` view does), which is correct before merges too.
 *
 * Generations: rows live in `events_g<N>`; the view `events` reads the live generation through FINAL.
 * A rebuild fills a shadow generation and swaps the view (RENAME, which 18.16 and current ClickHouse both have).
 */

/** The view analysts and the query API read; always deduplicated (FINAL inside). */
export const EVENTS_VIEW = 'events';
/**
 * The live generation WITHOUT `FINAL`: a redelivered event may show twice until the parts merge. Only
 * for queries written so a duplicate cannot change their answer (max, any, argMax, a set of tuples, the
 * last element of a history), which skip the cost of FINAL: the ready aggregates (aggregates.ts) use it.
 */
export const EVENTS_ALL_VIEW = 'events_all';
/** Physical table of one generation. */
export const eventsTable = (generation: number): string => `events_g${generation}`;

/** A fact row as the projector writes it and as JSONEachRow reads it back (64-bit ints as strings). */
export interface EventFactRow {
  tenant_id: string;
  position: string;
  event_id: string;
  event_type: string;
  schema_version: number;
  /** lead | contact | deal | consent | budget */
  aggregate: string;
  aggregate_id: string;
  stream_id: string;
  stream_revision: string;
  /** The envelope's time: ISO UTC with milliseconds, epoch ms, and its 'YYYY-MM'. */
  occurred_at: string;
  occurred_at_ms: string;
  occurred_month: string;
  /**
   * When the business fact happened: the payload's own time where it has one (capturedAt, spentAt,
   * grantedAt, an activity's occurredAt …), else the envelope's. Reports group by this.
   */
  effective_at: string;
  effective_at_ms: string;
  effective_day: string;
  effective_month: string;
  actor_id: string;
  actor_roles: string[];
  correlation_id: string;
  causation_id: string;
  owner_id: string | null;
  /** The data subject's id (consent events; a lead or contact id). */
  subject_id: string | null;
  /** Another aggregate the event points to: a deal's contact, a conversion's contact, a merge survivor. */
  related_id: string | null;
  amount_minor: string | null;
  currency: string | null;
  previous_amount_minor: string | null;
  probability: number | null;
  score: number | null;
  status: string | null;
  previous_status: string | null;
  pipeline: string | null;
  stage: string | null;
  previous_stage: string | null;
  source: string | null;
  campaign: string | null;
  category: string | null;
  purpose: string | null;
  lawful_basis: string | null;
  subject_type: string | null;
  reason: string | null;
  kind: string | null;
  direction: string | null;
  channel: string | null;
  authority: string | null;
  timeline: string | null;
  threshold: number | null;
  overridden: number | null;
  period_start: string | null;
  period_end: string | null;
}

/** Column → ClickHouse type, in table order. Types both engines know (no LowCardinality: 18.16 has it only experimentally). */
export const eventColumns = {
  tenant_id: 'String',
  position: 'UInt64',
  event_id: 'String',
  event_type: 'String',
  schema_version: 'UInt16',
  aggregate: 'String',
  aggregate_id: 'String',
  stream_id: 'String',
  stream_revision: 'UInt64',
  occurred_at: 'String',
  occurred_at_ms: 'Int64',
  occurred_month: 'String',
  effective_at: 'String',
  effective_at_ms: 'Int64',
  effective_day: 'String',
  effective_month: 'String',
  actor_id: 'String',
  actor_roles: 'Array(String)',
  correlation_id: 'String',
  causation_id: 'String',
  owner_id: 'Nullable(String)',
  subject_id: 'Nullable(String)',
  related_id: 'Nullable(String)',
  amount_minor: 'Nullable(Int64)',
  currency: 'Nullable(String)',
  previous_amount_minor: 'Nullable(Int64)',
  probability: 'Nullable(Int16)',
  score: 'Nullable(Int16)',
  status: 'Nullable(String)',
  previous_status: 'Nullable(String)',
  pipeline: 'Nullable(String)',
  stage: 'Nullable(String)',
  previous_stage: 'Nullable(String)',
  source: 'Nullable(String)',
  campaign: 'Nullable(String)',
  category: 'Nullable(String)',
  purpose: 'Nullable(String)',
  lawful_basis: 'Nullable(String)',
  subject_type: 'Nullable(String)',
  reason: 'Nullable(String)',
  kind: 'Nullable(String)',
  direction: 'Nullable(String)',
  channel: 'Nullable(String)',
  authority: 'Nullable(String)',
  timeline: 'Nullable(String)',
  threshold: 'Nullable(Int16)',
  overridden: 'Nullable(UInt8)',
  period_start: 'Nullable(String)',
  period_end: 'Nullable(String)',
} as const satisfies Record<keyof EventFactRow, string>;

export type EventColumn = keyof typeof eventColumns;
/** Columns a string value can sit in (what the personal-data scanner reads). */
export const stringColumns: readonly EventColumn[] = (Object.keys(eventColumns) as EventColumn[]).filter((c) => eventColumns[c].includes('String'));

/** DDL of one generation's table. */
export function eventsTableDdl(table: string): string {
  const cols = Object.entries(eventColumns).map(([name, type]) => `  ${name} ${type}`).join(',\n');
  // ORDER BY (tenant_id, position): the replacing key is the position (unique store-wide), and every
  // query names its tenant first, so it reads only that tenant's part of the index.
  return `CREATE TABLE IF NOT EXISTS ${table} (\n${cols}\n) ENGINE = ReplacingMergeTree ORDER BY (tenant_id, position)`;
}

/** The public view over one generation (deduplicated). */
export function eventsViewDdl(view: string, table: string): string {
  return `CREATE VIEW ${view} AS SELECT * FROM ${table} FINAL`;
}

/** The view over one generation without FINAL (see EVENTS_ALL_VIEW). */
export function eventsAllViewDdl(view: string, table: string): string {
  return `CREATE VIEW ${view} AS SELECT * FROM ${table}`;
}

/**
 * Per-entity state kept at insert time (issue 12 §4: funnel and pipeline under 500 ms at 10M events).
 *
 * Computing every lead's and deal's state from the raw events at query time reads every event of the
 * tenant (7–21 s at 10M events on 18.16). Instead, each generation `events_g<N>` has materialized views
 * that, on every INSERT into it, fold the inserted rows into one row per (tenant, entity) of an
 * `AggregatingMergeTree` table of the SAME generation. A report then merges those partial states per
 * entity (`…Merge` + GROUP BY entity): one row per entity and insert block instead of six events per entity.
 *
 * Idempotent by construction: every ANSWER is a function of the SET of events, never of how many copies
 * arrived or in which order: `max` of a flag or of a value only one event carries, `argMax` by stream
 * revision (a duplicate carries the same value at the same revision), and `groupArray` of a tuple that
 * holds the revision, which every reader turns into a set (`arrayDistinct`) before using it: a duplicate
 * is the same tuple, so it may make the stored array longer but never changes what is read. No sum, no
 * count, no `any` of values that differ. So a redelivered event, a duplicate row, any order and any split
 * into blocks give the same answer, before or after the background merges (the suites check it with
 * merges stopped).
 *
 * Why `groupArray` + `arrayDistinct` rather than `groupUniqArray` (model version 3): merging a
 * `groupUniqArray` state hashes every tuple into a set, and that merge was most of the per-deal cost
 * (measured on 18.16 at 1M events: the deal merge 1.6–2× faster with `groupArray`, same answers); the
 * set is taken once per deal at read time instead, on arrays of a handful of elements.
 *
 * Generations: the state tables are `<name>_g<N>` beside `events_g<N>`, created with it (the views first
 * need their target), dropped with it, and read through the views `lead_state` / `deal_state` (and the
 * pipeline ledger `deal_intervals`, deal-intervals.ts), which are swapped in the same RENAME as `events`
 * and `events_all`.
 *
 * Both engines: `AggregateFunction(…)` columns, `…State` / `…Merge`, the `If` combinator and
 * `CREATE MATERIALIZED VIEW … TO …` are accepted by ClickHouse 18.16 and current ClickHouse (chDB) alike;
 * `SimpleAggregateFunction` is not (19.8+), so it is not used.
 */

import { DEAL_INTERVALS_VIEW, dealIntervalsDdl, dealIntervalsTable, recomputeDealIntervalsSql } from './deal-intervals.js';

export const LEAD_STATE_VIEW = 'lead_state';
export const DEAL_STATE_VIEW = 'deal_state';
export const leadStateTable = (generation: number): string => `lead_state_g${generation}`;
export const dealStateTable = (generation: number): string => `deal_state_g${generation}`;
const leadStateMv = (generation: number): string => `lead_state_mv_g${generation}`;
const dealStateMv = (generation: number): string => `deal_state_mv_g${generation}`;

const STAGE_TUPLE = 'Tuple(UInt64, Int64, String, String, Int64, String)';
const VALUE_TUPLE = 'Tuple(UInt64, String, Int64, String)';

/**
 * Lead, in two small states (measured: half the merge cost of one `max` per field on 18.16): its cohort,
 * the capture's month 'YYYY-MM' followed by its source ('' on every other event, and one capture per lead,
 * so `max` is the capture's), and its flags OR-ed together (bitwise OR is idempotent):
 * 1 = captured, 2 = qualified (or converted, or moved to status Qualified), 4 = converted.
 */
function leadStateDdl(table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (
  tenant_id String,
  stream_id String,
  cohort AggregateFunction(max, String),
  flags AggregateFunction(groupBitOr, UInt8)
) ENGINE = AggregatingMergeTree ORDER BY (tenant_id, stream_id)`;
}

function leadStateMvDdl(mv: string, table: string, events: string): string {
  const qualified = "event_type = 'LeadQualified' OR event_type = 'LeadConverted' OR (event_type = 'LeadStatusChanged' AND ifNull(status, '') = 'Qualified')";
  return `CREATE MATERIALIZED VIEW IF NOT EXISTS ${mv} TO ${table} AS
SELECT tenant_id, stream_id,
       maxState(if(event_type = 'LeadCaptured', concat(effective_month, ifNull(source, '')), '')) AS cohort,
       groupBitOrState(toUInt8(if(event_type = 'LeadCaptured', 1, 0) + if(${qualified}, 2, 0) + if(event_type = 'LeadConverted', 4, 0))) AS flags
FROM ${events}
WHERE aggregate = 'lead'
GROUP BY tenant_id, stream_id`;
}

/**
 * Deal: its pipeline (from DealOpened), its stage events (revision, effective ms, month, stage,
 * probability, status), its value events (revision, month, amount, currency) — each a `groupArray` that
 * readers take as a set (`arrayDistinct`, see the header) — and its last outcome event (won / lost /
 * reopened) by revision with that event's month.
 */
function dealStateDdl(table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (
  tenant_id String,
  stream_id String,
  pipeline_max AggregateFunction(max, String),
  stages AggregateFunction(groupArrayIf, ${STAGE_TUPLE}, UInt8),
  amounts AggregateFunction(groupArrayIf, ${VALUE_TUPLE}, UInt8),
  outcome AggregateFunction(argMaxIf, String, UInt64, UInt8),
  outcome_month AggregateFunction(argMaxIf, String, UInt64, UInt8)
) ENGINE = AggregatingMergeTree ORDER BY (tenant_id, stream_id)`;
}

const OUTCOME = "has(['DealWon', 'DealLost', 'DealReopened'], event_type)";
function dealStateMvDdl(mv: string, table: string, events: string): string {
  return `CREATE MATERIALIZED VIEW IF NOT EXISTS ${mv} TO ${table} AS
SELECT tenant_id, stream_id,
       maxState(if(event_type = 'DealOpened', ifNull(pipeline, ''), '')) AS pipeline_max,
       groupArrayIfState((stream_revision, effective_at_ms, effective_month, ifNull(stage, ''), toInt64(ifNull(probability, 0)), ifNull(status, '')), toUInt8(isNotNull(stage))) AS stages,
       groupArrayIfState((stream_revision, effective_month, ifNull(amount_minor, toInt64(0)), ifNull(currency, '')), toUInt8(isNotNull(amount_minor))) AS amounts,
       argMaxIfState(ifNull(status, ''), stream_revision, toUInt8(${OUTCOME})) AS outcome,
       argMaxIfState(effective_month, stream_revision, toUInt8(${OUTCOME})) AS outcome_month
FROM ${events}
WHERE aggregate = 'deal'
GROUP BY tenant_id, stream_id`;
}

/** DDL of a generation's per-entity state tables and their views (tables before the views that fill them). */
export function entityStateDdl(generation: number, events: string): string[] {
  return [
    leadStateDdl(leadStateTable(generation)),
    leadStateMvDdl(leadStateMv(generation), leadStateTable(generation), events),
    dealStateDdl(dealStateTable(generation)),
    dealStateMvDdl(dealStateMv(generation), dealStateTable(generation), events),
  ];
}

/**
 * DDL of everything a generation keeps beside its fact table, in the order to run it: the per-entity
 * state (filled by views on every INSERT) and the deal pipeline ledger (deal-intervals.ts; filled by the
 * projector's recompute after each INSERT, see `recomputeDealIntervals`).
 */
export function stateGenerationDdl(generation: number, events: string): string[] {
  return [...entityStateDdl(generation, events), dealIntervalsDdl(dealIntervalsTable(generation))];
}

/** What to drop with a generation, views first (so no insert feeds a half-dropped table). */
export function stateGenerationObjects(generation: number): string[] {
  return [leadStateMv(generation), dealStateMv(generation), leadStateTable(generation), dealStateTable(generation), dealIntervalsTable(generation)];
}

/** The public views over a generation's state tables (swapped with `events`). */
export const stateViews = [
  { name: LEAD_STATE_VIEW, table: leadStateTable },
  { name: DEAL_STATE_VIEW, table: dealStateTable },
  { name: DEAL_INTERVALS_VIEW, table: dealIntervalsTable },
] as const;

/**
 * The statement that brings generation `generation`'s pipeline ledger up to date with its deal state for
 * the deals `selector` picks (deal-intervals.ts `dealSelectors`): run after every INSERT into the fact
 * table, for the deals the inserted rows belong to.
 */
export function recomputeDealIntervals(generation: number, selector: string): string {
  return recomputeDealIntervalsSql(dealIntervalsTable(generation), dealStateTable(generation), selector);
}

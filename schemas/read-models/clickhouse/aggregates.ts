import { EVENTS_ALL_VIEW } from './events.js';
import { DEAL_INTERVALS_VIEW } from './deal-intervals.js';
import { DEAL_STATE_VIEW, LEAD_STATE_VIEW } from './state.js';
import { bucketOf, LiteralError, monthsBetween, str, strArray, type Granularity } from './sql.js';

/**
 * The ready aggregates over the fact table (SPEC: analytics → leadFunnel, pipelineByStage,
 * dealVelocity, spendByMonth): one SQL builder each, run unchanged by ClickHouse 18.16 and chDB, read
 * by the query API and documented in docs/analytics.md. Every statement names its tenant in the query
 * itself (never a filter applied afterwards).
 *
 * Duplicates: a redelivered event is the same row at the same position. The funnel and deal velocity
 * read the per-lead and per-deal state kept at insert time (state.ts: `lead_state`, `deal_state`), whose
 * states a duplicate cannot change (max, bitwise OR, argMax by revision, a set of tuples holding the
 * revision); they merge it per entity themselves, so they are right on unmerged parts. The pipeline reads
 * the ledger the projector recomputes from the deal state after each batch (deal-intervals.ts:
 * `deal_intervals`), summing its rows. The spend report reads the tenant's budget events without FINAL
 * (which cost seconds over the whole table at 10M events), as per-budget sets of tuples holding the
 * revision, so a duplicate adds nothing to the amounts it sums.
 *
 * Money is in minor units per currency, never summed across currencies; sums come back as decimal
 * strings (Int64), exact beyond 2^53.
 */

export interface PeriodFilter {
  readonly tenantId: string;
  /** First and last month, 'YYYY-MM', inclusive; absent = unbounded. */
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly granularity?: Granularity | undefined;
}

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
function monthBound(m: string | undefined, what: string): string | undefined {
  if (m === undefined) return undefined;
  if (!MONTH.test(m) || m.startsWith('0000')) throw new LiteralError(`${what} must be a month YYYY-MM (year 0001–9999), got "${m}"`);
  return m;
}

/** `AND col >= 'from' AND col <= 'to'` for the bounds that are set. */
function monthRange(column: string, f: PeriodFilter): string {
  const from = monthBound(f.from, 'from');
  const to = monthBound(f.to, 'to');
  if (from !== undefined && to !== undefined && to < from) throw new LiteralError(`the period ends (${to}) before it starts (${from})`);
  return `${from === undefined ? '' : ` AND ${column} >= ${str(from)}`}${to === undefined ? '' : ` AND ${column} <= ${str(to)}`}`;
}

const inList = (column: string, values: readonly string[] | undefined): string =>
  values === undefined || values.length === 0 ? '' : ` AND has(${strArray(values)}, ${column})`;

const tenant = (f: PeriodFilter): string => `tenant_id = ${str(f.tenantId)}`;

// ── lead funnel ────────────────────────────────────────────────────────────────────────────────────
export interface LeadFunnelFilter extends PeriodFilter {
  readonly sources?: readonly string[] | undefined;
}
export interface LeadFunnelRow {
  period: string;
  source: string;
  captured: string;
  qualified: string;
  converted: string;
}

/**
 * Captured → qualified → converted, as cohorts: the leads captured in a period (by `capturedAt`) and
 * source, and how many of THOSE were ever qualified and ever converted (up to now). The funnel is
 * monotone: a lead converted without a recorded qualification counts as qualified too.
 */
export function leadFunnelSql(f: LeadFunnelFilter): string {
  const g = f.granularity ?? 'month';
  // One row per lead from its state kept at insert time (state.ts), merged per lead: the max of its one
  // capture's cohort and the OR of its flags, so duplicates and unmerged parts change nothing. The leads
  // are counted per cohort string ('YYYY-MM' + source) first, and only those few hundred rows are split
  // into month and source, filtered and bucketed (not every lead's row: measurably less work per lead).
  return `SELECT ${bucketOf('captured_month', g)} AS period, source, sum(leads) AS captured, sum(qualified_leads) AS qualified, sum(converted_leads) AS converted
FROM (
  SELECT substring(lead_cohort, 1, 7) AS captured_month, substring(lead_cohort, 8) AS source, leads, qualified_leads, converted_leads
  FROM (
    SELECT lead_cohort, count() AS leads, sum(bitAnd(lead_flags, 2) != 0) AS qualified_leads, sum(bitAnd(lead_flags, 4) != 0) AS converted_leads
    FROM (
      SELECT stream_id, maxMerge(cohort) AS lead_cohort, groupBitOrMerge(flags) AS lead_flags
      FROM ${LEAD_STATE_VIEW}
      WHERE ${tenant(f)}
      GROUP BY stream_id
    )
    WHERE bitAnd(lead_flags, 1) = 1
    GROUP BY lead_cohort
  )
)
WHERE 1${monthRange('captured_month', f)}${inList('source', f.sources)}
GROUP BY period, source
ORDER BY period, source`;
}

// ── pipeline by stage over time ────────────────────────────────────────────────────────────────────
export interface PipelineFilter {
  readonly tenantId: string;
  /** Snapshot months, 'YYYY-MM' inclusive (at most 240). */
  readonly from: string;
  readonly to: string;
  readonly pipelines?: readonly string[] | undefined;
}
export interface PipelineByStageRow {
  period: string;
  pipeline: string;
  stage: string;
  currency: string;
  deals: string;
  value_minor: string;
  weighted_minor: string;
}

/**
 * The open pipeline as it stood at the END of each month from `from` to `to`: per pipeline, stage and
 * currency, the open deals, their value, and their value weighted by the stage probability
 * (floor(Σ value × probability / 100)). A deal's state at a month's end is its last stage event
 * (opened, moved, won, lost, reopened) up to then, and its value the last value event up to then.
 */
export function pipelineByStageSql(f: PipelineFilter): string {
  const months = monthsBetween(f.from, f.to);
  const first = str(months[0]!);
  const last = str(months[months.length - 1]!);
  // From the pipeline ledger (deal-intervals.ts): per deal, the intervals [since, until) of months over
  // which it is open with the same stage, probability, value and currency, kept up to date by the
  // projector after each batch (a difference against what is stored, so rows are SUMMED, never counted:
  // a cancelled interval is a +1 and a −1 until a merge drops both). The intervals that overlap the
  // period are summed per (pipeline, stage, currency, since, until) — a few thousand groups whatever the
  // deal count — and only those are spread over the requested month-ends. No per-deal work at query time.
  return `SELECT period, pipeline, stage, currency, sum(n) AS deals, sum(val) AS value_minor, intDiv(sum(wt), 100) AS weighted_minor
FROM (
  SELECT pipeline, stage, currency, since, until, sum(deals) AS n, sum(value) AS val, sum(weighted) AS wt
  FROM ${DEAL_INTERVALS_VIEW}
  WHERE ${tenant(f)} AND until > ${first} AND since <= ${last}${inList('pipeline', f.pipelines)}
  GROUP BY pipeline, stage, currency, since, until
  HAVING n != 0 OR val != 0 OR wt != 0
)
ARRAY JOIN ${strArray(months)} AS period
WHERE period >= since AND period < until
GROUP BY period, pipeline, stage, currency
ORDER BY period, pipeline, stage, currency`;
}

// ── deal velocity ──────────────────────────────────────────────────────────────────────────────────
export interface DealVelocityFilter extends PeriodFilter {
  readonly pipelines?: readonly string[] | undefined;
}
export interface StageStayRow {
  pipeline: string;
  stage: string;
  stays: string;
  avg_ms: number;
  max_ms: string;
}
export interface DealOutcomeRow {
  pipeline: string;
  won: string;
  lost: string;
}

/**
 * How long deals stay in each stage: every completed stay (entered by open / move / reopen, left by
 * the next stage event) whose END falls in the period, per pipeline and stage; average in ms.
 */
export function stageStaysSql(f: DealVelocityFilter): string {
  // The deal's set of stage events from its state (state.ts; arrayDistinct: a duplicate is the same tuple), sorted by revision: (revision, ms, month, stage, probability, status).
  return `SELECT pipeline, tupleElement(cur, 4) AS stage, count() AS stays,
       avg(tupleElement(nxt, 2) - tupleElement(cur, 2)) AS avg_ms, max(tupleElement(nxt, 2) - tupleElement(cur, 2)) AS max_ms
FROM (
  SELECT pipeline, arrayElement(s, i) AS cur, arrayElement(s, i + 1) AS nxt
  FROM (
    SELECT stream_id,
           maxMerge(pipeline_max) AS pipeline,
           arraySort(x -> tupleElement(x, 1), arrayDistinct(groupArrayIfMerge(stages))) AS s
    FROM ${DEAL_STATE_VIEW}
    WHERE ${tenant(f)}
    GROUP BY stream_id
  )
  ARRAY JOIN arrayEnumerate(s) AS i
  WHERE i < length(s)
)
WHERE tupleElement(cur, 6) = 'open'${monthRange('tupleElement(nxt, 3)', f)}${inList('pipeline', f.pipelines)}
GROUP BY pipeline, stage
ORDER BY pipeline, stage`;
}

/**
 * Win rate: deals whose LAST outcome (won, lost; a later reopen cancels it) falls in the period, per
 * pipeline. winRate = won / (won + lost).
 */
export function dealOutcomesSql(f: DealVelocityFilter): string {
  // From the deal's state (state.ts): its last outcome event by revision, and that event's month.
  return `SELECT pipeline, countIf(last_outcome = 'won') AS won, countIf(last_outcome = 'lost') AS lost
FROM (
  SELECT stream_id,
         maxMerge(pipeline_max) AS pipeline,
         argMaxIfMerge(outcome) AS last_outcome,
         argMaxIfMerge(outcome_month) AS closed_month
  FROM ${DEAL_STATE_VIEW}
  WHERE ${tenant(f)}
  GROUP BY stream_id
)
WHERE has(['won', 'lost'], last_outcome)${monthRange('closed_month', f)}${inList('pipeline', f.pipelines)}
GROUP BY pipeline
ORDER BY pipeline`;
}

// ── budget spend by month ──────────────────────────────────────────────────────────────────────────
export interface SpendFilter extends PeriodFilter {
  readonly categories?: readonly string[] | undefined;
}
export interface SpendByMonthRow {
  period: string;
  category: string;
  currency: string;
  spent_minor: string;
  amount_minor: string;
  allocated_minor: string;
  budgets: string;
}

/**
 * Spend per period (by `spentAt`) and budget category, against what those budgets hold: for the
 * budgets that spent in the period, their amount and their current allocation (Σ over campaigns of
 * the latest `BudgetAllocated`; 0 removes a campaign). Per currency.
 */
export function spendByMonthSql(f: SpendFilter): string {
  const g = f.granularity ?? 'month';
  // One pass over the tenant's budget events, per budget: its category and amount, its allocations as a
  // set of (campaign, revision, amount) — sorted, the last of each campaign is the latest — and its spends as
  // a set of (revision, period, currency, amount); then one row per budget, period and currency.
  return `SELECT period, category, currency, sum(spent) AS spent_minor, sum(budget_amount) AS amount_minor, sum(allocated) AS allocated_minor, count() AS budgets
FROM (
  SELECT stream_id, category, budget_amount, allocated, tupleElement(sp, 2) AS period, tupleElement(sp, 3) AS currency, sum(tupleElement(sp, 4)) AS spent
  FROM (
    SELECT stream_id,
           anyIf(ifNull(category, ''), event_type = 'BudgetCreated') AS category,
           anyIf(ifNull(amount_minor, toInt64(0)), event_type = 'BudgetCreated') AS budget_amount,
           arraySort(x -> (tupleElement(x, 1), tupleElement(x, 2)),
                     groupUniqArrayIf((ifNull(campaign, ''), stream_revision, ifNull(amount_minor, toInt64(0))), event_type = 'BudgetAllocated')) AS allocations,
           arraySum(arrayMap(i -> if(i = length(allocations) OR tupleElement(allocations[i + 1], 1) != tupleElement(allocations[i], 1), tupleElement(allocations[i], 3), toInt64(0)),
                             arrayEnumerate(allocations))) AS allocated,
           groupUniqArrayIf((stream_revision, ${bucketOf('effective_month', g)}, ifNull(currency, ''), ifNull(amount_minor, toInt64(0))),
                            event_type = 'BudgetSpendRecorded'${monthRange('effective_month', f)}) AS spends
    FROM ${EVENTS_ALL_VIEW}
    WHERE ${tenant(f)} AND aggregate = 'budget'
    GROUP BY stream_id
  )
  ARRAY JOIN spends AS sp
  GROUP BY stream_id, category, budget_amount, allocated, period, currency
)
WHERE 1${inList('category', f.categories)}
GROUP BY period, category, currency
ORDER BY period, category, currency`;
}

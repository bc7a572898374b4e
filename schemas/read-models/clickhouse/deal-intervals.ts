import { str } from './sql.js';

/**
 * The deal pipeline ledger (issue 12 §4: pipeline by stage p95 under 500 ms at 10M events).
 *
 * Why: the pipeline at a month's end needs every deal's state at that time. Computed from the per-deal
 * state (state.ts) at query time, that is a merge of every deal's lists plus per-deal arithmetic, ~1.1 s of
 * server CPU at 10M events (667,000 deals), of which the merge alone is ~0.5 s: per-entity state has that
 * floor. So each deal's CONTRIBUTION is derived once, when its events are applied, into
 * `deal_intervals_g<N>`: one row per interval in which the deal is open with the same stage, probability,
 * value and currency — from a month in which it has an event (`since`) to its next such month (`until`,
 * exclusive; '9999-99' = still so today). The pipeline then sums these rows (aggregates.ts), a scan of a
 * few short columns and no per-deal work.
 *
 * How it stays right (the ANSWER is still a function of the set of events):
 *  - After every INSERT of fact rows, the projector RECOMPUTES, for every deal the batch touched, the
 *    deal's intervals from its state (which the state views updated in that INSERT) and writes, in ONE
 *    `INSERT … SELECT`, the DIFFERENCE between them and what the ledger holds for the deal now: the
 *    ledger's current rows negated plus the new rows, summed per row key, zero sums left out. So after a
 *    recompute the ledger holds exactly the deal's intervals from its state, whatever it held before.
 *  - The deal state is a function of the set of the deal's events, and the deal is recomputed after
 *    its last-arriving event is applied, so at quiescence the ledger is the function of the set of events:
 *    duplicates and any order converge (the tests deliver shuffled, half twice, with merges stopped).
 *  - A crash between the events INSERT and the recompute fails the batch, so the runtime applies it again
 *    (controlled.ts: the checkpoint is written after the store's write); the retry inserts the rows again
 *    (idempotent by position and in the state) and recomputes from the CURRENT ledger rows. A recompute
 *    with nothing to change writes nothing; one that ran twice changes nothing the second time.
 *  - It is a `SummingMergeTree` over (deals, value, weighted) keyed by the deal and the interval: a
 *    background merge adds the +1 and −1 rows of a cancelled interval into zeros and drops the row, and
 *    every reader sums (`sum(deals)` …), so it is right before merges. No sum can go wrong by a
 *    duplicate here: the rows written are differences against what is stored, not facts.
 *  - One writer per generation: the runtime applies one batch of a model at a time (controlled.ts holds
 *    the model's batch lock); a rebuild writes its own shadow generation's ledger.
 *
 * No personal data: ids, labels (pipeline, stage, currency), months and amounts, all copied from the
 * fact table, which holds none (facts.ts); the scanner reads this table's labels too.
 *
 * Both engines: SummingMergeTree with an explicit column tuple, UNION ALL in a subquery, ARRAY JOIN and
 * the lambdas below are accepted by ClickHouse 18.16 and current ClickHouse (chDB) alike.
 */
export const DEAL_INTERVALS_VIEW = 'deal_intervals';
export const dealIntervalsTable = (generation: number): string => `deal_intervals_g${generation}`;
/** `until` of an interval that still holds. Sorts after every month 'YYYY-MM' (0001-01 … 9999-12). */
export const OPEN_END = '9999-99';

export function dealIntervalsDdl(table: string): string {
  // Ordered by the deal first: the recompute reads one batch's deals (their key prefix) back.
  return `CREATE TABLE IF NOT EXISTS ${table} (
  tenant_id String,
  stream_id String,
  since String,
  until String,
  pipeline String,
  stage String,
  currency String,
  deals Int64,
  value Int64,
  weighted Int64
) ENGINE = SummingMergeTree((deals, value, weighted)) ORDER BY (tenant_id, stream_id, since, until, pipeline, stage, currency)`;
}

/**
 * The open intervals of the deals of `stateTable` that match `selector` (a condition on tenant_id and
 * stream_id), from their state: (tenant_id, stream_id, pipeline, stage, currency, since, until, d = 1,
 * v = value, w = value × probability).
 *
 * Per deal, its stage events (revision, effective ms, month, stage, probability, status) and value
 * events (revision, month, amount, currency) sorted by revision. The deal's state at a month's end is
 * stage event i = how many of its stage events fall in months up to then, and value event j likewise;
 * both change only in a month in which the deal has an event, so each such month starts an interval. A
 * duplicate event is the identical tuple at the same revision, so after the sort it sits beside its twin
 * and element i is the same event with or without it (no arrayDistinct needed). The tuple arrays are
 * split into plain arrays (stage, probability, status, amount, currency) before the ARRAY JOIN, which
 * then copies only those.
 */
export function dealIntervalsSelect(stateTable: string, selector: string): string {
  return `SELECT tenant_id, stream_id, pipeline, st[i] AS stage, cu[j] AS currency, since, until,
       toInt64(1) AS d, am[j] AS v, am[j] * pr[i] AS w
FROM (
  SELECT tenant_id, stream_id, pipeline, st, pr, ss, am, cu, changes[k] AS since, if(k < length(changes), changes[k + 1], ${str(OPEN_END)}) AS until,
         arrayCount(x -> x <= since, sm) AS i, arrayCount(x -> x <= since, vm) AS j
  FROM (
    SELECT tenant_id, stream_id, pipeline, sm, st, pr, ss, vm, am, cu, arraySort(arrayDistinct(arrayConcat(sm, vm))) AS changes
    FROM (
      SELECT tenant_id, stream_id, pipeline,
             arrayMap(x -> tupleElement(x, 3), s) AS sm, arrayMap(x -> tupleElement(x, 4), s) AS st,
             arrayMap(x -> tupleElement(x, 5), s) AS pr, arrayMap(x -> tupleElement(x, 6), s) AS ss,
             arrayMap(x -> tupleElement(x, 2), v) AS vm, arrayMap(x -> tupleElement(x, 3), v) AS am, arrayMap(x -> tupleElement(x, 4), v) AS cu
      FROM (
        SELECT tenant_id, stream_id,
               maxMerge(pipeline_max) AS pipeline,
               arraySort(x -> tupleElement(x, 1), groupArrayIfMerge(stages)) AS s,
               arraySort(x -> tupleElement(x, 1), groupArrayIfMerge(amounts)) AS v
        FROM ${stateTable}
        WHERE ${selector}
        GROUP BY tenant_id, stream_id
      )
    )
  )
  ARRAY JOIN arrayEnumerate(changes) AS k
)
WHERE i > 0 AND j > 0 AND ss[i] = 'open'`;
}

/**
 * Brings the ledger rows of the deals matching `selector` to what their state gives, in one statement:
 * INSERT the difference (current rows negated + recomputed rows, summed per key, zeros left out).
 * Idempotent: run again, it finds no difference and writes no row.
 */
export function recomputeDealIntervalsSql(ledger: string, stateTable: string, selector: string): string {
  return `INSERT INTO ${ledger} (tenant_id, stream_id, since, until, pipeline, stage, currency, deals, value, weighted)
SELECT tenant_id, stream_id, since, until, pipeline, stage, currency, sum(d) AS dd, sum(v) AS dv, sum(w) AS dw
FROM (
  SELECT tenant_id, stream_id, pipeline, stage, currency, since, until, -deals AS d, -value AS v, -weighted AS w
  FROM ${ledger}
  WHERE ${selector}
  UNION ALL
  ${dealIntervalsSelect(stateTable, selector)}
)
GROUP BY tenant_id, stream_id, since, until, pipeline, stage, currency
HAVING dd != 0 OR dv != 0 OR dw != 0`;
}

export interface DealRef {
  readonly tenantId: string;
  readonly streamId: string;
}

/**
 * Conditions selecting `deals`, grouped per tenant, each at most `maxChars` long (the engines parse at
 * most `max_query_size` bytes of a statement, and the selector appears twice in it):
 * `tenant_id = … AND stream_id IN (SELECT arrayJoin(splitByChar(',', 'id1,id2,…')))`. Both engines
 * answer it from the (tenant_id, stream_id) primary key of the state table and the ledger. The ids travel
 * as ONE string literal because parsing thousands of literals is most of the statement's cost on 18.16
 * (measured: 45 ms of CPU for 5,800 ids as a list, 12 ms as one string). An id holding the separator
 * (never one the event store issues) falls back to the list form.
 */
export function dealSelectors(deals: Iterable<DealRef>, maxChars = 2_000_000): string[] {
  const byTenant = new Map<string, Set<string>>();
  for (const d of deals) {
    let s = byTenant.get(d.tenantId);
    if (s === undefined) byTenant.set(d.tenantId, (s = new Set()));
    s.add(d.streamId);
  }
  const out: string[] = [];
  let parts: string[] = [];
  let size = 0;
  const flush = () => {
    if (parts.length > 0) out.push(parts.join(' OR '));
    parts = [];
    size = 0;
  };
  for (const [tenant, streams] of byTenant) {
    const t = str(tenant);
    let ids: string[] = [];
    let idsSize = 0;
    const close = () => {
      if (ids.length === 0) return;
      const set = ids.some((id) => id.includes(',')) ? ids.map(str).join(', ') : `SELECT arrayJoin(splitByChar(',', ${str(ids.join(','))}))`;
      const part = `(tenant_id = ${t} AND stream_id IN (${set}))`;
      if (size + part.length > maxChars) flush();
      parts.push(part);
      size += part.length + 4;
      ids = [];
      idsSize = 0;
    };
    for (const id of streams) {
      // A literal is at most 4 bytes per UTF-16 unit (\xHH), plus its quotes and separator.
      const cost = id.length * 4 + 4;
      if (idsSize + cost + t.length + 80 > maxChars) close();
      ids.push(id);
      idsSize += cost;
    }
    close();
  }
  flush();
  return out;
}

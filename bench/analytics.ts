/**
 * `npm run bench:analytics` — issue 12 §4 benchmarks of the analytics read model, on the ClickHouse server
 * (18.16, from `annals stack`) and on chDB (embedded), each in a database of its own made for the run:
 *
 * 1. Queries at scale: N synthetic fact rows (default 10,000,000, `BENCH_EVENTS`) bulk-loaded inside the
 *    engine (bench/analytics/synthetic.ts: INSERT … SELECT FROM numbers, 1,000,000 per statement) into the
 *    generation table, whose materialized views fill the per-entity state tables as for the projector, then
 *    the ready aggregates run `BENCH_RUNS` times each (default 20, after one warm-up), all on ONE tenant that
 *    holds every row (the worst case: nothing is pruned by the tenant key). p50 / p95 / max per query.
 *    Target: p95 under 500 ms for the funnel and pipeline queries at 10M events on the server. The rows are
 *    queried as they were inserted, unmerged: `FINAL` is always part of the cost.
 * 2. Projector throughput: `BENCH_PROJECTOR_EVENTS` (default 200,000) real, schema-validated events
 *    (projections/clickhouse/testing.ts) applied through the ClickHouse target as the runtime does
 *    (controlledTarget: revision guard and position in the control tables of the read database, mapping,
 *    one INSERT per batch of 5,000), next to a raw bulk INSERT of the SAME rows (pre-serialised JSONEachRow,
 *    50,000 per statement) in the same run. Target: within 3× of raw.
 *
 * `BENCH_TARGET` = server | chdb | both (default both). Server env: CLICKHOUSE_URL, READ_DB_URL
 * (`eval "$(node scripts/cli/annals.mjs stack env)"`); chDB uses PGlite for the control tables.
 * Writes bench/results/analytics.json.
 */
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chdbEngine } from '../platform/analytics/chdb.js';
import type { AnalyticsEngine } from '../platform/analytics/port.js';
import { clickhouseServerEngine } from '../platform/analytics/server.js';
import { openPglite, pgClient, pgliteClient, type SqlClient } from '../platform/sql/client.js';
import { factRow } from '../projections/clickhouse/events/facts.js';
import { analyticsEventsModel } from '../projections/clickhouse/events/model.js';
import { buildScenario, History } from '../projections/clickhouse/testing.js';
import { controlledTarget } from '../projections/kernel/controlled.js';
import { deleteControlRows } from '../projections/kernel/target-contract.testing.js';
import type { EventEnvelope } from '../schemas/events/registry.js';
import { dealOutcomesSql, leadFunnelSql, pipelineByStageSql, spendByMonthSql, stageStaysSql } from '../schemas/read-models/clickhouse/aggregates.js';
import { EVENTS_ALL_VIEW, EVENTS_VIEW, eventsTable, eventsTableDdl } from '../schemas/read-models/clickhouse/events.js';
import { leadStateTable, stateViews } from '../schemas/read-models/clickhouse/state.js';
import { syntheticInsertSql } from './analytics/synthetic.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const PROJECTOR_EVENTS = Number(process.env.BENCH_PROJECTOR_EVENTS ?? 200_000);
const TARGET = (process.env.BENCH_TARGET ?? 'both') as 'server' | 'chdb' | 'both';
if (!['server', 'chdb', 'both'].includes(TARGET)) throw new Error('BENCH_TARGET must be server, chdb or both');
const TENANT = 'bench';
/** A generation number no target registers: the raw-with-views baseline's table and state views. */
const RAW_GENERATION = 9_999;
const say = (s: string) => process.stdout.write(`${s}\n`);
const need = (n: string) => {
  const v = process.env[n];
  if (!v) throw new Error(`${n} is not set: run \`eval "$(node scripts/cli/annals.mjs stack env)"\` first`);
  return v;
};
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

interface QueryFigure {
  query: string;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  rows: number;
}

async function timeQuery(engine: AnalyticsEngine, name: string, sql: string): Promise<QueryFigure> {
  const first = await engine.query(sql); // warm-up (also: the answer's size)
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await engine.query(sql);
    ms.push(performance.now() - t);
  }
  const f = { query: name, p50Ms: Math.round(pct(ms, 50)), p95Ms: Math.round(pct(ms, 95)), maxMs: Math.round(Math.max(...ms)), rows: first.length };
  say(`    ${name.padEnd(44)} p50 ${String(f.p50Ms).padStart(6)} ms  p95 ${String(f.p95Ms).padStart(6)} ms  max ${String(f.maxMs).padStart(6)} ms  (${f.rows} rows)`);
  return f;
}

async function queriesAtScale(engine: AnalyticsEngine) {
  // Generation 1 and its two views, exactly as the read model creates and swaps them.
  const model = analyticsEventsModel(engine);
  await model.createGeneration(1);
  await model.swap(1, undefined);
  const chunk = 1_000_000;
  const t0 = performance.now();
  let loaded = 0;
  while (loaded < EVENTS) {
    const n = Math.min(chunk, EVENTS - loaded);
    await engine.command(syntheticInsertSql(eventsTable(1), TENANT, n, loaded));
    loaded += n;
    process.stdout.write(`\r    bulk load ${loaded.toLocaleString('en')} / ${EVENTS.toLocaleString('en')} rows`);
  }
  const loadMs = performance.now() - t0;
  say(`\r    bulk load: ${loaded.toLocaleString('en')} rows in ${(loadMs / 1000).toFixed(1)} s (${Math.round(loaded / (loadMs / 1000)).toLocaleString('en')} rows/s)`);
  const count = Number((await engine.query<{ n: string }>(`SELECT count() AS n FROM ${EVENTS_VIEW} WHERE tenant_id = '${TENANT}'`))[0]!.n);
  if (count !== loaded) throw new Error(`loaded ${loaded} rows, the view counts ${count}`);
  // The INSERT … SELECT went through the generation's materialized views, as the projector's INSERTs do.
  const leads = Number((await engine.query<{ n: string }>(`SELECT uniqExact(stream_id) AS n FROM ${leadStateTable(1)} WHERE tenant_id = '${TENANT}'`))[0]!.n);
  say(`    per-entity state: ${leads.toLocaleString('en')} leads in ${leadStateTable(1)}`);
  if (leads === 0) throw new Error('the state views did not fill the state tables');
  const queries: QueryFigure[] = [];
  queries.push(await timeQuery(engine, 'leadFunnel (by month, all sources)', leadFunnelSql({ tenantId: TENANT })));
  queries.push(await timeQuery(engine, 'leadFunnel (2024 by quarter, 2 sources)', leadFunnelSql({ tenantId: TENANT, from: '2024-01', to: '2024-12', granularity: 'quarter', sources: ['web', 'email'] })));
  queries.push(await timeQuery(engine, 'pipelineByStage (12 month-ends of 2024)', pipelineByStageSql({ tenantId: TENANT, from: '2024-01', to: '2024-12' })));
  queries.push(await timeQuery(engine, 'dealVelocity: stage stays', stageStaysSql({ tenantId: TENANT })));
  queries.push(await timeQuery(engine, 'dealVelocity: outcomes', dealOutcomesSql({ tenantId: TENANT })));
  queries.push(await timeQuery(engine, 'spendByMonth', spendByMonthSql({ tenantId: TENANT })));
  return { events: loaded, loadSeconds: Math.round(loadMs / 100) / 10, loadRowsPerSec: Math.round(loaded / (loadMs / 1000)), queries };
}

function projectorEvents(): EventEnvelope[] {
  const h = new History();
  for (let i = 0; h.events.length < PROJECTOR_EVENTS; i++) buildScenario(h, { tenantId: `bench-p-${i}`, seed: 100 + i, leads: 400, deals: 300, budgets: 40, consents: 50 });
  return h.events.slice(0, PROJECTOR_EVENTS);
}

async function projectorVsRaw(engine: AnalyticsEngine, control: SqlClient, events: readonly EventEnvelope[]) {
  // The query phase's table and view go first: the target registers its own generation 1.
  for (const view of [EVENTS_VIEW, EVENTS_ALL_VIEW, ...stateViews.map((v) => v.name)]) await engine.command(`DROP TABLE IF EXISTS ${view}`);
  await analyticsEventsModel(engine).dropGeneration(1); // the fact table and its state tables and views
  // Raw: the same rows, already mapped and serialised, in 50,000-row INSERTs into a table of the same DDL.
  const lines: string[] = [];
  for (let i = 0; i < events.length; i += 50_000) lines.push(events.slice(i, i + 50_000).map((e) => JSON.stringify(factRow(e))).join('\n') + '\n');
  await engine.command(eventsTableDdl('raw_events'));
  let t = performance.now();
  for (const l of lines) await engine.insertJsonLines('raw_events', l);
  const rawMs = performance.now() - t;
  // The same raw INSERTs into a generation with its state views attached (the store work the projector's
  // INSERTs also cause: the views fold each block into the per-entity state tables), to split the ratio
  // into what the views cost and what the projector adds.
  const rawModel = analyticsEventsModel(engine, { name: 'bench_raw_with_views' });
  await rawModel.createGeneration(RAW_GENERATION);
  t = performance.now();
  for (const l of lines) await engine.insertJsonLines(eventsTable(RAW_GENERATION), l);
  const rawViewsMs = performance.now() - t;
  await rawModel.dropGeneration(RAW_GENERATION);
  // Ours: the runtime's path into the ClickHouse target (controlledTarget + the fact-table model), as a replay applies it.
  const name = `bench_analytics_${Date.now().toString(36)}`;
  const target = controlledTarget(control, analyticsEventsModel(engine, { name }));
  const reg = await target.register();
  t = performance.now();
  for (let i = 0; i < events.length; i += 5_000) {
    await target.apply({ generation: reg, items: events.slice(i, i + 5_000).map((event) => ({ position: event.position, event })) });
  }
  const oursMs = performance.now() - t;
  await deleteControlRows(control, name);
  const rows = Number((await engine.query<{ n: string }>(`SELECT count() AS n FROM ${eventsTable(reg.generation)} FINAL`))[0]!.n);
  if (rows !== events.length) throw new Error(`the target wrote ${rows} rows for ${events.length} events`);
  const raw = Math.round(events.length / (rawMs / 1000));
  const rawViews = Math.round(events.length / (rawViewsMs / 1000));
  const ours = Math.round(events.length / (oursMs / 1000));
  say(`    projector: ${ours.toLocaleString('en')} events/s   raw bulk INSERT of the same rows: ${raw.toLocaleString('en')} rows/s   ours/raw ${(ours / raw).toFixed(2)} (target ≥ 0.33)`);
  say(`    raw bulk INSERT into a generation with its state views: ${rawViews.toLocaleString('en')} rows/s   ours/(raw with views) ${(ours / rawViews).toFixed(2)}`);
  return {
    events: events.length,
    projectorEventsPerSec: ours,
    rawRowsPerSec: raw,
    ratio: Math.round((ours / raw) * 100) / 100,
    rawWithViewsRowsPerSec: rawViews,
    ratioWithViews: Math.round((ours / rawViews) * 100) / 100,
  };
}

const results: Record<string, unknown> = { at: new Date().toISOString(), events: EVENTS, runs: RUNS, projectorEvents: PROJECTOR_EVENTS };
const events = projectorEvents();
say(`analytics bench: ${EVENTS.toLocaleString('en')} synthetic rows, ${RUNS} runs per query, projector ${events.length.toLocaleString('en')} real events`);

if (TARGET !== 'chdb') {
  const database = `annals_bench_${Date.now().toString(36)}`;
  say(`ClickHouse server (${need('CLICKHOUSE_URL')}, database ${database}):`);
  const engine = await clickhouseServerEngine({ url: need('CLICKHOUSE_URL'), database });
  const control = pgClient(need('READ_DB_URL'), { applicationName: 'bench-analytics' });
  try {
    const version = (await engine.query<{ v: string }>('SELECT version() AS v'))[0]!.v;
    results.server = { version, ...(await queriesAtScale(engine)), projector: await projectorVsRaw(engine, control, events) };
  } finally {
    await engine.dropDatabase();
    await engine.close();
    await control.close();
  }
}
if (TARGET !== 'server') {
  const dir = await mkdtemp(join(tmpdir(), 'annals-bench-chdb-'));
  say(`chDB (in this process, ${dir}):`);
  const engine = await chdbEngine({ path: join(dir, 'analytics'), database: 'bench' });
  const control = pgliteClient(await openPglite());
  try {
    const version = (await engine.query<{ v: string }>('SELECT version() AS v'))[0]!.v;
    results.chdb = { version, ...(await queriesAtScale(engine)), projector: await projectorVsRaw(engine, control, events) };
  } finally {
    await engine.close();
    await control.close();
    await rm(dir, { recursive: true, force: true });
  }
}
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'analytics.json');
await mkdir(dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
say(`wrote ${out}`);

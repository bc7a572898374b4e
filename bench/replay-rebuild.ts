/**
 * `npm run bench:rebuild` — `annals replay rebuild` on the real servers (`annals stack up`, then
 * `eval "$(npx annals stack env)"`), with the REAL read models, each store next to the raw bulk rate of the
 * same rows/documents into the same server in the same run:
 *
 * 1. N events in the event store (a lead stream: LeadCaptured + 3 LeadScored; a contact stream:
 *    ContactCreated + ContactUpdated), written through the event store's append (validated, hash-chained,
 *    one append per stream with all its events, 16 appends in flight) — NOT through the command API, which
 *    would add JWT, zod bodies and the aggregates' reads (the history is the same events either way). The
 *    GDPR codec is off (the codec's cost is issue 10's bench). Each stream's events are adjacent in `$all`.
 *    `BENCH_STORE_DB=<name>` keeps that event-store database between runs and only appends what is missing,
 *    so a rerun skips the seed (1M events take minutes to append).
 * 2. The models: `leads` + `contacts` (PostgreSQL) always; with `BENCH_STORES=all` also `search` on
 *    Elasticsearch (ELASTICSEARCH_URL, indices under a per-run prefix) and `analytics_events` on ClickHouse
 *    (CLICKHOUSE_URL, a per-run database). `rebuildModels(…)`: ONE read of the event store, decoded once, into
 *    every shadow, the switch, `--grace 0`. Timed end to end, and per model: the time spent writing its
 *    batches (the models are written side by side, so each store's busy time is what it cost).
 * 3. Raw baselines, per store, of what the rebuild produced (read back, then written again from the client;
 *    only the writes are timed): PostgreSQL multi-row INSERTs of 1,000 rows (every column, bound) into tables
 *    of the same shape and indexes (`LIKE … INCLUDING ALL`); Elasticsearch `_bulk` of the same documents
 *    (1,000 per request, external versions, like the model) into indices of the same settings and mappings;
 *    ClickHouse INSERTs of 50,000 pre-serialised JSONEachRow rows into a generation of the model with its
 *    state views attached (the objects a rebuild's INSERT feeds; the fair baseline, as bench:analytics), and
 *    beside it into the bare fact table (printed, `bareRowsPerS`). Ratio = rebuild rate ÷ raw rate, per row
 *    written (target: ≥ 0.33, i.e. within 3×). Beside each: the CPU seconds each server and this process spent
 *    over the pass and over the raw writes (bench/lib/proc-cpu.ts): on 2 shared cores, where the time went.
 * 4. Live lag: BENCH_RATE appends/s (one event each, like commands) on other streams, with a live projector of
 *    `leads` on the in-process bus: p50/p99 of append → row visible, for BENCH_QUIET_S seconds without a
 *    rebuild, then for as long as `annals replay rebuild <the same models>` runs in its own process (as an
 *    operator runs it; its process start, ~2 s, falls inside the window).
 *
 * 0. (`BENCH_PHASES=alone`) The rebuild rate PER STORE: each store's models rebuilt alone (`rebuildModels` with
 *    that store's targets, the CLI's code path), timed end to end, next to the raw bulk of the rows it wrote.
 *
 * Env: EVENTSTORE_URL, READ_DB_URL (required); BENCH_EVENTS (60000), BENCH_RATE (200), BENCH_STORES
 * (postgres | all), BENCH_STORE_DB (reuse), BENCH_PHASES (rates,lag; also `alone`; `seed` alone only seeds), BENCH_BATCH (2000),
 * BENCH_QUIET_S (15), BENCH_PRIORITY (low | normal: the rebuild process's `--priority`), BENCH_FOLD (on | off: the
 * PostgreSQL batch fold in the in-process rebuild), BENCH_PROFILE (a .cpuprofile of the in-process phases),
 * BENCH_ALONE (postgres,elasticsearch,clickhouse: which stores get an alone row). Each lag phase appends its
 * single-event lead captures to a kept store (about 30,000 a run), so a kept store grows slowly.
 * Per-run databases, indices and ClickHouse database are dropped afterwards. Writes
 * bench/results/replay-rebuild.json.
 */
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { pino } from 'pino';
import { embeddedBus } from '../platform/bus/embedded.js';
import { encodeEvent } from '../platform/bus/message.js';
import { openElasticsearch } from '../platform/elasticsearch/client.js';
import { createEventStore } from '../platform/event-store/event-store.js';
import { postgresEventStore } from '../platform/event-store/postgres/adapter.js';
import { pgClient } from '../platform/sql/client.js';
import { type CpuSample, cpuSample, cpuSince } from './lib/proc-cpu.js';
import { createProjector } from '../projections/kernel/projector.js';
import type { ReadModelTarget } from '../projections/kernel/target.js';
import { contactsProjection } from '../projections/postgres/contacts/projection.js';
import { leadsProjection } from '../projections/postgres/leads/projection.js';
import { postgresReadModelTarget } from '../projections/postgres/target.js';
import { analyticsEventsModel } from '../projections/clickhouse/events/model.js';
import { eventsTable, eventsTableDdl } from '../schemas/read-models/clickhouse/events.js';
import { indexOf, searchIndexMappings, searchIndexSettings } from '../schemas/read-models/elasticsearch/indices.js';
import { searchKinds } from '../schemas/read-models/search/documents.js';
import { openAnalyticsWiring } from '../scripts/cli/commands/start-analytics.js';
import { openSearch } from '../scripts/cli/commands/start-search.js';
import { rebuildModels, type RebuildReport } from '../scripts/replay/rebuild.js';
import { startProfile } from './lib/profile.js';

const need = (n: string) => {
  const v = process.env[n];
  if (!v) throw new Error(`${n} is not set: run \`npx annals stack up\` and \`eval "$(npx annals stack env)"\` first`);
  return v;
};
const EVENTS = Number(process.env.BENCH_EVENTS ?? 60_000);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const BATCH = Number(process.env.BENCH_BATCH ?? 2_000);
const QUIET_S = Number(process.env.BENCH_QUIET_S ?? 15);
const ALL_STORES = (process.env.BENCH_STORES ?? 'postgres') === 'all';
const PHASES = new Set((process.env.BENCH_PHASES ?? 'rates,lag').split(','));
const STORE_DB = process.env.BENCH_STORE_DB;
// The rebuild process's CPU priority (`annals replay rebuild --priority`): low (its default) or normal.
const PRIORITY = process.env.BENCH_PRIORITY ?? 'low';
// BENCH_FOLD=off: the in-process rebuild without the PostgreSQL batch fold (projections/postgres/fold.ts), for an A/B.
const FOLD = process.env.BENCH_FOLD !== 'off';
const log = pino({ level: 'silent' });
/** A generation number no target registers: the fair ClickHouse baseline's table and state views. */
const RAW_GENERATION = 9_999;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (s: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
if (STORE_DB !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(STORE_DB)) throw new Error('BENCH_STORE_DB must be a plain lower-case database name');

const run = randomUUID().replace(/-/g, '').slice(0, 8);
// A fixed tenant, so a kept event store is the same history run after run.
const tenant = 'bench-rebuild';
const base = new URL(need('EVENTSTORE_URL'));
need('READ_DB_URL');
const esUrl = ALL_STORES ? need('ELASTICSEARCH_URL') : undefined;
const chUrl = ALL_STORES ? need('CLICKHOUSE_URL') : undefined;
const urlOf = (db: string) => Object.assign(new URL(base), { pathname: `/${db}` }).toString();
const storeDb = STORE_DB ?? `annals_bench_rb_es_${run}`;
const readDb = `annals_bench_rb_read_${run}`;
const esPrefix = `bench_rb_${run}_`;
const chDatabase = `annals_bench_rb_${run}`;
const meta = () => ({ tenantId: tenant, actor: { userId: 'u1', roles: ['sales' as const] }, correlationId: randomUUID(), causationId: randomUUID(), occurredAt: new Date().toISOString() });

const admin = new pg.Client({ connectionString: base.toString() });
await admin.connect();
const exists = async (db: string) => (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [db])).rowCount === 1;
if (!(await exists(storeDb))) await admin.query(`CREATE DATABASE ${storeDb}`);
await admin.query(`CREATE DATABASE ${readDb}`);
const storeSql = pgClient(urlOf(storeDb), { max: 16 });
const readSql = pgClient(urlOf(readDb), { max: 8 });
const es = esUrl ? openElasticsearch(esUrl) : undefined;
const dataDir = await mkdtemp(join(tmpdir(), 'annals-bench-rebuild-'));
const closers: Array<() => Promise<unknown>> = [];
try {
  const store = createEventStore(await postgresEventStore(storeSql));
  const pgTargets = [postgresReadModelTarget(readSql, leadsProjection, { fold: FOLD }), postgresReadModelTarget(readSql, contactsProjection, { fold: FOLD })];
  const targets: ReadModelTarget[] = [...pgTargets];
  let chEngine: Awaited<ReturnType<typeof openAnalyticsWiring>> | undefined;
  if (ALL_STORES) {
    const search = openSearch({ readSql, elasticsearchUrl: esUrl, indexPrefix: esPrefix, log });
    closers.push(() => search.close());
    chEngine = await openAnalyticsWiring({ readSql, dataDir, settings: { ANALYTICS: 'on', CLICKHOUSE_URL: chUrl, CLICKHOUSE_DATABASE: chDatabase }, log });
    if (!chEngine) throw new Error('analytics did not open');
    const ch = chEngine;
    closers.push(() => ch.close());
    targets.push(search.target, ch.target);
  }
  for (const t of targets) await t.register();
  const models = targets.map((t) => t.name);

  // ── history (skipped when a kept store already has it) ──────────────────────────────────────────
  const stored = async () => Number((await storeSql.query<{ n: string }>(`SELECT count(*)::text AS n FROM annals_events`)).rows[0]!.n);
  const have = await stored();
  if (have < EVENTS) {
    const streams = Math.ceil((EVENTS - have) / 6);
    say(`appending ${streams * 6} events (store ${storeDb} holds ${have})…`);
    const a0 = performance.now();
    let next = 0;
    let done = 0;
    const worker = async () => {
      for (let n = next++; n < streams; n = next++) {
        const lead = randomUUID();
        const contact = randomUUID();
        const k = have + n;
        await store.append(`lead-${lead}`, [
          { type: 'LeadCaptured', data: { leadId: lead, name: `Bench Lead ${k}`, email: `lead${k}@example.com`, company: `Company ${k % 500}`, source: 'web', capturedAt: new Date().toISOString() }, metadata: meta() },
          ...[10, 40, 70].map((s) => ({ type: 'LeadScored', data: { leadId: lead, score: (s + k) % 100, factors: [] }, metadata: meta() })),
        ]);
        await store.append(`contact-${contact}`, [
          { type: 'ContactCreated', data: { contactId: contact, firstName: `First${k}`, lastName: `Last${k}`, email: `c${k}@example.com`, company: `Company ${k % 500}`, customFields: { tier: 'gold' }, tags: ['bench'] }, metadata: meta() },
          { type: 'ContactUpdated', data: { contactId: contact, title: `Title ${k}` }, metadata: meta() },
        ]);
        if (++done % 20_000 === 0) say(`  ${done * 6} events, ${Math.round((done * 6) / ((performance.now() - a0) / 1000))} events/s`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    say(`  ${streams * 6} events in ${((performance.now() - a0) / 1000).toFixed(1)} s (${Math.round((streams * 6) / ((performance.now() - a0) / 1000))} events/s through the store's append)`);
  } else say(`reusing ${storeDb}: ${have} events`);
  const events = await stored();
  const result: Record<string, unknown> = { run, at: new Date().toISOString(), events, stores: ALL_STORES ? 'postgres+elasticsearch+clickhouse' : 'postgres', fold: FOLD, batch: BATCH, storeDb: STORE_DB ?? null };

  // The raw bulk baseline of one store: the rows/documents a rebuild wrote, read back and written again
  // from the client (only the writes timed). Each raw table/index is dropped after it is measured, so the
  // per-store-alone rows and the one-pass row can measure in the same run.
  // CPU seconds each server spent in the timed writes of the raw baselines (summed over their slices).
  const rawCpu: CpuSample = { postgres: 0, elasticsearch: 0, clickhouse: 0, kafka: 0, node: 0 };
  const resetRawCpu = () => Object.keys(rawCpu).forEach((k) => (rawCpu[k as keyof CpuSample] = 0));
  const rawOf = (store: string, r: RebuildReport): Promise<{ rows: number; rawMs: number; bareMs?: number }> =>
    store === 'postgres' ? rawPostgres(r) : store === 'elasticsearch' ? rawElasticsearch(r) : rawClickhouse(r);
  const storesChosen = ALL_STORES ? ['postgres', 'elasticsearch', 'clickhouse'] : ['postgres'];
  const rowLine = (label: string, store: string, rows: number, oursMs: number, rawMs: number) => {
    const ours = rows / (oursMs / 1000);
    const raw = rows / (rawMs / 1000);
    say(`  ${label.padEnd(22)} ${rows} rows: rebuild ${Math.round(ours)} rows/s (${(oursMs / 1000).toFixed(1)} s) · raw ${Math.round(raw)} rows/s (${(rawMs / 1000).toFixed(1)} s) → ${(ours / raw).toFixed(2)}×`);
    return { store, rows, ms: Math.round(oursMs), rawMs: Math.round(rawMs), rebuildRowsPerS: Math.round(ours), rawRowsPerS: Math.round(raw), ratio: round2(ours / raw) };
  };

  // BENCH_PROFILE=<file>: a CPU profile of this process over the in-process rebuild phases (alone, rates).
  const profile = await startProfile(process.env.BENCH_PROFILE);
  if (PHASES.has('alone')) {
    // ── 0. the rebuild rate PER STORE: each store's models rebuilt ALONE (the CLI's code path, one store
    //       chosen), timed end to end (shadow, pass, catch-up, switch), then that store's raw bulk of the
    //       very rows it wrote, in the same run. The honest "rebuild rate per store" of issue 13.
    const alone: unknown[] = [];
    // BENCH_ALONE=clickhouse,…: only these stores' alone rows (default: every store of BENCH_STORES).
    const aloneStores = process.env.BENCH_ALONE ? process.env.BENCH_ALONE.split(',') : storesChosen;
    for (const storeName of storesChosen.filter((x) => aloneStores.includes(x))) {
      const chosen = targets.filter((t) => t.store === storeName);
      say(`rebuilding ${chosen.map((t) => t.name).join(', ')} alone (${storeName})…`);
      const a0 = performance.now();
      const c0 = cpuSample();
      const report = await rebuildModels(chosen, { store, log, controlSql: readSql, batchSize: BATCH, graceMs: 0, onProgress: progressLine() });
      const ms = performance.now() - a0;
      // Where the time went, less noisy than the wall time on shared cores: this process's CPU per 1,000 events.
      const cpu = cpuSince(c0);
      say(`    CPU seconds over the rebuild: ${Object.entries(cpu).map(([k, v]) => `${k} ${v}`).join(', ')} · node ${((cpu.node * 1e6) / report.events).toFixed(1)} ms per 1,000 events`);
      if (!report.switched) throw new Error('rebuild did not switch');
      const { rows, rawMs, bareMs } = await rawOf(storeName, report);
      const storeBusyMs = Math.max(...report.models.map((m) => m.storeBusyMs));
      say(`    (its store busy writing batches ${(storeBusyMs / 1000).toFixed(1)} s of the ${(ms / 1000).toFixed(1)} s; the rest: reading and decoding not overlapped, shadow creation, switch, dropping the old generation)`);
      alone.push({ ...rowLine(`${storeName} alone`, storeName, rows, ms, rawMs), events: report.events, eventsPerS: Math.round(report.events / (ms / 1000)), storeBusyMs, cpuSeconds: cpu, ...(bareMs ? { bareRowsPerS: Math.round(rows / (bareMs / 1000)), ratioBare: round2(bareMs / ms) } : {}) });
    }
    result.alone = alone;
  }

  if (PHASES.has('rates')) {
    // ── 1. the rebuild, no other load ──────────────────────────────────────────────────────────────
    say(`rebuilding ${models.join(', ')} in one pass…`);
    const r0 = performance.now();
    const c0 = cpuSample();
    const report = await rebuildModels(targets, { store, log, controlSql: readSql, batchSize: BATCH, graceMs: 0, onProgress: progressLine() });
    const rebuildMs = performance.now() - r0;
    const passCpu = cpuSince(c0);
    say(`  CPU seconds over the pass: ${Object.entries(passCpu).map(([k, v]) => `${k} ${v}`).join(', ')} (PostgreSQL's include reading the event store)`);
    if (!report.switched) throw new Error('rebuild did not switch');
    say(`rebuild: ${report.events} events in ${(rebuildMs / 1000).toFixed(1)} s (${Math.round(report.events / (rebuildMs / 1000))} events/s, all models)`);

    // ── 2. per store: rows written by the rebuild, then the raw bulk baseline of the same rows ──────
    const perStore: Record<string, unknown> = {};
    const line = (store: string, { rows, rawMs }: { rows: number; rawMs: number }) => {
      const busyMs = busy(store);
      const ours = rows / (busyMs / 1000);
      const raw = rows / (rawMs / 1000);
      // Two readings of "the rebuild's rate" in one pass: its own write time (busy), and the whole pass's wall time.
      const wall = rows / (rebuildMs / 1000);
      perStore[store] = { rows, busyMs: Math.round(busyMs), rawMs: Math.round(rawMs), rebuildRowsPerS: Math.round(ours), wallRowsPerS: Math.round(wall), rawRowsPerS: Math.round(raw), ratio: round2(ours / raw), ratioWall: round2(wall / raw) };
      say(`  ${store.padEnd(13)} ${rows} rows: rebuild ${Math.round(ours)} rows/s (busy ${(busyMs / 1000).toFixed(1)} s; ${Math.round(wall)} rows/s over the whole pass) · raw ${Math.round(raw)} rows/s → ${(ours / raw).toFixed(2)}× (${(wall / raw).toFixed(2)}× by wall time)`);
    };
    const busy = (store: string) => report.models.find((m) => m.store === store)?.storeBusyMs ?? NaN;
    for (const storeName of storesChosen) {
      resetRawCpu();
      line(storeName, await rawOf(storeName, report));
      const server = storeName as keyof CpuSample;
      const rows = (perStore[storeName] as { rows: number }).rows;
      say(`    ${storeName} CPU per 1,000 rows: rebuild ${((passCpu[server] / rows) * 1000).toFixed(3)} s, raw ${((rawCpu[server] / rows) * 1000).toFixed(3)} s`);
      (perStore[storeName] as Record<string, unknown>).cpu = { passS: passCpu[server], rawS: round2(rawCpu[server]) };
    }
    result.passCpu = passCpu;
    result.rebuild = { ms: Math.round(rebuildMs), eventsPerS: Math.round(report.events / (rebuildMs / 1000)), models: report.models.map((m) => ({ name: m.name, store: m.store, applied: m.applied, busyMs: m.busyMs, storeBusyMs: m.storeBusyMs, failures: m.failures.length })) };
    result.perStore = perStore;
  }
  await profile?.stop();

  async function rawPostgres(r: RebuildReport): Promise<{ rows: number; rawMs: number }> {
    let rows = 0;
    let rawMs = 0;
    for (const m of r.models.filter((x) => x.store === 'postgres')) {
      const table = `${m.name}_g${m.generation}`;
      const key = m.name === 'leads' ? 'lead_id' : 'contact_id';
      await readSql.exec(`DROP TABLE IF EXISTS raw_${m.name}; CREATE TABLE raw_${m.name} (LIKE ${table} INCLUDING ALL)`);
      let after = '00000000-0000-0000-0000-000000000000';
      for (;;) {
        // Read outside the timing, 10,000 rows at a time (a 1M history does not fit a client's memory at once).
        const { rows: data } = await readSql.query<Record<string, unknown>>(`SELECT * FROM ${table} WHERE ${key} > $1 ORDER BY ${key} LIMIT 10000`, [after]);
        if (data.length === 0) break;
        after = String(data[data.length - 1]![key]);
        const columns = Object.keys(data[0]!);
        const s0 = performance.now();
        const c0 = cpuSample();
        for (let i = 0; i < data.length; i += 1000) {
          const chunk = data.slice(i, i + 1000);
          const params: unknown[] = [];
          const values = chunk.map((row) => `(${columns.map((c) => (params.push(row[c]), `$${params.length}`)).join(',')})`);
          await readSql.query(`INSERT INTO raw_${m.name} (${columns.join(', ')}) VALUES ${values.join(',')}`, params);
        }
        rawMs += performance.now() - s0;
        rawCpu.postgres += cpuSince(c0).postgres;
        rows += data.length;
      }
      await readSql.exec(`DROP TABLE raw_${m.name}`);
    }
    return { rows, rawMs };
  }

  async function rawElasticsearch(r: RebuildReport): Promise<{ rows: number; rawMs: number }> {
    const m = r.models.find((x) => x.store === 'elasticsearch')!;
    let rows = 0;
    let rawMs = 0;
    for (const kind of searchKinds) {
      const index = indexOf(kind, m.generation, esPrefix);
      const raw = `${esPrefix}raw_${kind}`;
      await es!.indices.create({ index: raw, settings: searchIndexSettings, mappings: searchIndexMappings as never });
      // Searchable before it is read back: the last bulk's documents may not have been refreshed yet.
      await es!.indices.refresh({ index });
      let page = await es!.search<Record<string, unknown>>({ index, scroll: '2m', size: 5_000, sort: ['_doc'] });
      while (page.hits.hits.length > 0) {
        const hits = page.hits.hits;
        const s0 = performance.now();
        const c0 = cpuSample();
        for (let i = 0; i < hits.length; i += 1_000) {
          const b = hits.slice(i, i + 1_000);
          const res = await es!.bulk({ operations: b.flatMap((h) => [{ index: { _index: raw, _id: h._id!, version: Number(h._source!.position), version_type: 'external' as const } }, h._source!]) });
          if (res.errors) throw new Error('raw _bulk refused items');
        }
        rawMs += performance.now() - s0;
        rawCpu.elasticsearch += cpuSince(c0).elasticsearch;
        rows += hits.length;
        page = await es!.scroll<Record<string, unknown>>({ scroll_id: page._scroll_id!, scroll: '2m' });
      }
      if (page._scroll_id) await es!.clearScroll({ scroll_id: page._scroll_id }).catch(() => undefined);
      await es!.indices.delete({ index: raw });
    }
    return { rows, rawMs };
  }

  async function rawClickhouse(r: RebuildReport): Promise<{ rows: number; rawMs: number; bareMs: number }> {
    const m = r.models.find((x) => x.store === 'clickhouse')!;
    const engine = chEngine!.engine;
    const table = eventsTable(m.generation);
    // Two baselines of the same JSONEachRow text in INSERTs of 50,000 rows (the model's own INSERT size):
    // the FAIR one into a generation of the model with its state views attached (what a rebuild's INSERT
    // feeds: the same objects), and the bare fact table without views (the upper bound of the server).
    const rawModel = analyticsEventsModel(engine, { name: 'bench_rebuild_raw' });
    await rawModel.dropGeneration(RAW_GENERATION);
    await rawModel.createGeneration(RAW_GENERATION);
    await engine.command('DROP TABLE IF EXISTS raw_events');
    await engine.command(eventsTableDdl('raw_events'));
    let rows = 0;
    let rawMs = 0;
    let bareMs = 0;
    // In slices of 50,000 rows between position bounds read first (positions are sparse; a FINAL sort of
    // 1M whole rows exceeds the server's memory limit here); a rebuilt generation holds each position once.
    const positions = (await engine.query<{ p: string }>(`SELECT toString(position) AS p FROM ${table} ORDER BY position`)).map((r) => r.p);
    for (let i = 0; i < positions.length; i += 50_000) {
      const lo = positions[i]!;
      const hi = positions[Math.min(positions.length, i + 50_000) - 1]!;
      const data = await engine.query<Record<string, unknown>>(`SELECT * FROM ${table} WHERE position >= ${lo} AND position <= ${hi}`);
      const lines = data.map((x) => JSON.stringify(x)).join('\n');
      const s0 = performance.now();
      const c0 = cpuSample();
      await engine.insertJsonLines(eventsTable(RAW_GENERATION), lines);
      rawMs += performance.now() - s0;
      rawCpu.clickhouse += cpuSince(c0).clickhouse;
      const s1 = performance.now();
      await engine.insertJsonLines('raw_events', lines);
      bareMs += performance.now() - s1;
      rows += data.length;
    }
    await rawModel.dropGeneration(RAW_GENERATION);
    await engine.command('DROP TABLE raw_events');
    say(`    (ClickHouse raw into the bare fact table, no state views: ${Math.round(rows / (bareMs / 1000))} rows/s)`);
    return { rows, rawMs, bareMs };
  }

  if (PHASES.has('lag')) {
    // ── 3. live lag with and without a rebuild running ───────────────────────────────────────────
    const bus = embeddedBus({ partitions: 4 });
    const live = createProjector({ target: pgTargets[0]!, bus, log, topics: ['annals.lead.events'] });
    const stop = new AbortController();
    const running = live.run(stop.signal);
    let published = await store.headPosition();
    const relay = (async () => {
      while (!stop.signal.aborted) {
        const recs = await store.readAllRaw({ after: published, maxCount: 1_000 });
        if (recs.length > 0) {
          await bus.publish(recs.map((r) => ({ topic: 'annals.lead.events', ...encodeEvent(r) })));
          published = recs[recs.length - 1]!.position;
        } else await sleep(5);
      }
    })();
    const lagFor = async (seconds: number, until: () => boolean = () => true): Promise<number[]> => {
      const lags: number[] = [];
      const pending = new Map<string, number>();
      const t0 = performance.now();
      let i = 0;
      let appending = true;
      const reader = (async () => {
        while (appending || pending.size > 0) {
          const ids = [...pending.keys()];
          if (ids.length > 0) {
            const seen = (await readSql.query<{ lead_id: string }>(`SELECT lead_id FROM leads WHERE tenant_id = $1 AND lead_id = ANY($2::uuid[])`, [tenant, ids])).rows;
            const now = performance.now();
            for (const { lead_id } of seen) {
              lags.push(now - pending.get(lead_id)!);
              pending.delete(lead_id);
            }
          }
          await sleep(5);
        }
      })();
      const inflight: Promise<void>[] = [];
      while (performance.now() - t0 < seconds * 1000 || !until()) {
        const due = t0 + (i * 1000) / RATE;
        if (performance.now() < due) await sleep(due - performance.now());
        const lead = randomUUID();
        i++;
        inflight.push(
          store
            .append(`lead-${lead}`, [{ type: 'LeadCaptured', data: { leadId: lead, name: 'Live', source: 'web', capturedAt: new Date().toISOString() }, metadata: meta() }])
            .then(() => void pending.set(lead, performance.now())),
        );
      }
      await Promise.all(inflight);
      appending = false;
      await reader;
      return lags;
    };
    try {
      say(`live lag at ${RATE} appends/s without a rebuild, ${QUIET_S} s…`);
      const quiet = await lagFor(QUIET_S);
      // The rebuild as an operator runs it: `annals replay rebuild` in its own process, against the same stores.
      const cli = fileURLToPath(new URL('../scripts/cli/annals.mjs', import.meta.url));
      say(`live lag during \`annals replay rebuild ${models.join(' ')}\`…`);
      const r1 = performance.now();
      const child = spawn(process.execPath, [cli, 'replay', 'rebuild', ...models, '--grace', '0', '--batch', String(BATCH), '--priority', PRIORITY, '--json'], {
        env: {
          ...process.env,
          EVENTSTORE_URL: urlOf(storeDb),
          READ_DB_URL: urlOf(readDb),
          KAFKA_BROKERS: '',
          DATA_DIR: dataDir,
          PII_ENCRYPTION: 'off',
          ANALYTICS: ALL_STORES ? 'on' : 'off',
          ELASTICSEARCH_URL: esUrl ?? '',
          ELASTICSEARCH_INDEX_PREFIX: esPrefix,
          CLICKHOUSE_URL: chUrl ?? '',
          CLICKHOUSE_DATABASE: chDatabase,
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let childOut = '';
      child.stdout.on('data', (d) => (childOut += String(d)));
      let childErr = '';
      child.stderr.on('data', (d) => (childErr = (childErr + String(d)).slice(-4_000)));
      let childDone = false;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => ((childDone = true), resolve(c))));
      // For as long as the rebuild runs, from its process start to its exit.
      const busyLags = await lagFor(8, () => childDone);
      const code = await exited;
      const elapsedMs = Math.round(performance.now() - r1);
      if (code !== 0) throw new Error(`annals replay rebuild exited ${code}: ${childOut.slice(-2_000)} ${childErr}`);
      const cliReport = JSON.parse(childOut) as { events: number; elapsedMs: number; models: Array<{ name: string; applied: number; busyMs: number; storeBusyMs: number }> };
      result.liveLagMs = {
        rate: RATE,
        rebuildPriority: PRIORITY,
        withoutRebuild: { n: quiet.length, p50: Math.round(pct(quiet, 50)), p99: Math.round(pct(quiet, 99)), max: Math.round(Math.max(...quiet)) },
        duringRebuild: { n: busyLags.length, p50: Math.round(pct(busyLags, 50)), p99: Math.round(pct(busyLags, 99)), max: Math.round(Math.max(...busyLags)) },
      };
      result.cliRebuild = { processMs: elapsedMs, events: cliReport.events, ms: cliReport.elapsedMs, eventsPerS: Math.round(cliReport.events / (cliReport.elapsedMs / 1000)), models: cliReport.models.map((m) => ({ name: m.name, applied: m.applied, busyMs: m.busyMs, storeBusyMs: m.storeBusyMs })) };
      say(`  lag p50/p99: ${JSON.stringify(result.liveLagMs)}`);
      say(`  CLI rebuild under that load: ${cliReport.events} events in ${(cliReport.elapsedMs / 1000).toFixed(1)} s`);
    } finally {
      stop.abort();
      await Promise.all([running, relay]).catch(() => undefined);
      await bus.close();
    }
  }

  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'replay-rebuild.json');
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  if (es) {
    await es.indices.delete({ index: `${esPrefix}*`, ignore_unavailable: true, allow_no_indices: true }).catch(() => undefined);
    await es.close().catch(() => undefined);
  }
  if (chUrl) await dropClickhouseDatabase(chUrl, chDatabase).catch(() => undefined);
  await Promise.allSettled([storeSql.close(), readSql.close()]);
  const drop = STORE_DB ? [readDb] : [readDb, storeDb];
  for (const db of drop) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
  await admin.end();
  await rm(dataDir, { recursive: true, force: true });
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function progressLine() {
  let last = 0;
  return (p: { events: number; elapsedMs: number }) => {
    if (Date.now() - last < 15_000) return;
    last = Date.now();
    say(`  … ${p.events} events, ${Math.round(p.events / (p.elapsedMs / 1000))} events/s`);
  };
}

async function dropClickhouseDatabase(url: string, database: string): Promise<void> {
  const u = new URL(url);
  u.searchParams.set('query', `DROP DATABASE IF EXISTS ${database}`);
  const headers: Record<string, string> = {};
  if (u.username) headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
  u.username = '';
  u.password = '';
  await fetch(u, { method: 'POST', headers });
}

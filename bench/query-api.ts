/**
 * `npm run bench:query` — the GraphQL query API (query-api/service.ts, the real app: jose auth, mercurius,
 * limits, the error formatter, per-request loaders, an info log line per request written to /dev/null) on
 * the PostgreSQL server, next to a bare fastify route returning the SAME JSON from the same SQL statements
 * (no auth, no GraphQL parsing or validation, no loaders: the floor any HTTP read endpoint on these tables
 * pays), in the same run.
 *
 * Workloads, each at 16 and 64 clients (closed loop, HTTP/1.1 keep-alive, autocannon in its own process,
 * bench/load-client.ts):
 * - `contact(id)`: one contact, 11 fields.
 * - `deals(first: 50)` with each deal's contact and stage history (3 statements: the page, the contacts,
 *   the histories; the bare route runs the same three).
 * Each system is its own process (so its peak RSS is its own, VmHWM via bench/lib/rss.ts); rounds
 * interleave the systems (bare, ours / ours, bare) and the median of the rounds is reported, with the
 * ratio ours/bare as the median of the per-round ratios.
 *
 * Data: a database of its own (`annals_bench_query`, recreated), every PostgreSQL read model registered as
 * the projector runtime does, and BENCH_CONTACTS contacts (2000) with BENCH_DEALS deals (5000), each deal
 * moved through two more stages, written through the real projections (projections/postgres).
 *
 * Env: EVENTSTORE_URL or ANNALS_BENCH_PG_URL (else `annals stack env`), BENCH_ROUNDS (2), BENCH_QUICK=1
 * (fewer requests, 16 clients only), BENCH_REUSE=1 (keep `annals_bench_query` when it already holds
 * exactly BENCH_CONTACTS contacts and BENCH_DEALS deals of the bench tenant: no drop, no seed),
 * BENCH_ONLY=<text> (only the workloads whose id contains it, e.g. `deals`), BENCH_CPU_PROF=<dir> (each
 * server process profiles itself from listening to stopping and writes its V8 CPU profile there;
 * `tsx bench/profile-summary.ts <file>` lists the top self-time functions), BENCH_HEAP_PROF=<dir> (the
 * same for allocations, short-lived ones included: a .heapprofile for Chrome DevTools). Writes
 * bench/results/query-api.json and prints a markdown table.
 *
 * Besides latency, each row reports the server's CPU time per request (user + system of the server
 * process over the load, warm-up included, divided by the requests): on a shared, noisy machine the
 * latency of one run swings with the neighbours, the CPU a request costs much less.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import Fastify from 'fastify';
import pg from 'pg';
import { pino } from 'pino';
import { signDevToken } from '../platform/auth/sign.js';
import { createTokenVerifier } from '../platform/auth/verify.js';
import { pgClient, type SqlClient } from '../platform/sql/client.js';
import { registerProjection } from '../projections/kernel/generations.js';
import type { Tables } from '../projections/kernel/projection.js';
import { postgresProjections } from '../projections/postgres/index.js';
import { History } from '../projections/postgres/testing.js';
import { DEFAULT_LIMITS } from '../query-api/config.js';
import { encodeCursor, fingerprint } from '../query-api/graphql/common/connection.js';
import { createQueryApi } from '../query-api/service.js';
import { contactsView, dealsView, dealStageHistoryView } from '../schemas/read-models/postgres/index.js';
import { runLoad, type LoadResult } from './lib/load.js';
import { watchTree } from './lib/rss.js';
import { resolveServerUrl } from './lib/setup.js';
import { summarize } from './lib/stats.js';

const here = dirname(fileURLToPath(import.meta.url));
const DB = 'annals_bench_query';
const TENANT = 'tenant-bench';
const AUTH = { issuer: 'annals-bench', audience: 'annals-bench-api' };

export const CONTACT_QUERY = `query Contact($id: ID!) { contact(id: $id) { id firstName lastName email phone company title tags status createdAt updatedAt } }`;
export const DEALS_QUERY = `query Deals { deals(first: 50) {
  edges { cursor node {
    id name stage probability status value { minor currency } expectedCloseDate updatedAt
    contact { id firstName lastName email company }
    stageHistory { change fromStage toStage probability at }
  } }
  pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
} }`;

function dbUrl(server: string): string {
  const u = new URL(server);
  u.pathname = `/${DB}`;
  return u.toString();
}

// ── the servers (child processes) ──────────────────────────────────────────────────────────────────

const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : new Date(String(d)).toISOString());
type Row = Record<string, unknown>;

/** The bare route: the same statements as the query API's resolvers and loaders, the same JSON, nothing else. */
export async function serveBare(sql: SqlClient): Promise<ReturnType<typeof Fastify>> {
  const app = Fastify();
  const contactJson = (c: Row) => ({
    id: c.contact_id,
    firstName: c.first_name,
    lastName: c.last_name,
    email: c.email,
    phone: c.phone,
    company: c.company,
    title: c.title,
    tags: c.tags,
    status: String(c.status).toUpperCase(),
    createdAt: iso(c.created_at),
    updatedAt: iso(c.updated_at),
  });
  const fp = fingerprint({ name: 'deals', view: dealsView.name, idColumn: 'deal_id' }, {}, { name: 'UPDATED_AT', expr: 't.updated_at', cast: 'timestamptz', direction: 'DESC' });
  app.post('/graphql', async (request) => {
    const body = request.body as { variables?: { id?: string } };
    if (body.variables?.id) {
      const { rows } = await sql.query<Row>(`SELECT t.* FROM ${contactsView.name} t WHERE t.tenant_id = $1 AND t.contact_id = ANY($2::uuid[])`, [TENANT, [body.variables.id]]);
      return { data: { contact: rows[0] ? contactJson(rows[0]) : null } };
    }
    const { rows } = await sql.query<Row>(
      `SELECT t.*, t.expected_close_date::text AS expected_close_day, to_json(t.updated_at) #>> '{}' AS "__sort" FROM ${dealsView.name} t WHERE t.tenant_id = $1
       ORDER BY t.updated_at DESC, t.deal_id DESC LIMIT $2`,
      [TENANT, 51],
    );
    const page = rows.slice(0, 50);
    const contactIds = [...new Set(page.map((d) => String(d.contact_id)))];
    const dealIds = page.map((d) => String(d.deal_id));
    const [contacts, history] = await Promise.all([
      sql.query<Row>(`SELECT t.* FROM ${contactsView.name} t WHERE t.tenant_id = $1 AND t.contact_id = ANY($2::uuid[])`, [TENANT, contactIds]),
      sql.query<Row>(`SELECT * FROM ${dealStageHistoryView.name} t WHERE t.tenant_id = $1 AND t.deal_id = ANY($2::uuid[]) ORDER BY t.deal_id, t.position`, [TENANT, dealIds]),
    ]);
    const byContact = new Map(contacts.rows.map((c) => [String(c.contact_id), c]));
    const byDeal = new Map<string, Row[]>();
    for (const h of history.rows) byDeal.set(String(h.deal_id), [...(byDeal.get(String(h.deal_id)) ?? []), h]);
    const edges = page.map((d) => {
      const c = byContact.get(String(d.contact_id));
      return {
        cursor: encodeCursor(fp, String(d.__sort), String(d.deal_id)),
        node: {
          id: d.deal_id,
          name: d.name,
          stage: d.stage,
          probability: Number(d.probability),
          status: String(d.status).toUpperCase(),
          value: { minor: Number(d.value_minor), currency: d.currency },
          expectedCloseDate: d.expected_close_day,
          updatedAt: iso(d.updated_at),
          contact: c ? { id: c.contact_id, firstName: c.first_name, lastName: c.last_name, email: c.email, company: c.company } : null,
          stageHistory: (byDeal.get(String(d.deal_id)) ?? []).map((h) => ({
            change: h.change,
            fromStage: h.from_stage,
            toStage: h.to_stage,
            probability: Number(h.probability),
            at: iso(h.at),
          })),
        },
      };
    });
    return {
      data: {
        deals: {
          edges,
          pageInfo: { hasNextPage: rows.length > 50, hasPreviousPage: false, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
        },
      },
    };
  });
  return app;
}

async function serve(system: 'bare' | 'ours', server: string, secret: string): Promise<void> {
  const sql = pgClient(dbUrl(server), { max: 64, applicationName: `annals-bench-query-${system}` });
  let app;
  if (system === 'bare') app = await serveBare(sql);
  else {
    const verifier = createTokenVerifier({ keys: { kind: 'secret', secret }, ...AUTH });
    // The real service's logging: an info line per request, to /dev/null.
    const logger = pino({ level: 'info', name: 'query-api' }, pino.destination('/dev/null'));
    app = (await createQueryApi({ readSql: sql, verifier, logger, limits: { ...DEFAULT_LIMITS, graphiql: false, rateLimit: { maxPerWindow: 100_000_000, windowMs: 60_000 } }, ownsReadSql: true })).app;
  }
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('not listening');
  // Profiled from here on: serving, not start-up (module loading would be most of a short run's profile).
  const profileDir = process.env.BENCH_CPU_PROF;
  const heapDir = process.env.BENCH_HEAP_PROF;
  const profiler = profileDir || heapDir ? new Session() : undefined;
  if (profiler) profiler.connect();
  if (profiler && profileDir) {
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  if (profiler && heapDir) {
    await profiler.post('HeapProfiler.enable');
    // Every allocation sampled, short-lived ones included: what the young-generation GC pays for.
    await profiler.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  }
  process.send?.({ url: `http://127.0.0.1:${address.port}` });
  process.on('message', async (m) => {
    if (m === 'cpu') process.send?.({ cpu: process.cpuUsage() });
    if (m === 'stop') {
      if (profiler && profileDir) {
        const { profile } = await profiler.post('Profiler.stop');
        const file = join(profileDir, `query-api-${system}-${Date.now()}.cpuprofile`);
        await mkdir(profileDir, { recursive: true });
        await writeFile(file, JSON.stringify(profile));
        console.error(`CPU profile of ${system}: ${file}`);
      }
      if (profiler && heapDir) {
        const { profile } = await profiler.post('HeapProfiler.stopSampling');
        const file = join(heapDir, `query-api-${system}-${Date.now()}.heapprofile`);
        await mkdir(heapDir, { recursive: true });
        await writeFile(file, JSON.stringify(profile));
        console.error(`allocation profile of ${system}: ${file}`);
      }
      await app.close();
      if (system === 'bare') await sql.close();
      process.exit(0);
    }
  });
}

// ── seeding ────────────────────────────────────────────────────────────────────────────────────────

const uuid = (kind: number, n: number) => `0000000${kind}-0000-7000-8000-${n.toString().padStart(12, '0')}`;

/** Whether the bench database already holds exactly this dataset (BENCH_REUSE=1 then skips the seed). */
async function seeded(server: string, contacts: number, deals: number): Promise<boolean> {
  const admin = new pg.Client({ connectionString: server, application_name: 'annals-bench' });
  await admin.connect();
  try {
    if (!(await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB])).rowCount) return false;
  } finally {
    await admin.end();
  }
  const sql = pgClient(dbUrl(server), { max: 1, applicationName: 'annals-bench-seed' });
  try {
    const count = async (view: string) => Number((await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${view} WHERE tenant_id = $1`, [TENANT])).rows[0]?.n);
    return (await count(contactsView.name)) === contacts && (await count(dealsView.name)) === deals;
  } catch {
    return false; // a view missing (another model version): seed anew
  } finally {
    await sql.close();
  }
}

async function seed(server: string, contacts: number, deals: number): Promise<{ contactId: string; reused: boolean }> {
  if (process.env.BENCH_REUSE === '1' && (await seeded(server, contacts, deals))) return { contactId: uuid(1, Math.floor(contacts / 2)), reused: true };
  const admin = new pg.Client({ connectionString: server, application_name: 'annals-bench' });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${DB}`);
  } finally {
    await admin.end();
  }
  const sql = pgClient(dbUrl(server), { max: 4, applicationName: 'annals-bench-seed' });
  try {
    const live: { p: (typeof postgresProjections)[number]; tables: Tables; types: Set<string> }[] = [];
    for (const p of postgresProjections) live.push({ p, tables: (await registerProjection(sql, p)).tables, types: new Set<string>(p.eventTypes) });
    const h = new History({ tenantId: TENANT, userId: 'user-bench' });
    for (let i = 0; i < contacts; i++) {
      h.append(`contact-${uuid(1, i)}`, 'ContactCreated', {
        contactId: uuid(1, i),
        firstName: `Margaret${i}`,
        lastName: 'Oyelaran-Whitfield',
        email: `margaret.${i}@northwind-logistics.example`,
        phone: '+44 20 7946 0958',
        company: 'Northwind Logistics Ltd',
        title: 'Head of Fleet Operations',
        customFields: { region: 'EMEA' },
        tags: ['logistics', 'webinar'],
      } as never);
    }
    for (let i = 0; i < deals; i++) {
      const id = uuid(2, i);
      h.append(`deal-${id}`, 'DealOpened', {
        dealId: id,
        name: `Fleet CRM pilot ${i}`,
        contactId: uuid(1, i % contacts),
        value: { amountMinor: 1_000_000 + i, currency: 'EUR' },
        pipeline: 'default',
        stage: 'prospecting',
        probability: 10,
        expectedCloseDate: '2026-06-30',
        ownerId: 'user-bench',
      } as never);
      h.append(`deal-${id}`, 'DealStageMoved', { from: 'prospecting', to: 'qualification', probability: 20 } as never);
      h.append(`deal-${id}`, 'DealStageMoved', { from: 'qualification', to: 'proposal', probability: 50 } as never);
    }
    const events = h.events;
    for (let i = 0; i < events.length; i += 500) {
      await sql.transaction(async (tx) => {
        for (const event of events.slice(i, i + 500)) {
          for (const { p, tables, types } of live) {
            if (!types.has(event.type)) continue;
            for (const s of p.project(event, tables)) await tx.query(s.sql, s.params);
          }
        }
      });
    }
    await sql.exec('ANALYZE');
    return { contactId: uuid(1, Math.floor(contacts / 2)), reused: false };
  } finally {
    await sql.close();
  }
}

// ── the coordinator ────────────────────────────────────────────────────────────────────────────────

interface Server {
  readonly system: 'bare' | 'ours';
  readonly child: ChildProcess;
  readonly url: string;
  readonly rss: ReturnType<typeof watchTree>;
}

/**
 * The node flags scripts/cli/annals.mjs gives the processes that serve GraphQL (`start`, `query-api`): a
 * 32 MB young generation. Both servers get them, so the ratio compares code, not runtimes.
 */
const SERVICE_NODE_FLAGS = ['--max-semi-space-size=32'];

function start(system: 'bare' | 'ours', server: string, secret: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    // The token secret goes by environment, not argv (visible in ps).
    const child = fork(fileURLToPath(import.meta.url), ['serve', system, server], { execArgv: [...SERVICE_NODE_FLAGS, '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, BENCH_QUERY_SECRET: secret } });
    const rss = watchTree(child.pid!);
    child.once('message', (m: { url: string }) => resolve({ system, child, url: m.url, rss }));
    child.once('exit', (code) => reject(new Error(`${system} server exited with ${code}`)));
  });
}

/** The server process's CPU time so far (user + system), in microseconds. */
function cpuMicros(s: Server): Promise<number> {
  return new Promise((resolve) => {
    const on = (m: unknown) => {
      if (m === null || typeof m !== 'object' || !('cpu' in m)) return;
      s.child.off('message', on);
      const { user, system } = (m as { cpu: NodeJS.CpuUsage }).cpu;
      resolve(user + system);
    };
    s.child.on('message', on);
    s.child.send('cpu');
  });
}

type Measured = LoadResult & { readonly cpuMsPerRequest: number };

async function main(): Promise<void> {
  const quick = process.env.BENCH_QUICK === '1';
  const rounds = Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 2));
  const contacts = Number(process.env.BENCH_CONTACTS ?? 2000);
  const deals = Number(process.env.BENCH_DEALS ?? 5000);
  const server = resolveServerUrl();
  const secret = randomBytes(32).toString('base64url');
  const t0 = Date.now();
  const { contactId, reused } = await seed(server, contacts, deals);
  console.error(`${reused ? 'reused' : 'seeded'} ${contacts} contacts and ${deals} deals (${deals * 3} deal events) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const token = await signDevToken({ secret, ...AUTH, tenant: TENANT, sub: 'user-bench', roles: ['sales'], ttlSeconds: 7200 });
  const servers = { bare: await start('bare', server, secret), ours: await start('ours', server, secret) };

  const workloads = [
    { id: 'contact(id)', body: { query: CONTACT_QUERY, variables: { id: contactId } }, amount: quick ? 2_000 : 10_000 },
    { id: 'deals(first: 50) + contact + stage history', body: { query: DEALS_QUERY }, amount: quick ? 300 : 2_000 },
  ].filter((w) => w.id.includes(process.env.BENCH_ONLY ?? ''));
  // The same JSON from both: the bare route is a fair floor only if it answers exactly what ours does.
  for (const w of workloads) {
    const answers = await Promise.all(
      Object.values(servers).map(async (s) => (await fetch(`${s.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(w.body) })).json()),
    );
    if (!isDeepStrictEqual(answers[0], answers[1])) throw new Error(`${w.id}: the bare route and the query API answer different JSON:\n${JSON.stringify(answers[0]).slice(0, 400)}\n${JSON.stringify(answers[1]).slice(0, 400)}`);
  }

  const clients = quick ? [16] : [16, 64];
  const results: Record<string, { bare: Measured[]; ours: Measured[]; ratios: number[]; cpuRatios: number[] }> = {};
  for (let round = 0; round < rounds; round++) {
    for (const w of workloads) {
      for (const c of clients) {
        const key = `${w.id} @ ${c}`;
        const r = (results[key] ??= { bare: [], ours: [], ratios: [], cpuRatios: [] });
        const order = (round % 2 === 0 ? ['bare', 'ours'] : ['ours', 'bare']) as ('bare' | 'ours')[];
        const got: Partial<Record<'bare' | 'ours', Measured>> = {};
        for (const system of order) {
          const warmup = Math.ceil(w.amount / 10);
          const cpuBefore = await cpuMicros(servers[system]);
          const load = await runLoad({ url: servers[system].url, path: '/graphql', token, body: w.body, connections: c, warmup, amount: w.amount });
          got[system] = { ...load, cpuMsPerRequest: ((await cpuMicros(servers[system])) - cpuBefore) / 1000 / (warmup + w.amount) };
          r[system].push(got[system]!);
        }
        r.ratios.push(got.ours!.p95Ms / got.bare!.p95Ms);
        r.cpuRatios.push(got.ours!.cpuMsPerRequest / got.bare!.cpuMsPerRequest);
        const line = (m: Measured) => `p95 ${m.p95Ms.toFixed(1)} ms ${m.commandsPerSec.toFixed(0)} req/s ${m.cpuMsPerRequest.toFixed(2)} CPU ms/req`;
        console.error(`round ${round + 1} ${key}: bare ${line(got.bare!)} | ours ${line(got.ours!)}`);
      }
    }
  }
  const rss: Record<string, number> = {};
  for (const s of Object.values(servers)) {
    rss[s.system] = s.rss.stop().servicePeaks;
    s.child.send('stop');
    await new Promise((r) => s.child.once('exit', r));
  }

  const med = (xs: Measured[], f: (x: Measured) => number, digits = 1) => Math.round(summarize(xs.map(f))!.median * 10 ** digits) / 10 ** digits;
  const figures = (xs: Measured[]) => ({
    p50Ms: med(xs, (x) => x.p50Ms),
    p95Ms: med(xs, (x) => x.p95Ms),
    p99Ms: med(xs, (x) => x.p99Ms),
    reqPerSec: Math.round(med(xs, (x) => x.commandsPerSec)),
    cpuMsPerRequest: med(xs, (x) => x.cpuMsPerRequest, 2),
  });
  const rows = Object.entries(results).map(([key, r]) => ({
    workload: key,
    ours: figures(r.ours),
    bare: figures(r.bare),
    p95Ratio: Math.round(summarize(r.ratios)!.median * 100) / 100,
    cpuRatio: Math.round(summarize(r.cpuRatios)!.median * 100) / 100,
  }));
  const out = { when: new Date().toISOString(), rounds, contacts, deals, quick, loadAverage: loadavg(), rssPeakBytes: rss, rows };
  await mkdir(join(here, 'results'), { recursive: true });
  await writeFile(join(here, 'results', 'query-api.json'), `${JSON.stringify(out, null, 2)}\n`);
  const mb = (b: number | undefined) => `${Math.round((b ?? 0) / 1024 / 1024)} MB`;
  console.log(`| workload | ours p50 / p95 / p99 ms | ours req/s | ours CPU ms/req | bare p50 / p95 / p99 ms | bare req/s | bare CPU ms/req | p95 ours/bare | CPU ours/bare |`);
  console.log(`|---|---|---|---|---|---|---|---|---|`);
  for (const r of rows) {
    const f = (x: ReturnType<typeof figures>) => `${x.p50Ms} / ${x.p95Ms} / ${x.p99Ms} | ${x.reqPerSec} | ${x.cpuMsPerRequest}`;
    console.log(`| ${r.workload} | ${f(r.ours)} | ${f(r.bare)} | ${r.p95Ratio}× | ${r.cpuRatio}× |`);
  }
  console.log(`\npeak RSS: query API ${mb(rss.ours)}, bare route ${mb(rss.bare)} (${rounds} round(s), ${contacts} contacts, ${deals} deals, load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
}

// Run only as a script (`tsx bench/query-api.ts`), never when imported (a profile script takes the queries).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv[2] === 'serve') await serve(process.argv[3] as 'bare' | 'ours', process.argv[4]!, process.env.BENCH_QUERY_SECRET ?? '');
  else await main();
}

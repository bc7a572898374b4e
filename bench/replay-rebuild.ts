/**
 * `npm run bench:rebuild` — `annals replay rebuild` on the real PostgreSQL server (`annals stack up`, then
 * `eval "$(npx annals stack env)"`), with the REAL `leads` and `contacts` read models, next to the raw bulk
 * rate of the same rows in the same run:
 *
 * 1. N events in the event store (a lead stream: LeadCaptured + 3 LeadScored; a contact stream:
 *    ContactCreated + ContactUpdated), in a database of its own; the two models registered in a read
 *    database of their own.
 * 2. `rebuildModels([leads, contacts])`: one read of the event store, decoded once, into both shadows, the
 *    switch, `--grace 0`. Timed end to end (shadows, passes, switches, drop of the old generations).
 * 3. Raw baseline: the rows the rebuild produced, inserted again from the client into tables of the same
 *    shape and indexes (`LIKE … INCLUDING ALL`), multi-row INSERTs of 1 000 rows (every column, bound), no
 *    bookkeeping; and `COPY … FROM STDIN`-equivalent server speed is NOT used: both sides pay the client
 *    round trips. Ratio = raw rows/s ÷ rebuild rows/s (target: within 3×).
 * 4. Live lag during a rebuild: BENCH_RATE appends/s (one event each, like commands) on other streams while
 *    `annals replay rebuild leads contacts` runs in its own process (as an operator runs it), with a live
 *    projector of `leads` on the in-process bus: p50/p99 of append → row visible, next to the same load
 *    without a rebuild (the CLI process start, ~2 s, falls inside the window).
 *
 * Env: EVENTSTORE_URL, READ_DB_URL (required); BENCH_EVENTS (60000), BENCH_RATE (200). Databases are
 * dropped afterwards. Writes bench/results/replay-rebuild.json.
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
import { createEventStore } from '../platform/event-store/event-store.js';
import { postgresEventStore } from '../platform/event-store/postgres/adapter.js';
import { pgClient } from '../platform/sql/client.js';
import { createProjector } from '../projections/kernel/projector.js';
import { contactsProjection } from '../projections/postgres/contacts/projection.js';
import { leadsProjection } from '../projections/postgres/leads/projection.js';
import { postgresReadModelTarget } from '../projections/postgres/target.js';
import { rebuildModels } from '../scripts/replay/rebuild.js';

const need = (n: string) => {
  const v = process.env[n];
  if (!v) throw new Error(`${n} is not set: run \`npx annals stack up\` and \`eval "$(npx annals stack env)"\` first`);
  return v;
};
const EVENTS = Number(process.env.BENCH_EVENTS ?? 60_000);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const log = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

const run = randomUUID().replace(/-/g, '').slice(0, 8);
const tenant = `bench-${run}`;
const base = new URL(need('EVENTSTORE_URL'));
need('READ_DB_URL');
const urlOf = (db: string) => Object.assign(new URL(base), { pathname: `/${db}` }).toString();
const dbs = [`annals_bench_rb_es_${run}`, `annals_bench_rb_read_${run}`];
const meta = () => ({ tenantId: tenant, actor: { userId: 'u1', roles: ['sales' as const] }, correlationId: randomUUID(), causationId: randomUUID(), occurredAt: new Date().toISOString() });

const admin = new pg.Client({ connectionString: base.toString() });
await admin.connect();
for (const db of dbs) await admin.query(`CREATE DATABASE ${db}`);
const storeSql = pgClient(urlOf(dbs[0]!), { max: 8 });
const readSql = pgClient(urlOf(dbs[1]!), { max: 8 });
try {
  const store = createEventStore(await postgresEventStore(storeSql));
  const targets = [postgresReadModelTarget(readSql, leadsProjection), postgresReadModelTarget(readSql, contactsProjection)];
  for (const t of targets) await t.register();

  // ── history ──────────────────────────────────────────────────────────────────────────────────────
  process.stdout.write(`appending ${EVENTS} events…\n`);
  const streams = Math.ceil(EVENTS / 6.5);
  const a0 = performance.now();
  for (let i = 0; i < streams; i += 32) {
    await Promise.all(
      Array.from({ length: Math.min(32, streams - i) }, async (_, j) => {
        const n = i + j;
        const lead = randomUUID();
        const contact = randomUUID();
        await store.append(`lead-${lead}`, [
          { type: 'LeadCaptured', data: { leadId: lead, name: `Bench Lead ${n}`, email: `lead${n}@example.com`, company: `Company ${n % 500}`, source: 'web', capturedAt: new Date().toISOString() }, metadata: meta() },
          ...[10, 40, 70].map((s) => ({ type: 'LeadScored', data: { leadId: lead, score: (s + n) % 100, factors: [] }, metadata: meta() })),
        ]);
        await store.append(`contact-${contact}`, [
          { type: 'ContactCreated', data: { contactId: contact, firstName: `First${n}`, lastName: `Last${n}`, email: `c${n}@example.com`, company: `Company ${n % 500}`, customFields: { tier: 'gold' }, tags: ['bench'] }, metadata: meta() },
          { type: 'ContactUpdated', data: { contactId: contact, title: `Title ${n}` }, metadata: meta() },
        ]);
      }),
    );
  }
  const events = streams * 6;
  process.stdout.write(`  ${events} events in ${((performance.now() - a0) / 1000).toFixed(1)} s\n`);

  // ── 1. the rebuild, no other load ────────────────────────────────────────────────────────────────
  const r0 = performance.now();
  const report = await rebuildModels(targets, { store, log, controlSql: readSql, batchSize: 2_000, graceMs: 0 });
  const rebuildMs = performance.now() - r0;
  const rows: Record<string, number> = {};
  for (const t of targets) rows[t.name] = Number((await readSql.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${t.name}`)).rows[0]!.n);
  const totalRows = rows.leads! + rows.contacts!;
  process.stdout.write(`rebuild: ${report.events} events, ${totalRows} rows in ${(rebuildMs / 1000).toFixed(2)} s\n`);

  // ── 2. raw baseline: the same rows, client multi-row INSERTs into same-shaped tables ────────────
  let rawMs = 0;
  for (const t of targets) {
    const live = (await t.live())!;
    const table = `${t.name}_g${live.generation}`;
    const { rows: data } = await readSql.query<Record<string, unknown>>(`SELECT * FROM ${table}`);
    const columns = Object.keys(data[0]!);
    await readSql.exec(`CREATE TABLE raw_${t.name} (LIKE ${table} INCLUDING ALL)`);
    const s0 = performance.now();
    for (let i = 0; i < data.length; i += 1000) {
      const chunk = data.slice(i, i + 1000);
      const params: unknown[] = [];
      const values = chunk.map((r) => `(${columns.map((c) => (params.push(r[c]), `$${params.length}`)).join(',')})`);
      await readSql.query(`INSERT INTO raw_${t.name} (${columns.join(', ')}) VALUES ${values.join(',')}`, params);
    }
    rawMs += performance.now() - s0;
  }
  const rebuildRowsPerS = totalRows / (rebuildMs / 1000);
  const rawRowsPerS = totalRows / (rawMs / 1000);
  process.stdout.write(`raw INSERT of the same rows: ${(rawMs / 1000).toFixed(2)} s\n`);

  // ── 3. live lag with and without a rebuild running ─────────────────────────────────────────────
  const bus = embeddedBus({ partitions: 4 });
  const live = createProjector({ target: targets[0]!, bus, log, topics: ['annals.lead.events'] });
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
  const quiet = await lagFor(8);
  // The rebuild as an operator runs it: `annals replay rebuild` in its own process, against the same databases.
  const cli = fileURLToPath(new URL('../scripts/cli/annals.mjs', import.meta.url));
  const dataDir = await mkdtemp(join(tmpdir(), 'annals-bench-rebuild-'));
  const r1 = performance.now();
  const child = spawn(process.execPath, [cli, 'replay', 'rebuild', 'leads', 'contacts', '--grace', '0', '--batch', '2000'], {
    env: { ...process.env, EVENTSTORE_URL: urlOf(dbs[0]!), READ_DB_URL: urlOf(dbs[1]!), KAFKA_BROKERS: '', DATA_DIR: dataDir, PII_ENCRYPTION: 'off', ANALYTICS: 'off', ELASTICSEARCH_URL: '', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let childOut = '';
  child.stdout.on('data', (d) => (childOut += String(d)));
  child.stderr.on('data', (d) => (childOut += String(d)));
  let childDone = false;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => ((childDone = true), resolve(c))));
  // For as long as the rebuild runs, from its process start to its exit.
  const busy = await lagFor(8, () => childDone);
  const code = await exited;
  const second = { elapsedMs: Math.round(performance.now() - r1), events: Number(/(\d+) events read once/.exec(childOut)?.[1] ?? NaN) };
  if (code !== 0) throw new Error(`annals replay rebuild exited ${code}: ${childOut}`);
  await rm(dataDir, { recursive: true, force: true });
  stop.abort();
  await Promise.all([running, relay]);
  await bus.close();

  const result = {
    run,
    at: new Date().toISOString(),
    events,
    rows,
    rebuild: { ms: Math.round(rebuildMs), eventsPerS: Math.round(events / (rebuildMs / 1000)), rowsPerS: Math.round(rebuildRowsPerS) },
    raw: { ms: Math.round(rawMs), rowsPerS: Math.round(rawRowsPerS) },
    rawOverRebuild: Number((rawRowsPerS / rebuildRowsPerS).toFixed(2)),
    liveLagMs: {
      rate: RATE,
      withoutRebuild: { n: quiet.length, p50: Math.round(pct(quiet, 50)), p99: Math.round(pct(quiet, 99)) },
      duringRebuild: { n: busy.length, p50: Math.round(pct(busy, 50)), p99: Math.round(pct(busy, 99)), rebuildMs: second.elapsedMs, rebuildEvents: second.events },
    },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'replay-rebuild.json');
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await Promise.allSettled([storeSql.close(), readSql.close()]);
  for (const db of dbs) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
  await admin.end();
}

/**
 * `npm run bench:projection` — the PostgreSQL projector on the real servers (`annals stack up`, then
 * `eval "$(npx annals stack env)"`), with the REAL `leads` read model (projections/postgres/leads). Same
 * run, same servers:
 *
 * 1. Catch-up throughput: N LeadCaptured events (one new lead — one new data subject — each) already on
 *    Kafka, a fresh consumer group applies them (one transaction per group of partition batches: rows +
 *    offsets + revision guard + position), events/s into PostgreSQL — next to a raw multi-row INSERT of the
 *    same N rows (every column, as the projector wrote them) into a table of the same shape and indexes
 *    (`LIKE … INCLUDING ALL`), 1 000 rows per statement, no bookkeeping, and the ratio. The projector's rate
 *    is timed from its first batch (the consumer group has joined) to the last row visible; the group join
 *    is reported apart (`joinMs`), a fixed start-up cost, not throughput.
 *    With `BENCH_PII=both` the same catch-up with the GDPR codec on (platform/pii): the events were appended
 *    through the codec (personal fields encrypted, one key per lead), relayed as ciphertext, and the projector
 *    decrypts them through the store's reader with a cold key cache (a fresh key store per round).
 *    BENCH_ROUNDS rounds (default 3), each on fresh read databases, codec off and on in alternating order,
 *    each followed by its raw INSERT: the machine is shared and noisy, so every figure is a ratio taken in
 *    the same round, and the summary is the median of the per-round ratios.
 * 2. End-to-end lag (BENCH_SECONDS > 0): appends at a steady rate (default 200/s, one event each, like a
 *    command) → relay (its own event store connection, polling like a separate service) → Kafka →
 *    projector; the time from the append's return to the row being visible to a reader polling every 5 ms;
 *    p50/p99, and where the time goes (append → publish acknowledged → batch received by the projector →
 *    batch committed), from timestamps taken around the bus. On an event store and topics of its own.
 *
 * The dataset (event stores in clear and encrypted, the key tables, this run's Kafka topics) is loaded
 * once per run. `BENCH_KEEP=1` keeps it and writes where it is to $TMPDIR/annals-bench-projection.json;
 * `BENCH_REUSE=1` runs the rounds on that dataset without loading it again (same BENCH_EVENTS). Read models
 * live in databases of their own on the READ_DB_URL server, created per round and dropped, so the shared
 * read database is never touched.
 *
 * Env: EVENTSTORE_URL, READ_DB_URL, KAFKA_BROKERS (required); BENCH_EVENTS (20000), BENCH_ROUNDS (3),
 * BENCH_RATE (200), BENCH_SECONDS (15; 0 skips the lag), BENCH_PII (off | both; default off), BENCH_KEEP,
 * BENCH_REUSE, BENCH_SERIAL (1: each round also runs the projector with its pipelining off, `off-serial` /
 * `on-serial`, for the gain of pipelining in the same run), BENCH_PROFILE (a file: a CPU profile of this process
 * during the first encrypted catch-up), BENCH_TX_MAX (the projector's maxMessagesPerTransaction; default its own).
 * Writes bench/results/projection-catchup.json (bench/results/projection-catchup-pii.json with BENCH_PII).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { kafkaBus } from '../platform/bus/kafka.js';
import type { Bus } from '../platform/bus/port.js';
import { allEventsTopics, eventsTopic } from '../platform/bus/topics.js';
import { createEventStore, type EventStore } from '../platform/event-store/event-store.js';
import { postgresEventStore } from '../platform/event-store/postgres/adapter.js';
import { pgClient, type SqlClient } from '../platform/sql/client.js';
import { createEventReader } from '../platform/event-store/read-events.js';
import { createPiiCodec } from '../platform/pii/codec.js';
import { sqlKeyStore } from '../platform/pii/key-store.js';
import { parseMasterKey } from '../platform/pii/master-key.js';
import { registerProjection } from '../projections/kernel/generations.js';
import { createProjector } from '../projections/kernel/projector.js';
import { leadsProjection } from '../projections/postgres/leads/projection.js';
import { sqlRelayCheckpoint } from '../write-side/relay/checkpoint.js';
import { newRelayStats, runRelay } from '../write-side/relay/relay.js';
import { deleteTopics, privateTopics } from './lib/kafka-topics.js';
import { startProfile } from './lib/profile.js';

const need = (n: string) => {
  const v = process.env[n];
  if (!v) throw new Error(`${n} is not set: run \`npx annals stack up\` and \`eval "$(npx annals stack env)"\` first`);
  return v;
};
const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const PII = (process.env.BENCH_PII ?? 'off') as 'off' | 'both';
if (!['off', 'both'].includes(PII)) throw new Error('BENCH_PII must be off or both');
const KEEP = process.env.BENCH_KEEP === '1';
const REUSE = process.env.BENCH_REUSE === '1';
const SERIAL = process.env.BENCH_SERIAL === '1';
const TX_MAX = process.env.BENCH_TX_MAX ? Number(process.env.BENCH_TX_MAX) : undefined;
const STATE_FILE = join(tmpdir(), 'annals-bench-projection.json');
const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const run = randomUUID().replace(/-/g, '').slice(0, 10);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const meta = (tenantId: string) => ({ tenantId, actor: { userId: 'bench', roles: ['sales' as const] }, correlationId: 'b', causationId: 'b', occurredAt: new Date().toISOString() });
// A realistic capture: the fields a web form sends, so rows have the width of real ones.
const capture = (leadId: string, i: number, tenantId: string) => ({
  type: 'LeadCaptured',
  data: {
    leadId,
    name: `Bench Lead ${i}`,
    email: `lead${i}@example.com`,
    phone: '+1 555 0100',
    company: `Company ${i % 500}`,
    source: 'web',
    campaign: `campaign-${i % 20}`,
    notes: 'Asked for a demo of the enterprise plan',
    capturedAt: new Date().toISOString(),
  },
  metadata: { ...meta(tenantId), subjectId: leadId },
});
const pct = (xs: readonly number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const ms = (x: number) => +x.toFixed(1);
const leadOfKey = (key: string | null) => key?.slice('lead-'.length);
/** Per lead: when each stage of the pipeline saw it (performance.now()). */
interface Trace {
  appended?: number;
  published?: number;
  received?: number;
  committed?: number;
  /** Seen by the reader. */
  visible?: number;
}

/** The bus, with timestamps taken when a publish is acknowledged and around each consumed batch. */
function tracedBus(bus: Bus, traces: Map<string, Trace>, onFirstBatch: () => void): Bus {
  const stamp = (key: string | null, stage: keyof Trace, t: number) => {
    const trace = traces.get(leadOfKey(key) ?? '');
    if (trace && trace[stage] === undefined) trace[stage] = t;
  };
  return {
    ...bus,
    async publish(messages) {
      await bus.publish(messages);
      const t = performance.now();
      for (const m of messages) stamp(m.key, 'published', t);
    },
    consume: (options) =>
      bus.consume({
        ...options,
        async onBatch(batch) {
          onFirstBatch();
          const t = performance.now();
          for (const m of batch.messages) stamp(m.key, 'received', t);
          await options.onBatch(batch);
          const done = performance.now();
          for (const m of batch.messages) stamp(m.key, 'committed', done);
        },
      }),
  };
}

/** A database on the server of `baseUrl` (created unless `existing`), and its URL. */
async function database(baseUrl: string, name: string, existing = false): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  if (!existing) {
    const admin = pgClient(baseUrl, { max: 1 });
    try {
      await admin.exec(`CREATE DATABASE ${name}`);
    } finally {
      await admin.close();
    }
  }
  return {
    name,
    url: url.toString(),
    async drop() {
      const admin = pgClient(baseUrl, { max: 1 });
      try {
        await admin.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.close();
      }
    },
  };
}

/** Where a loaded dataset is (BENCH_KEEP writes it, BENCH_REUSE reads it). */
interface Dataset {
  readonly run: string;
  readonly events: number;
  /** Database names on the EVENTSTORE_URL server. */
  readonly plainStore: string;
  readonly piiStore?: string | undefined;
  /** Database name on the READ_DB_URL server (the key tables: KEYSTORE_URL style) and its master key. */
  readonly keys?: string | undefined;
  readonly masterKey?: string | undefined;
  readonly plainTenant: string;
  readonly piiTenant: string;
  /** Topic prefixes: this dataset's own copies of every aggregate topic. */
  readonly plainTopics: string;
  readonly piiTopics: string;
}

/** Appends `ids.length` lead captures through `store` (64 at a time, like concurrent commands), then relays them to the bus. */
async function load(store: EventStore, relayStore: EventStore, storeSql: SqlClient, bus: Bus, tenant: string, ids: readonly string[]): Promise<number> {
  const a0 = performance.now();
  for (let i = 0; i < ids.length; i += 64) await Promise.all(ids.slice(i, i + 64).map((id, j) => store.append(`lead-${id}`, [capture(id, i + j, tenant)])));
  const appendMs = performance.now() - a0;
  await bus.ensureTopics(allEventsTopics);
  const checkpoint = await sqlRelayCheckpoint(storeSql, 'bench');
  const stats = newRelayStats();
  const stop = new AbortController();
  const relay = runRelay({ store: relayStore, bus, checkpoint, log, signal: stop.signal, batchSize: 2000 }, stats);
  const head = (await store.headPosition())!;
  try {
    while (stats.checkpoint === undefined || stats.checkpoint < head) await sleep(50);
  } finally {
    stop.abort();
    await relay;
  }
  return appendMs;
}

const newDataset = (): Dataset => ({
  run,
  events: EVENTS,
  plainStore: `annals_bench_proj_${run}_store`,
  ...(PII === 'both' ? { piiStore: `annals_bench_proj_${run}_pii_store`, keys: `annals_bench_proj_${run}_keys`, masterKey: randomBytes(32).toString('base64') } : {}),
  plainTenant: `bench-${run}`,
  piiTenant: `bench-${run}-pii`,
  plainTopics: `bench-${run}.`,
  piiTopics: `bench-${run}-pii.`,
});

/** Loads the dataset `newDataset()` describes; the appends' rates. */
async function loadDataset(kafka: Bus, dataset: Dataset): Promise<Record<string, number>> {
  const storeUrl = need('EVENTSTORE_URL');
  const appendPerSec: Record<string, number> = {};
  process.stdout.write(`appending ${EVENTS} events…\n`);
  {
    const db = await database(storeUrl, dataset.plainStore);
    const [sql, relaySql] = [pgClient(db.url, { max: 8 }), pgClient(db.url, { max: 2 })];
    try {
      const store = createEventStore(await postgresEventStore(sql));
      const ids = Array.from({ length: EVENTS }, () => randomUUID());
      const t = await load(store, createEventStore(await postgresEventStore(relaySql)), sql, privateTopics(kafka, dataset.plainTopics), dataset.plainTenant, ids);
      appendPerSec.off = Math.round(EVENTS / (t / 1000));
    } finally {
      await Promise.allSettled([sql.close(), relaySql.close()]);
    }
  }
  if (PII === 'both') {
    process.stdout.write(`encrypted: appending ${EVENTS} events through the PII codec…\n`);
    const db = await database(storeUrl, dataset.piiStore!);
    const keysDb = await database(need('READ_DB_URL'), dataset.keys!);
    const [sql, relaySql, keysSql] = [pgClient(db.url, { max: 8 }), pgClient(db.url, { max: 2 }), pgClient(keysDb.url, { max: 4 })];
    try {
      const keyStore = await sqlKeyStore(keysSql, { masterKey: parseMasterKey(dataset.masterKey) });
      const store = createEventStore(await postgresEventStore(sql), { codec: createPiiCodec({ keyStore }) });
      // The relay holds no key: it publishes the stored ciphertext.
      const relayStore = createEventStore(await postgresEventStore(relaySql));
      const ids = Array.from({ length: EVENTS }, () => randomUUID());
      const t = await load(store, relayStore, sql, privateTopics(kafka, dataset.piiTopics), dataset.piiTenant, ids);
      appendPerSec.on = Math.round(EVENTS / (t / 1000));
    } finally {
      await Promise.allSettled([sql.close(), relaySql.close(), keysSql.close()]);
    }
  }
  return appendPerSec;
}

async function dropDataset(brokers: string[], d: Dataset): Promise<void> {
  const warn = (what: string) => (e: unknown) => process.stderr.write(`bench:projection: ${what} failed: ${(e as Error).message}\n`);
  await deleteTopics(brokers, d.plainTopics, run).catch(warn('deleting the topics'));
  await deleteTopics(brokers, d.piiTopics, run).catch(warn('deleting the encrypted topics'));
  for (const name of [d.plainStore, d.piiStore]) if (name) await (await database(need('EVENTSTORE_URL'), name, true)).drop().catch(warn(`dropping ${name}`));
  if (d.keys) await (await database(need('READ_DB_URL'), d.keys, true)).drop().catch(warn(`dropping ${d.keys}`));
}

/** One catch-up: a fresh read database and consumer group apply the dataset's N events; then the raw INSERT of the same rows. */
/** A catch-up mode: the codec off or on; `-serial`: with the projector's pipelining off (fetch, decode, commit, fetch). */
type Mode = 'off' | 'on' | 'off-serial' | 'on-serial';

async function catchUp(kafka: Bus, d: Dataset, mode: Mode, round: number, profile: boolean) {
  const codec = mode.startsWith('on') ? 'on' : 'off';
  const db = await database(need('READ_DB_URL'), `annals_bench_proj_${run}_r${round}_${mode.replace('-', '_')}`);
  const sql: SqlClient = pgClient(db.url, { max: 8, applicationName: `bench-projector-${mode}` });
  const keysSql = codec === 'on' ? pgClient((await database(need('READ_DB_URL'), d.keys!, true)).url, { max: 4 }) : undefined;
  const stop = new AbortController();
  let consuming: Promise<void> = Promise.resolve();
  try {
    const tenant = codec === 'on' ? d.piiTenant : d.plainTenant;
    // A fresh key store: its cache is cold, as for a projector that starts a catch-up.
    // The event store's reader with the codec (what the projections service is given): decrypt, upcast, validate.
    const reader = keysSql ? createEventReader(createPiiCodec({ keyStore: await sqlKeyStore(keysSql, { masterKey: parseMasterKey(d.masterKey), migrate: false }) })) : undefined;
    // Its connection is opened before the clock starts, as the read database's is (registerProjection
    // below): connecting (SCRAM) is start-up, like the group join, not throughput. Its cache stays cold.
    await keysSql?.query('SELECT 1');
    const projection = { ...leadsProjection, name: `bench-leads-${run}-r${round}-${mode}` };
    const table = 'leads_g1';
    await registerProjection(sql, projection);
    let first: number | undefined;
    let batches = 0;
    const bus = tracedBus(privateTopics(kafka, codec === 'on' ? d.piiTopics : d.plainTopics), new Map(), () => {
      first ??= performance.now();
      batches++;
    });
    // Where the time goes: the projector's transactions (serial, so their durations add up to the time the
    // read database was busy with them) versus the rest (fetching, decoding, waiting for either).
    const tx = { count: 0, ms: 0 };
    const counted: SqlClient = {
      ...sql,
      query: sql.query.bind(sql),
      exec: sql.exec.bind(sql),
      close: sql.close.bind(sql),
      async transaction(fn) {
        const t = performance.now();
        try {
          return await sql.transaction(fn);
        } finally {
          tx.count++;
          tx.ms += performance.now() - t;
        }
      },
    };
    const projector = createProjector({ sql: counted, bus, projection, log, ...(reader ? { reader } : {}), ...(mode.endsWith('-serial') ? { pipelineMessages: 0 } : {}), ...(TX_MAX ? { maxMessagesPerTransaction: TX_MAX } : {}) });
    const profiling = profile ? await startProfile(process.env.BENCH_PROFILE) : undefined;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    consuming = projector.run(stop.signal);
    const count = async () => Number((await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table} WHERE tenant_id = $1`, [tenant])).rows[0]!.n);
    while ((await count()) < d.events) {
      if (performance.now() - t0 > 600_000) throw new Error(`${mode}: catch-up stalled at ${await count()} rows (dead-lettered: ${projector.stats.deadLettered})`);
      await sleep(10);
    }
    const doneAt = performance.now();
    const cpu = process.cpuUsage(cpu0);
    await profiling?.stop();
    stop.abort();
    await consuming;
    const projectorMs = doneAt - first!;
    const { rows } = await sql.query<Record<string, unknown>>(`SELECT * FROM ${table} WHERE tenant_id = $1`, [tenant]);
    if (codec === 'on' && !rows.every((r) => typeof r.email === 'string' && /^lead\d+@example\.com$/.test(r.email))) throw new Error('the encrypted read model does not hold the decrypted emails');
    const columns = Object.keys(rows[0]!);
    await sql.exec(`CREATE TABLE raw_leads (LIKE ${table} INCLUDING ALL)`);
    const r0 = performance.now();
    for (let i = 0; i < rows.length; i += 1000) {
      const chunk = rows.slice(i, i + 1000);
      const params: unknown[] = [];
      const values = chunk.map((r) => `(${columns.map((c) => (params.push(r[c]), `$${params.length}`)).join(',')})`);
      await sql.query(`INSERT INTO raw_leads (${columns.join(', ')}) VALUES ${values.join(',')}`, params);
    }
    const rawMs = performance.now() - r0;
    const rate = d.events / (projectorMs / 1000);
    const rawRate = d.events / (rawMs / 1000);
    return {
      mode,
      joinMs: Math.round(first! - t0),
      projectorMs: Math.round(projectorMs),
      projectorEventsPerSec: Math.round(rate),
      rawInsertMs: Math.round(rawMs),
      rawRowsPerSec: Math.round(rawRate),
      ratio: +(rate / rawRate).toFixed(3),
      // CPU of this process (the projector, and this script's polling) from the start to the last row.
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      batches,
      transactions: tx.count,
      inTransactionMs: Math.round(tx.ms),
      deadLettered: projector.stats.deadLettered,
    };
  } finally {
    stop.abort();
    await Promise.allSettled([consuming]);
    await Promise.allSettled([sql.close(), keysSql?.close()]);
    await db.drop().catch((e: unknown) => process.stderr.write(`bench:projection: dropping ${db.name} failed: ${(e as Error).message}\n`));
  }
}

/** The steady-rate end-to-end lag, on an event store, topics and read model of its own (dropped afterwards). */
async function measureLag(brokers: string[], kafka: Bus) {
  const tenant = `bench-${run}-lag`;
  const storeDb = await database(need('EVENTSTORE_URL'), `annals_bench_proj_${run}_lag_store`);
  const readDb = await database(need('READ_DB_URL'), `annals_bench_proj_${run}_lag`);
  const [storeSql, relaySql] = [pgClient(storeDb.url, { max: 8 }), pgClient(storeDb.url, { max: 2 })];
  const readSql: SqlClient = pgClient(readDb.url, { max: 8, applicationName: 'bench-projector-lag' });
  const prefix = `bench-${run}-lag.`;
  const stop = new AbortController();
  let relay: Promise<void> = Promise.resolve();
  let consuming: Promise<void> = Promise.resolve();
  try {
    const store = createEventStore(await postgresEventStore(storeSql));
    const traces = new Map<string, Trace>();
    const bus = tracedBus(privateTopics(kafka, prefix), traces, () => undefined);
    await bus.ensureTopics(allEventsTopics);
    const checkpoint = await sqlRelayCheckpoint(storeSql, 'bench-lag');
    relay = runRelay({ store: createEventStore(await postgresEventStore(relaySql)), bus, checkpoint, log, signal: stop.signal, batchSize: 2000 }, newRelayStats());
    const projection = { ...leadsProjection, name: `bench-leads-${run}-lag` };
    await registerProjection(readSql, projection);
    const projector = createProjector({ sql: readSql, bus, projection, log });
    consuming = projector.run(stop.signal);
    // Wait for the group to join (its first fetch) before the clock starts: one warm-up event.
    const warm = randomUUID();
    await store.append(`lead-${warm}`, [capture(warm, -1, tenant)]);
    const t0 = Date.now();
    while ((await readSql.query(`SELECT 1 FROM leads WHERE tenant_id = $1 AND lead_id = $2`, [tenant, warm])).rows.length === 0) {
      if (Date.now() - t0 > 60_000) throw new Error('lag: the projector did not start within 60 s');
      await sleep(20);
    }
    process.stdout.write(`lag: ${RATE}/s for ${SECONDS} s…\n`);
    const pending = new Map<string, Trace>();
    const lags: number[] = [];
    const done: Trace[] = [];
    let appending = true;
    const reader = (async () => {
      while (appending || pending.size > 0) {
        const waiting = [...pending.keys()];
        if (waiting.length > 0) {
          const seen = (await readSql.query<{ lead_id: string }>(`SELECT lead_id FROM leads WHERE tenant_id = $1 AND lead_id = ANY($2::uuid[])`, [tenant, waiting])).rows;
          const now = performance.now();
          for (const { lead_id } of seen) {
            const trace = pending.get(lead_id)!;
            trace.visible = now;
            lags.push(now - trace.appended!);
            done.push(trace);
            pending.delete(lead_id);
          }
        }
        await sleep(5);
      }
    })();
    const start = performance.now();
    const total = RATE * SECONDS;
    const inflight: Promise<unknown>[] = [];
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const id = randomUUID();
      const trace: Trace = {};
      traces.set(id, trace);
      inflight.push(
        store.append(`lead-${id}`, [capture(id, i, tenant)]).then(() => {
          trace.appended = performance.now();
          pending.set(id, trace);
        }),
      );
    }
    await Promise.all(inflight);
    const achieved = total / ((performance.now() - start) / 1000);
    appending = false;
    const deadline = Date.now() + 60_000;
    while (pending.size > 0 && Date.now() < deadline) await sleep(20);
    const lost = pending.size;
    pending.clear();
    await reader;
    // Where the time goes, per stage (median and p99 over the events that became visible).
    const stage = (from: keyof Trace, to: keyof Trace) => {
      const xs = done.filter((t) => t[from] !== undefined && t[to] !== undefined).map((t) => t[to]! - t[from]!);
      return { p50Ms: ms(pct(xs, 50)), p99Ms: ms(pct(xs, 99)) };
    };
    return {
      targetRate: RATE,
      achievedRate: +achieved.toFixed(1),
      events: total,
      notVisibleAfter60s: lost,
      p50Ms: ms(pct(lags, 50)),
      p99Ms: ms(pct(lags, 99)),
      maxMs: ms(Math.max(...lags)),
      stages: {
        appendToPublished: stage('appended', 'published'),
        publishedToReceived: stage('published', 'received'),
        receivedToCommitted: stage('received', 'committed'),
        committedToVisible: stage('committed', 'visible'),
      },
    };
  } finally {
    stop.abort();
    await Promise.allSettled([relay, consuming]);
    await Promise.allSettled([storeSql.close(), relaySql.close(), readSql.close()]);
    await deleteTopics(brokers, prefix, run).catch(() => {});
    await Promise.allSettled([storeDb.drop(), readDb.drop()]);
  }
}

async function main() {
  const brokers = need('KAFKA_BROKERS').split(',');
  const kafka = kafkaBus({ brokers, clientId: `bench-${run}`, log });
  let dataset: Dataset | undefined;
  let keep = KEEP;
  try {
    let appendPerSec: Record<string, number> = {};
    if (REUSE) {
      dataset = JSON.parse(await readFile(STATE_FILE, 'utf8')) as Dataset;
      keep = true; // a reused dataset stays for the next rerun
      if (dataset.events !== EVENTS) throw new Error(`${STATE_FILE} holds ${dataset.events} events, BENCH_EVENTS is ${EVENTS}`);
      if (PII === 'both' && !dataset.piiStore) throw new Error(`${STATE_FILE} was loaded without BENCH_PII=both`);
      for (const prefix of PII === 'both' ? [dataset.plainTopics, dataset.piiTopics] : [dataset.plainTopics]) {
        const ends = await privateTopics(kafka, prefix).endOffsets(eventsTopic('lead'));
        const n = [...ends.values()].reduce((a, b) => a + b, 0n);
        if (n !== BigInt(EVENTS)) throw new Error(`the reused topic ${prefix}${eventsTopic('lead')} holds ${n} messages, not ${EVENTS}: load again (BENCH_KEEP=1 without BENCH_REUSE)`);
      }
      process.stdout.write(`reusing the dataset of run ${dataset.run} (${STATE_FILE})\n`);
    } else {
      dataset = newDataset();
      appendPerSec = await loadDataset(kafka, dataset);
      if (keep) {
        await writeFile(STATE_FILE, JSON.stringify(dataset, null, 2));
        process.stdout.write(`dataset kept: rerun with BENCH_REUSE=1 (${STATE_FILE})\n`);
      }
    }
    const d = dataset;
    type Result = Awaited<ReturnType<typeof catchUp>>;
    const rounds: Partial<Record<Mode, Result>>[] = [];
    const modes: Mode[] = [...(PII === 'both' ? (['off', 'on'] as const) : (['off'] as const)), ...(SERIAL ? (PII === 'both' ? (['off-serial', 'on-serial'] as const) : (['off-serial'] as const)) : [])];
    for (let round = 1; round <= ROUNDS; round++) {
      // The order rotates, so no mode always runs first in a round (the machine's load drifts).
      const order = modes.map((_, i) => modes[(i + round - 1) % modes.length]!);
      const r: Partial<Record<Mode, Result>> = {};
      for (const mode of order) {
        process.stdout.write(`round ${round}: catch-up, codec ${mode}…\n`);
        r[mode] = await catchUp(kafka, d, mode, round, mode === 'on' && round === 1);
        process.stdout.write(`  ${JSON.stringify(r[mode])}\n`);
      }
      rounds.push(r);
    }
    const lag = SECONDS > 0 ? await measureLag(brokers, kafka) : undefined;
    const med = (f: (r: (typeof rounds)[number]) => number | undefined) => +median(rounds.map(f).filter((x): x is number => x !== undefined)).toFixed(3);
    const per = (a: Mode, b: Mode) => med((r) => (r[a] && r[b] ? r[a].projectorEventsPerSec / r[b].projectorEventsPerSec : undefined));
    const result = {
      at: new Date().toISOString(),
      events: EVENTS,
      rounds: ROUNDS,
      reused: REUSE,
      appendEventsPerSec: appendPerSec,
      // Medians over the rounds of each round's own ratios.
      summary: {
        ratioCodecOff: med((r) => r.off?.ratio),
        codecOffEventsPerSec: med((r) => r.off?.projectorEventsPerSec),
        ...(PII === 'both' ? { ratioCodecOn: med((r) => r.on?.ratio), codecOnVsOff: per('on', 'off'), codecOnEventsPerSec: med((r) => r.on?.projectorEventsPerSec) } : {}),
        ...(SERIAL
          ? {
              ratioCodecOffSerial: med((r) => r['off-serial']?.ratio),
              pipeliningGainCodecOff: per('off', 'off-serial'),
              ...(PII === 'both' ? { ratioCodecOnSerial: med((r) => r['on-serial']?.ratio), pipeliningGainCodecOn: per('on', 'on-serial') } : {}),
            }
          : {}),
      },
      catchUp: rounds,
      ...(lag ? { lag } : {}),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    const out = join(dirname(fileURLToPath(import.meta.url)), 'results', PII === 'off' ? 'projection-catchup.json' : 'projection-catchup-pii.json');
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, JSON.stringify(result, null, 2) + '\n');
  } finally {
    if (dataset && !keep) {
      await dropDataset(brokers, dataset);
      await rm(STATE_FILE, { force: true });
    }
    await kafka.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:projection: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});

/**
 * `npm run bench:projection` — the PostgreSQL projector on the real servers (`annals stack up`, then
 * `eval "$(npx annals stack env)"`), with the REAL `leads` read model (projections/postgres/leads). Two
 * figures, same run, same servers:
 *
 * 1. Catch-up throughput: N LeadCaptured events already on Kafka, a fresh consumer group applies them
 *    (one transaction per partition batch: rows + offsets + revision guard + position), events/s into
 *    PostgreSQL — next to a raw multi-row INSERT of the same N rows (every column, as the projector wrote
 *    them) into a table of the same shape and indexes (`LIKE … INCLUDING ALL`), 1 000 rows per statement,
 *    no bookkeeping, and the ratio. The projector's rate is timed from its first batch (the consumer group
 *    has joined) to the last row visible; the group join is reported apart (`joinMs`), because it is a
 *    fixed start-up cost, not throughput.
 * 2. End-to-end lag: appends at a steady rate (default 200/s, one event each, like a command) → relay
 *    (its own event store connection, polling like a separate service) → Kafka → projector; the time from
 *    the append's return to the row being visible to a reader polling every 5 ms; p50/p99, and where the
 *    time goes (append → publish acknowledged → batch received by the projector → batch committed), from
 *    timestamps taken around the bus.
 *
 * The read model lives in a database of its own, created for the run on the READ_DB_URL server and dropped
 * afterwards, so the real `leads` view of the shared read database is never touched.
 *
 * 3. With `BENCH_PII=both`: the catch-up again, same run, on a second database, with personal
 *    fields encrypted (GDPR codec, platform/pii: appended through the codec, relayed as ciphertext,
 *    decrypted by the projector through the store's reader, keys cached after the first batch), plus the
 *    append rate with and without encryption.
 *
 * Env: EVENTSTORE_URL, READ_DB_URL, KAFKA_BROKERS (required); BENCH_EVENTS (20000), BENCH_RATE (200),
 * BENCH_SECONDS (15), BENCH_PII (off | both; default off), BENCH_PROFILE (a file: a CPU profile of this
 * process during the encrypted catch-up only, for the profile analysis in docs/gdpr.md). Writes bench/results/projection-catchup.json
 * (bench/results/projection-catchup-pii.json when BENCH_PII is set).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { kafkaBus } from '../platform/bus/kafka.js';
import type { Bus } from '../platform/bus/port.js';
import { allEventsTopics } from '../platform/bus/topics.js';
import { createEventStore } from '../platform/event-store/event-store.js';
import { postgresEventStore } from '../platform/event-store/postgres/adapter.js';
import { pgClient, type SqlClient } from '../platform/sql/client.js';
import { createPiiCodec } from '../platform/pii/codec.js';
import { sqlKeyStore } from '../platform/pii/key-store.js';
import { parseMasterKey } from '../platform/pii/master-key.js';
import { registerProjection } from '../projections/kernel/generations.js';
import { createProjector } from '../projections/kernel/projector.js';
import { leadsProjection } from '../projections/postgres/leads/projection.js';
import { sqlRelayCheckpoint } from '../write-side/relay/checkpoint.js';
import { newRelayStats, runRelay } from '../write-side/relay/relay.js';

const need = (n: string) => {
  const v = process.env[n];
  if (!v) throw new Error(`${n} is not set: run \`npx annals stack up\` and \`eval "$(npx annals stack env)"\` first`);
  return v;
};
const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const PII = (process.env.BENCH_PII ?? 'off') as 'off' | 'both';
if (!['off', 'both'].includes(PII)) throw new Error('BENCH_PII must be off or both');
const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const run = randomUUID().replace(/-/g, '').slice(0, 10);
const tenant = `bench-${run}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const meta = () => ({ tenantId: tenant, actor: { userId: 'bench', roles: ['sales' as const] }, correlationId: 'b', causationId: 'b', occurredAt: new Date().toISOString() });
// A realistic capture: the fields a web form sends, so rows have the width of real ones.
const capture = (leadId: string, i: number, tenantId = tenant) => ({
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
  metadata: { ...meta(), tenantId, subjectId: leadId },
});
const pct = (xs: readonly number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
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

/**
 * The bus with every topic renamed `<prefix><topic>` on the wire and back: the relay, the projectors and
 * their dead letters use the contract's names, the broker sees this run's own topics.
 */
function privateTopics(bus: Bus, prefix: string): Bus {
  const out = (t: string) => `${prefix}${t}`;
  const back = (t: string) => (t.startsWith(prefix) ? t.slice(prefix.length) : t);
  return {
    ...bus,
    ensureTopics: (topics) => bus.ensureTopics(topics.map(out)),
    publish: (messages) => bus.publish(messages.map((m) => ({ ...m, topic: out(m.topic) }))),
    endOffsets: (topic) => bus.endOffsets(out(topic)),
    consume: (options) =>
      bus.consume({
        ...options,
        topics: options.topics.map(out),
        resumeFrom: async (assigned) => {
          const from = await options.resumeFrom(assigned.map((a) => ({ ...a, topic: back(a.topic) })));
          // Keys are tpKey(topic, partition): renamed like the topics.
          return new Map([...from].map(([k, offset]) => [out(k), offset]));
        },
        onBatch: (batch) => options.onBatch({ ...batch, topic: back(batch.topic), messages: batch.messages.map((m) => ({ ...m, topic: back(m.topic) })) }),
      }),
  };
}

/** Deletes this run's topics from the shared broker. */
async function deleteTopics(brokers: string[], prefix: string): Promise<void> {
  const admin = new Kafka({ brokers, clientId: `bench-admin-${run}`, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}

/** A database of its own on the READ_DB_URL server: the read model's tables and bookkeeping, nothing shared. */
async function benchDatabase(readUrl: string, suffix = ''): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = pgClient(readUrl, { max: 1 });
  const name = `annals_bench_proj_${run}${suffix}`;
  await admin.exec(`CREATE DATABASE ${name}`);
  const url = new URL(readUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.close();
    },
  };
}

/** A CPU profile of this process from now until `stop()` (node:inspector), written to `file`. */
async function startProfile(file: string | undefined): Promise<{ stop(): Promise<void> } | undefined> {
  if (!file) return undefined;
  const { Session } = await import('node:inspector');
  const session = new Session();
  const post = (method: string): Promise<unknown> => new Promise((ok, ko) => session.post(method, (e, r) => (e ? ko(e) : ok(r))));
  session.connect();
  await post('Profiler.enable');
  await post('Profiler.start');
  return {
    async stop() {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      await writeFile(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

async function main() {
  const brokers = need('KAFKA_BROKERS').split(',');
  const db = await benchDatabase(need('READ_DB_URL'));
  // The event store and the topics are this run's own too: other people's appends on the shared store
  // (their keys, or in clear) would otherwise reach this run's projectors and be dead-lettered or retried
  // there, on the clock of the measurement.
  const storeDb = await benchDatabase(need('EVENTSTORE_URL'), '_store');
  const storeSql = pgClient(storeDb.url, { max: 8 });
  const relaySql = pgClient(storeDb.url, { max: 2 });
  const readSql: SqlClient = pgClient(db.url, { max: 8, applicationName: 'bench-projector' });
  const store = createEventStore(await postgresEventStore(storeSql));
  const relayStore = createEventStore(await postgresEventStore(relaySql));
  const topicPrefix = `bench-${run}.`;
  const kafkaOnly = kafkaBus({ brokers, clientId: `bench-${run}`, log });
  const rawBus = privateTopics(kafkaOnly, topicPrefix);
  const traces = new Map<string, Trace>();
  let firstBatchAt: number | undefined;
  const bus = tracedBus(rawBus, traces, () => (firstBatchAt ??= performance.now()));
  await bus.ensureTopics(allEventsTopics);
  const checkpoint = await sqlRelayCheckpoint(storeSql, `bench-${run}`);
  const head = await store.headPosition();
  if (head !== undefined) await checkpoint.save(head);
  // The real mapping and DDL under a name of its own: consumer group, checkpoint and DLQ topic are this run's.
  const projection = { ...leadsProjection, name: `bench-leads-${run}` };
  const table = 'leads_g1';
  await registerProjection(readSql, projection);
  // The topics are shared: start this read model at their current end (older messages are other runs').
  for (const topic of allEventsTopics) {
    for (const [partition, end] of await bus.endOffsets(topic)) {
      await readSql.query(`INSERT INTO annals_projection_offsets(name, topic, partition, next_offset) VALUES ($1,$2,$3,$4::bigint)`, [projection.name, topic, partition, end.toString()]);
    }
  }
  const stop = new AbortController();
  const stopPlain = new AbortController();
  let relay: Promise<void> = Promise.resolve();
  let consuming: Promise<void> = Promise.resolve();

  try {
    // ── 1. catch-up ───────────────────────────────────────────────────────────────────────────────
    process.stdout.write(`appending ${EVENTS} events…\n`);
    const ids = Array.from({ length: EVENTS }, () => randomUUID());
    const a0 = performance.now();
    for (let i = 0; i < ids.length; i += 64) await Promise.all(ids.slice(i, i + 64).map((id, j) => store.append(`lead-${id}`, [capture(id, i + j)])));
    const appendMs = performance.now() - a0;
    const relayStats = newRelayStats();
    relay = runRelay({ store: relayStore, bus, checkpoint, log, signal: stop.signal, batchSize: 2000 }, relayStats);
    const finalHead = (await store.headPosition())!;
    // `>=`: other people's appends on the shared store may carry the relay past our last event.
    while (relayStats.checkpoint === undefined || relayStats.checkpoint < finalHead) await sleep(50);
    process.stdout.write(`relayed; projector catching up…\n`);
    const projector = createProjector({ sql: readSql, bus, projection, log });
    const t0 = performance.now();
    consuming = projector.run(stopPlain.signal);
    const count = async () => Number((await readSql.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table} WHERE tenant_id = $1`, [tenant])).rows[0]!.n);
    while ((await count()) < EVENTS) await sleep(10);
    const doneAt = performance.now();
    const joinMs = firstBatchAt! - t0;
    const projectorMs = doneAt - firstBatchAt!;

    const { rows } = await readSql.query<Record<string, unknown>>(`SELECT * FROM ${table} WHERE tenant_id = $1`, [tenant]);
    const columns = Object.keys(rows[0]!);
    await readSql.exec(`CREATE TABLE raw_leads (LIKE ${table} INCLUDING ALL)`);
    const r0 = performance.now();
    for (let i = 0; i < rows.length; i += 1000) {
      const chunk = rows.slice(i, i + 1000);
      const params: unknown[] = [];
      const values = chunk.map((r) => `(${columns.map((c) => (params.push(r[c]), `$${params.length}`)).join(',')})`);
      await readSql.query(`INSERT INTO raw_leads (${columns.join(', ')}) VALUES ${values.join(',')}`, params);
    }
    const rawMs = performance.now() - r0;
    const projectorRate = EVENTS / (projectorMs / 1000);
    const rawRate = EVENTS / (rawMs / 1000);

    // ── 2. steady-rate end-to-end lag ────────────────────────────────────────────────────────────
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
        store.append(`lead-${id}`, [capture(id, i)]).then(() => {
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

    // ── 3. the same catch-up with personal fields encrypted (same run, same servers) ──────────────
    let encrypted: Record<string, number> | undefined;
    if (PII === 'both') {
      // The plain projector stops first: it would dead-let every encrypted event (it has no key), which is
      // right, but load the machine during the measurement.
      stopPlain.abort();
      await consuming;
      process.stdout.write(`encrypted: appending ${EVENTS} events through the PII codec…\n`);
      const db2 = await benchDatabase(need('READ_DB_URL'), '_pii');
      const readSql2: SqlClient = pgClient(db2.url, { max: 8, applicationName: 'bench-projector-pii' });
      const stop2 = new AbortController();
      let consuming2: Promise<void> = Promise.resolve();
      try {
        // The key tables in the read model's database, as in production (KEYSTORE_URL unset = the read database).
        const keyStore = await sqlKeyStore(readSql2, { masterKey: parseMasterKey(randomBytes(32).toString('base64')) });
        const encStore = createEventStore(store.adapter, { codec: createPiiCodec({ keyStore }) });
        const tenant2 = `${tenant}-pii`;
        const projection2 = { ...leadsProjection, name: `bench-leads-pii-${run}` };
        await registerProjection(readSql2, projection2);
        for (const topic of allEventsTopics) {
          for (const [partition, end] of await bus.endOffsets(topic)) {
            await readSql2.query(`INSERT INTO annals_projection_offsets(name, topic, partition, next_offset) VALUES ($1,$2,$3,$4::bigint)`, [projection2.name, topic, partition, end.toString()]);
          }
        }
        const ids2 = Array.from({ length: EVENTS }, () => randomUUID());
        const e0 = performance.now();
        for (let i = 0; i < ids2.length; i += 64) await Promise.all(ids2.slice(i, i + 64).map((id, j) => encStore.append(`lead-${id}`, [capture(id, i + j, tenant2)])));
        const encAppendMs = performance.now() - e0;
        const head2 = (await store.headPosition())!;
        while (relayStats.checkpoint === undefined || relayStats.checkpoint < head2) await sleep(50);
        process.stdout.write(`encrypted: relayed; projector catching up…\n`);
        let first2: number | undefined;
        const bus2 = tracedBus(rawBus, new Map(), () => (first2 ??= performance.now()));
        const projector2 = createProjector({ sql: readSql2, bus: bus2, projection: projection2, log, reader: encStore.reader });
        const profiling = await startProfile(process.env.BENCH_PROFILE);
        consuming2 = projector2.run(stop2.signal);
        const count2 = async () => Number((await readSql2.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table} WHERE tenant_id = $1`, [tenant2])).rows[0]!.n);
        const c0 = performance.now();
        while ((await count2()) < EVENTS) {
          if (performance.now() - c0 > 600_000) throw new Error(`encrypted catch-up stalled at ${await count2()} rows (dead-lettered: ${projector2.stats.deadLettered})`);
          await sleep(10);
        }
        const done2 = performance.now();
        await profiling?.stop();
        const projector2Ms = done2 - first2!;
        const rows2 = (await readSql2.query<Record<string, unknown>>(`SELECT * FROM ${table} WHERE tenant_id = $1`, [tenant2])).rows;
        if (!rows2.every((r) => typeof r.email === 'string' && /^lead\d+@example\.com$/.test(r.email))) throw new Error('the encrypted read model does not hold the decrypted emails');
        const cols2 = Object.keys(rows2[0]!);
        await readSql2.exec(`CREATE TABLE raw_leads (LIKE ${table} INCLUDING ALL)`);
        const r1 = performance.now();
        for (let i = 0; i < rows2.length; i += 1000) {
          const chunk = rows2.slice(i, i + 1000);
          const params: unknown[] = [];
          const values = chunk.map((r) => `(${cols2.map((c) => (params.push(r[c]), `$${params.length}`)).join(',')})`);
          await readSql2.query(`INSERT INTO raw_leads (${cols2.join(', ')}) VALUES ${values.join(',')}`, params);
        }
        const raw2Ms = performance.now() - r1;
        const p2Rate = EVENTS / (projector2Ms / 1000);
        const raw2Rate = EVENTS / (raw2Ms / 1000);
        encrypted = {
          appendEventsPerSec: Math.round(EVENTS / (encAppendMs / 1000)),
          joinMs: Math.round(first2! - c0),
          projectorMs: Math.round(projector2Ms),
          projectorEventsPerSec: Math.round(p2Rate),
          rawInsertMs: Math.round(raw2Ms),
          rawRowsPerSec: Math.round(raw2Rate),
          ratio: +(p2Rate / raw2Rate).toFixed(3),
          ratioToPlainRaw: +(p2Rate / rawRate).toFixed(3),
          vsPlainProjector: +(p2Rate / projectorRate).toFixed(3),
          deadLettered: projector2.stats.deadLettered,
        };
      } finally {
        stop2.abort();
        await Promise.allSettled([consuming2]);
        await readSql2.close().catch(() => {});
        await db2.drop().catch((e: unknown) => process.stderr.write(`bench:projection: dropping the PII bench database failed: ${(e as Error).message}\n`));
      }
    }

    // Where the time goes, per stage (median and p99 over the events that became visible).
    const stage = (from: keyof Trace, to: keyof Trace) => {
      const xs = done.filter((t) => t[from] !== undefined && t[to] !== undefined).map((t) => t[to]! - t[from]!);
      return { p50Ms: ms(pct(xs, 50)), p99Ms: ms(pct(xs, 99)) };
    };
    const result = {
      at: new Date().toISOString(),
      readModel: projection.name,
      catchUp: {
        events: EVENTS,
        joinMs: Math.round(joinMs),
        projectorMs: Math.round(projectorMs),
        projectorEventsPerSec: Math.round(projectorRate),
        projectorMsIncludingJoin: Math.round(doneAt - t0),
        rawInsertMs: Math.round(rawMs),
        rawRowsPerSec: Math.round(rawRate),
        ratio: +(projectorRate / rawRate).toFixed(3),
        appendEventsPerSec: Math.round(EVENTS / (appendMs / 1000)),
      },
      ...(encrypted ? { catchUpEncrypted: encrypted } : {}),
      lag: {
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
      },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    const out = join(dirname(fileURLToPath(import.meta.url)), 'results', PII === 'off' ? 'projection-catchup.json' : 'projection-catchup-pii.json');
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, JSON.stringify(result, null, 2) + '\n');
  } finally {
    stop.abort();
    stopPlain.abort();
    await Promise.allSettled([relay, consuming]);
    await Promise.allSettled([rawBus.close(), readSql.close()]);
    await deleteTopics(brokers, topicPrefix).catch((e: unknown) => process.stderr.write(`bench:projection: deleting the bench topics failed: ${(e as Error).message}\n`));
    await Promise.allSettled([storeSql.close(), relaySql.close()]);
    await db.drop().catch((e: unknown) => process.stderr.write(`bench:projection: dropping the bench database failed: ${(e as Error).message}\n`));
    await storeDb.drop().catch((e: unknown) => process.stderr.write(`bench:projection: dropping the bench event store failed: ${(e as Error).message}\n`));
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:projection: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});

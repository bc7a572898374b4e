/**
 * `npm run bench:projection` — the PostgreSQL projector on the real servers (`annals stack up`, then
 * `eval "$(npx annals stack env)"`). Two figures, same run, same servers:
 *
 * 1. Catch-up throughput: N LeadCaptured events already on Kafka, a fresh consumer group applies them
 *    (one transaction per partition batch: rows + offsets + revision guard + position), events/s into
 *    PostgreSQL — next to a raw multi-row INSERT of the same N rows into the same server (1 000 rows per
 *    statement, no bookkeeping), and the ratio. The gap is the price of per-event statements, the guard
 *    and exactly-once bookkeeping.
 * 2. End-to-end lag: appends at a steady rate (default 200/s, one event each, like a command) → relay
 *    (its own event store connection, polling like a separate service) → Kafka → projector; the time from
 *    the append's return to the row being visible to a reader polling every 5 ms; p50/p99.
 *
 * Env: EVENTSTORE_URL, READ_DB_URL, KAFKA_BROKERS (required); BENCH_EVENTS (20000), BENCH_RATE (200),
 * BENCH_SECONDS (15). Writes bench/results/projection-catchup.json.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { kafkaBus } from '../platform/bus/kafka.js';
import { allEventsTopics } from '../platform/bus/topics.js';
import { createEventStore } from '../platform/event-store/event-store.js';
import { postgresEventStore } from '../platform/event-store/postgres/adapter.js';
import { pgClient, type SqlClient } from '../platform/sql/client.js';
import { registerProjection } from '../projections/kernel/generations.js';
import { createProjector } from '../projections/kernel/projector.js';
import { kernelTestProjection } from '../projections/kernel/test-projection.js';
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
const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const run = randomUUID().replace(/-/g, '').slice(0, 10);
const tenant = `bench-${run}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const meta = () => ({ tenantId: tenant, actor: { userId: 'bench', roles: ['sales' as const] }, correlationId: 'b', causationId: 'b', occurredAt: new Date().toISOString() });
const capture = (leadId: string) => ({ type: 'LeadCaptured', data: { leadId, name: 'Bench', source: 'web', capturedAt: new Date().toISOString() }, metadata: meta() });
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

async function seedAtEnd(sql: SqlClient, bus: ReturnType<typeof kafkaBus>, name: string) {
  for (const topic of allEventsTopics) {
    for (const [partition, end] of await bus.endOffsets(topic)) {
      await sql.query(`INSERT INTO annals_projection_offsets(name, topic, partition, next_offset) VALUES ($1,$2,$3,$4::bigint) ON CONFLICT DO NOTHING`, [name, topic, partition, end.toString()]);
    }
  }
}

async function main() {
  const brokers = need('KAFKA_BROKERS').split(',');
  const storeSql = pgClient(need('EVENTSTORE_URL'), { max: 8 });
  const relaySql = pgClient(need('EVENTSTORE_URL'), { max: 2 });
  const readSql = pgClient(need('READ_DB_URL'), { max: 8 });
  const store = createEventStore(await postgresEventStore(storeSql));
  const relayStore = createEventStore(await postgresEventStore(relaySql));
  const bus = kafkaBus({ brokers, clientId: `bench-${run}`, log });
  await bus.ensureTopics(allEventsTopics);
  const checkpoint = await sqlRelayCheckpoint(storeSql, `bench-${run}`);
  const head = await store.headPosition();
  if (head !== undefined) await checkpoint.save(head);
  const projection = kernelTestProjection({ name: `bench-${run}`, table: `kt_${run}` });
  const table = `kt_${run}`;
  await registerProjection(readSql, projection);
  await seedAtEnd(readSql, bus, projection.name);
  const stop = new AbortController();
  const cleanup = async () => {
    await readSql.exec(`DROP VIEW IF EXISTS ${table}; DROP TABLE IF EXISTS ${table}_g1; DROP TABLE IF EXISTS raw_${run}`);
    for (const t of ['annals_projections', 'annals_projection_generations', 'annals_projection_offsets', 'annals_projection_streams']) await readSql.query(`DELETE FROM ${t} WHERE name = $1`, [projection.name]);
    await storeSql.query(`DELETE FROM annals_relay_checkpoint WHERE name = $1`, [`bench-${run}`]);
  };

  try {
    // ── 1. catch-up ───────────────────────────────────────────────────────────────────────────────
    process.stdout.write(`appending ${EVENTS} events…\n`);
    const ids = Array.from({ length: EVENTS }, () => randomUUID());
    for (let i = 0; i < ids.length; i += 64) await Promise.all(ids.slice(i, i + 64).map((id) => store.append(`lead-${id}`, [capture(id)])));
    const relayStats = newRelayStats();
    const relay = runRelay({ store: relayStore, bus, checkpoint, log, signal: stop.signal, batchSize: 2000 }, relayStats);
    const finalHead = await store.headPosition();
    while (relayStats.checkpoint !== finalHead) await sleep(50);
    process.stdout.write(`relayed; projector catching up…\n`);
    const projector = createProjector({ sql: readSql, bus, projection, log, topics: ['annals.lead.events'] });
    const t0 = performance.now();
    const consuming = projector.run(stop.signal);
    const count = async () => Number((await readSql.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table} WHERE tenant_id = $1`, [tenant])).rows[0]!.n);
    while ((await count()) < EVENTS) await sleep(20);
    const projectorMs = performance.now() - t0;

    const rows = (await readSql.query<Record<string, unknown>>(`SELECT lead_id, tenant_id, score, events, revision, position FROM ${table} WHERE tenant_id = $1`, [tenant])).rows;
    await readSql.exec(`CREATE TABLE raw_${run} (LIKE ${table}_g1 INCLUDING ALL)`);
    const r0 = performance.now();
    for (let i = 0; i < rows.length; i += 1000) {
      const chunk = rows.slice(i, i + 1000);
      const params: unknown[] = [];
      const values = chunk.map((r, j) => {
        params.push(r.lead_id, r.tenant_id, r.score, r.events, r.revision, r.position);
        return `($${j * 6 + 1},$${j * 6 + 2},$${j * 6 + 3},$${j * 6 + 4},$${j * 6 + 5},$${j * 6 + 6})`;
      });
      await readSql.query(`INSERT INTO raw_${run} (lead_id, tenant_id, score, events, revision, position) VALUES ${values.join(',')}`, params);
    }
    const rawMs = performance.now() - r0;
    const projectorRate = EVENTS / (projectorMs / 1000);
    const rawRate = EVENTS / (rawMs / 1000);

    // ── 2. steady-rate end-to-end lag ────────────────────────────────────────────────────────────
    process.stdout.write(`lag: ${RATE}/s for ${SECONDS} s…\n`);
    const appendedAt = new Map<string, number>();
    const lags: number[] = [];
    let appending = true;
    const reader = (async () => {
      while (appending || appendedAt.size > 0) {
        const pending = [...appendedAt.keys()];
        if (pending.length > 0) {
          const seen = (await readSql.query<{ lead_id: string }>(`SELECT lead_id FROM ${table} WHERE lead_id = ANY($1::uuid[])`, [pending])).rows;
          const now = performance.now();
          for (const { lead_id } of seen) {
            lags.push(now - appendedAt.get(lead_id)!);
            appendedAt.delete(lead_id);
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
      inflight.push(store.append(`lead-${id}`, [capture(id)]).then(() => appendedAt.set(id, performance.now())));
    }
    await Promise.all(inflight);
    const achieved = total / ((performance.now() - start) / 1000);
    appending = false;
    const deadline = Date.now() + 60_000;
    while (appendedAt.size > 0 && Date.now() < deadline) await sleep(20);
    const lost = appendedAt.size;
    appendedAt.clear();
    await reader;
    stop.abort();
    await Promise.all([relay, consuming]);

    const result = {
      at: new Date().toISOString(),
      catchUp: { events: EVENTS, projectorMs: Math.round(projectorMs), projectorEventsPerSec: Math.round(projectorRate), rawInsertMs: Math.round(rawMs), rawRowsPerSec: Math.round(rawRate), ratio: +(projectorRate / rawRate).toFixed(3) },
      lag: { targetRate: RATE, achievedRate: +achieved.toFixed(1), events: total, notVisibleAfter60s: lost, p50Ms: +pct(lags, 50).toFixed(1), p99Ms: +pct(lags, 99).toFixed(1), maxMs: +Math.max(...lags).toFixed(1) },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'projection-catchup.json');
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, JSON.stringify(result, null, 2) + '\n');
  } finally {
    stop.abort();
    await cleanup().catch(() => {});
    await Promise.allSettled([bus.close(), storeSql.close(), relaySql.close(), readSql.close()]);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:projection: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});

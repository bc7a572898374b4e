/**
 * `npm run bench:seed` — the rate of `annals seed` (scripts/seed) next to a raw append of THE SAME stored
 * events, same store kind, same concurrency, same run.
 *
 * Seed: contacts through the write side (the command API's handlers with validation, deciders, email and
 * name claims, idempotent ids, the conversion handler, the GDPR codec with a key per subject) into a store
 * opened exactly as `annals seed` opens it (scripts/seed/open.ts). Raw: the records the seed wrote
 * (ciphertext and all) appended through the adapter alone, one event per append as most commands write,
 * into a fresh store of the same kind: no HTTP, no decider, no codec, no claims, no reads.
 *
 * Env:
 *   BENCH_STORE        dir (default: PGlite data directories, as `annals seed` with DATA_DIR)
 *                      | server (PostgreSQL at EVENTSTORE_URL: two fresh databases, dropped at the end)
 *   BENCH_CONTACTS     contacts to seed (default 1000)
 *   BENCH_CONCURRENCY  persons in flight and appends in flight for raw (default: what `annals seed` uses for that store)
 *   BENCH_WORKERS      worker threads (server only; default 1): `annals seed --workers`
 *   BENCH_PROFILE      a .cpuprofile file: CPU profile of the seed phase only (the main thread's)
 * Prints and writes bench/results/seed-<store>.json: events/s, commands/s, contacts/min, ratio to raw,
 * and the projected time of 100,000 contacts at the measured contacts/s.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { postgresEventStore } from '../platform/event-store/postgres/adapter.js';
import type { EventStoreAdapter } from '../platform/event-store/port.js';
import { createLogger } from '../platform/logging/logger.js';
import { openPglite, pgClient, pgliteClient } from '../platform/sql/client.js';
import { defaultConcurrency, openSeedTarget } from '../scripts/seed/open.js';
import { seed, type SeedOptions } from '../scripts/seed/seed.js';
import { seedInWorkers } from '../scripts/seed/workers.js';
import type { WriteSideConfig } from '../write-side/config.js';
import { testConfig } from '../write-side/testing.js';
import { startProfile } from './lib/profile.js';

const KIND = (process.env.BENCH_STORE ?? 'dir') as 'dir' | 'server';
if (!['dir', 'server'].includes(KIND)) throw new Error(`BENCH_STORE must be dir or server, not ${KIND}`);
const CONTACTS = Number(process.env.BENCH_CONTACTS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? defaultConcurrency(KIND === 'server'));
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1);
const run = `${Date.now().toString(36)}${process.pid}`;
const master = randomBytes(32).toString('base64url');
const cleanup: (() => Promise<void>)[] = [];

/** A fresh store location of the bench's kind: a config for the seed, an opener for the raw adapter. */
async function location(suffix: string): Promise<{ config: Partial<WriteSideConfig>; raw(): Promise<{ adapter: EventStoreAdapter }> }> {
  if (KIND === 'server') {
    const url = process.env.EVENTSTORE_URL;
    if (!url) throw new Error('BENCH_STORE=server needs EVENTSTORE_URL (eval "$(npx annals stack env)")');
    const admin = pgClient(url, { max: 1 });
    const name = `annals_bench_seed_${run}${suffix}`;
    await admin.exec(`CREATE DATABASE ${name}`);
    cleanup.push(async () => {
      await admin.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.close();
    });
    const u = new URL(url);
    u.pathname = `/${name}`;
    const db = u.toString();
    return {
      config: { eventStore: { kind: 'postgres', url: db }, readDbUrl: db },
      raw: async () => {
        const sql = pgClient(db, { max: Math.max(2, Math.min(32, CONCURRENCY)) });
        return { adapter: await postgresEventStore(sql) };
      },
    };
  }
  const dir = await mkdtemp(join(tmpdir(), `annals-bench-seed${suffix}-`));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return {
    config: { dataDir: dir, eventStore: { kind: 'pglite', dir: join(dir, 'eventstore') } },
    raw: async () => {
      const sql = pgliteClient(await openPglite(join(dir, 'eventstore')));
      return { adapter: await postgresEventStore(sql) };
    },
  };
}

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;


async function main() {
  const seedAt = await location('');
  const base = testConfig({ piiMasterKey: master, ...seedAt.config });
  const config: WriteSideConfig = { ...base, pii: { ...base.pii, encryption: true, keyStoreUrl: base.readDbUrl } };
  const target = await openSeedTarget(config, CONCURRENCY, { applicationName: 'bench-seed', pgliteThreads: process.env.BENCH_PGLITE_THREADS !== '0' });
  const logger = createLogger({ level: 'silent', name: 'bench-seed' });
  let last = 0;
  const profile = await startProfile(process.env.BENCH_PROFILE);
  const seedCpu = process.cpuUsage();
  const options: SeedOptions = {
    contacts: CONTACTS,
    tenant: 'bench',
    seed: 'bench',
    concurrency: CONCURRENCY,
    onProgress: (p) => {
      if (process.stderr.isTTY && p.contacts - last >= CONTACTS / 20) {
        last = p.contacts;
        process.stderr.write(`\rseed ${p.contacts}/${p.total} contacts, ${p.events} events`);
      }
    },
  };
  const report = WORKERS > 1 ? await seedInWorkers(config, target.eventStore, options, WORKERS) : await seed({ config, logger, eventStore: target.eventStore }, options);
  const seedCpuMs = cpuMs(process.cpuUsage(seedCpu));
  await profile?.stop();
  if (process.stderr.isTTY) process.stderr.write('\n');
  const records = (await target.eventStore.readAllRaw({ maxCount: 100_000_000 })).filter((r) => !r.streamId.startsWith('checkpoint-'));
  await target.close();

  const rawAt = await location('_raw');
  const { adapter: raw } = await rawAt.raw();
  let next = 0;
  const rawCpu = process.cpuUsage();
  const r0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < records.length) {
        const r = records[next++]!;
        await raw.append(r.streamId, [{ eventId: r.eventId, type: r.type, schemaVersion: r.schemaVersion, data: r.data, metadata: r.metadata }], 'any');
      }
    }),
  );
  const rawMs = performance.now() - r0;
  const rawCpuMs = cpuMs(process.cpuUsage(rawCpu));
  await raw.close();

  const seconds = report.elapsedMs / 1000;
  const seedRate = report.events / seconds;
  const rawRate = records.length / (rawMs / 1000);
  const contactsPerSec = report.contacts / seconds;
  const result = {
    at: new Date().toISOString(),
    store: KIND,
    contacts: report.contacts,
    commands: report.commands,
    events: report.events,
    concurrency: CONCURRENCY,
    workers: WORKERS,
    seedMs: report.elapsedMs,
    seedEventsPerSec: Math.round(seedRate),
    seedCommandsPerSec: Math.round(report.commands / seconds),
    seedContactsPerMin: Math.round(contactsPerSec * 60),
    rawAppendMs: Math.round(rawMs),
    rawEventsPerSec: Math.round(rawRate),
    ratio: +(seedRate / rawRate).toFixed(3),
    projected100kContactsMin: +(100_000 / contactsPerSec / 60).toFixed(1),
    // This process's CPU (every thread: the embedded databases' too; not a server's) per event: steadier
    // than wall time on a shared machine, blind to what threads overlap.
    seedCpuMsPerEvent: +(seedCpuMs / report.events).toFixed(3),
    rawCpuMsPerEvent: +(rawCpuMs / records.length).toFixed(3),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', `seed-${KIND}.json`);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
}

try {
  await main();
} finally {
  for (const c of cleanup.reverse()) await c().catch((e: unknown) => process.stderr.write(`cleanup: ${String(e)}\n`));
}

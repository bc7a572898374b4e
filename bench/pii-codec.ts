/**
 * `npx tsx bench/pii-codec.ts` — what crypto-shredding costs a reader and a writer, in one process, same
 * events, same run (platform/pii):
 *
 * - plain round trip: the facade today: JSON.stringify(data) at append, JSON.parse at read.
 * - codec round trip: encodeAll → JSON.stringify at append, decodeAll (JSON.parse + AES-GCM per
 *   personal field) at read, keys cached (the steady state of a writer and a projection).
 * - plain decode / codec decode: the read side alone (what a projection pays per event).
 * - codec decode cold: decodeAll with an empty key cache per batch: one key-store statement per batch
 *   of BENCH_BATCH events (PGlite in memory here, so a CPU figure, not a network one).
 *
 * Events: LeadCaptured with four personal fields (name, email, phone, notes; ~420 bytes of data), spread
 * over BENCH_SUBJECTS subjects. Rounds are interleaved (order rotating) and the median is reported,
 * each codec row with its ratio to the plain row of the same kind. Env: BENCH_EVENTS (20000), BENCH_BATCH (500),
 * BENCH_SUBJECTS (1000), BENCH_ROUNDS (3). Writes bench/results/pii-codec.json.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPiiCodec, type EventToEncode } from '../platform/pii/codec.js';
import { sqlKeyStore } from '../platform/pii/key-store.js';
import { parseMasterKey } from '../platform/pii/master-key.js';
import { openPglite, pgliteClient } from '../platform/sql/client.js';
import type { RawStoredEvent } from '../schemas/events/registry.js';

const N = Number(process.env.BENCH_EVENTS ?? 20_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 500);
const SUBJECTS = Number(process.env.BENCH_SUBJECTS ?? 1_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const db = pgliteClient(await openPglite());
const masterKey = parseMasterKey(randomBytes(32).toString('base64url'));
const keyStore = await sqlKeyStore(db, { masterKey, cacheSize: SUBJECTS * 2, cacheTtlMs: 60_000 });
const codec = createPiiCodec({ keyStore });

const subjects = Array.from({ length: SUBJECTS }, () => randomUUID());
const events: EventToEncode[] = Array.from({ length: N }, (_, i) => {
  const leadId = subjects[i % SUBJECTS]!;
  return {
    streamId: `lead-${leadId}`,
    eventId: randomUUID(),
    type: 'LeadCaptured',
    schemaVersion: 1,
    data: {
      leadId,
      name: `Ada Lovelace ${i}`,
      email: `ada.${i}@example.com`,
      phone: '+44 20 7946 0000',
      company: 'Analytical Engines Ltd',
      source: 'web',
      campaign: 'autumn-2026',
      notes: 'Met at the conference; interested in the enterprise plan, call back after the budget review in Q1.',
      capturedAt: '2026-11-30T10:00:00.000Z',
    },
    metadata: { tenantId: 'bench', subjectId: leadId },
  };
});
const record = (e: EventToEncode, data: string, i: number): RawStoredEvent => ({
  eventId: e.eventId,
  type: e.type,
  schemaVersion: e.schemaVersion,
  streamId: e.streamId,
  streamRevision: BigInt(i),
  position: BigInt(i),
  data,
  metadata: JSON.stringify(e.metadata),
});
const batches = <T>(xs: readonly T[]): T[][] => Array.from({ length: Math.ceil(xs.length / BATCH) }, (_, i) => xs.slice(i * BATCH, (i + 1) * BATCH));

// Warm-up: creates every subject's key and lets the JIT settle.
for (const b of batches(events)) await codec.decodeAll((await codec.encodeAll(b)).map((d, i) => record(b[i]!, JSON.stringify(d), i)));

// Stored forms, made once, for the decode-only rows.
const plainStored = batches(events).map((b) => b.map((e, i) => record(e, JSON.stringify(e.data), i)));
const encStored: RawStoredEvent[][] = [];
for (const b of batches(events)) encStored.push((await codec.encodeAll(b)).map((d, i) => record(b[i]!, JSON.stringify(d), i)));

type Row = 'plain round trip' | 'codec round trip' | 'plain decode' | 'codec decode' | 'codec decode cold';
const cases: Record<Row, () => Promise<void>> = {
  'plain round trip': async () => {
    for (const b of batches(events)) {
      const stored = b.map((e, i) => record(e, JSON.stringify(e.data), i));
      for (const r of stored) JSON.parse(r.data as string);
    }
  },
  'codec round trip': async () => {
    for (const b of batches(events)) {
      const stored = (await codec.encodeAll(b)).map((d, i) => record(b[i]!, JSON.stringify(d), i));
      await codec.decodeAll(stored);
    }
  },
  'plain decode': async () => {
    for (const b of plainStored) for (const r of b) JSON.parse(r.data as string);
  },
  'codec decode': async () => {
    for (const b of encStored) await codec.decodeAll(b);
  },
  // An empty key cache per batch: one key-store statement per batch (PGlite in memory: CPU, not network).
  'codec decode cold': async () => {
    for (const b of encStored) {
      const cold = createPiiCodec({ keyStore: await sqlKeyStore(db, { masterKey, migrate: false }) });
      await cold.decodeAll(b);
    }
  },
};
const names = Object.keys(cases) as Row[];
const samples = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Row, number[]>;
for (let round = 0; round < ROUNDS; round++) {
  for (let j = 0; j < names.length; j++) {
    const name = names[(round + j) % names.length]!;
    const t0 = performance.now();
    await cases[name]();
    samples[name].push(N / ((performance.now() - t0) / 1000));
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
// Each codec row against its plain counterpart: round trip vs round trip, decode vs decode.
const baseline = (name: Row): Row => (name.includes('round trip') ? 'plain round trip' : 'plain decode');
const rows = names.map((name) => ({
  case: name,
  eventsPerSecond: Math.round(median(samples[name])),
  min: Math.round(Math.min(...samples[name])),
  max: Math.round(Math.max(...samples[name])),
  ratioToPlain: Number((median(samples[name]) / median(samples[baseline(name)])).toFixed(3)),
}));
console.log(`pii codec round trip: ${N} LeadCaptured events (4 personal fields), batches of ${BATCH}, ${SUBJECTS} subjects, ${ROUNDS} rounds (median, min–max)`);
for (const r of rows) console.log(`  ${r.case.padEnd(18)} ${String(r.eventsPerSecond).padStart(9)} events/s  (${r.min}–${r.max})  ×${r.ratioToPlain} of plain`);
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'pii-codec.json');
await mkdir(dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify({ events: N, batch: BATCH, subjects: SUBJECTS, rounds: ROUNDS, node: process.version, rows }, null, 2)}\n`);
await db.close();

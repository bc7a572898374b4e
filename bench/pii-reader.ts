/**
 * `npx tsx bench/pii-reader.ts` — the projector's decode hand-over in one process: the event reader
 * (platform/event-store/read-events.ts: decrypt + upcast + validate) over stored LeadCaptured records,
 * plain vs encrypted, the worst case of catch-up (one new subject per event, so every key is fetched
 * and unwrapped once: an empty key cache per batch) and the warm case (keys cached). PGlite in memory,
 * so the key-store statement is CPU, not network. Env: BENCH_EVENTS (8000), BENCH_BATCH (500),
 * BENCH_ROUNDS (5), BENCH_FORMAT (v2 | v1: the stored ciphertext format), BENCH_ONLY (one case: plain | encrypted warm | codec warm | encrypted cold),
 * BENCH_PROFILE (a file: a CPU profile of the measured rounds only, for `--cpu-prof`-style analysis without
 * the set-up). Median events/s and µs/event per case (wall, and CPU of this process: steadier on a shared
 * machine), and each case's ratio to plain.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createEventReader } from '../platform/event-store/read-events.js';
import { createPiiCodec, type EventToEncode } from '../platform/pii/codec.js';
import { sqlKeyStore } from '../platform/pii/key-store.js';
import { parseMasterKey } from '../platform/pii/master-key.js';
import { openPglite, pgliteClient } from '../platform/sql/client.js';
import type { RawStoredEvent } from '../schemas/events/registry.js';

const N = Number(process.env.BENCH_EVENTS ?? 8_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const db = pgliteClient(await openPglite());
const masterKey = parseMasterKey(randomBytes(32).toString('base64url'));
const writerKeys = await sqlKeyStore(db, { masterKey, cacheSize: N * 2, cacheTtlMs: 60_000 });
// BENCH_FORMAT=v1: the records written in the per-field format (v2, one seal per event, is the default).
const writer = createPiiCodec({ keyStore: writerKeys, format: process.env.BENCH_FORMAT === 'v1' ? 'v1' : 'v2' });

const events: EventToEncode[] = Array.from({ length: N }, (_, i) => {
  const leadId = randomUUID();
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
    metadata: { tenantId: 'bench', subjectId: leadId, occurredAt: '2026-11-30T10:00:00.000Z', actor: { userId: 'bench', roles: ['admin'] }, correlationId: randomUUID(), causationId: randomUUID() },
  };
});
// Stored as a bus message carries it: data as bytes, metadata as text.
const record = (e: EventToEncode, data: unknown, i: number): RawStoredEvent => ({
  eventId: e.eventId,
  type: e.type,
  schemaVersion: e.schemaVersion,
  streamId: e.streamId,
  streamRevision: 0n,
  position: BigInt(i),
  data: Buffer.from(JSON.stringify(data)),
  metadata: JSON.stringify(e.metadata),
});
const batches = <T>(xs: readonly T[]): T[][] => Array.from({ length: Math.ceil(xs.length / BATCH) }, (_, i) => xs.slice(i * BATCH, (i + 1) * BATCH));

const plainStored = batches(events).map((b) => b.map((e, i) => record(e, e.data, i)));
const encStored: RawStoredEvent[][] = [];
for (const b of batches(events)) encStored.push((await writer.encodeAll(b)).map((d, i) => record(b[i]!, d, i)));

const plainReader = createEventReader();
const warmKeys = await sqlKeyStore(db, { masterKey, migrate: false, cacheSize: N * 2, cacheTtlMs: 3_600_000 });
const warmReader = createEventReader(createPiiCodec({ keyStore: warmKeys }));
const check = (outcomes: Awaited<ReturnType<typeof plainReader.read>>) => {
  for (const o of outcomes) if (!o.ok) throw o.error;
};
check((await warmReader.read(encStored[0]!)).concat(await plainReader.read(plainStored[0]!)));

const warmCodec = createPiiCodec({ keyStore: warmKeys });
type Case = 'plain' | 'encrypted warm' | 'encrypted cold' | 'codec warm';
const cases: Record<Case, () => Promise<void>> = {
  plain: async () => {
    for (const b of plainStored) check(await plainReader.read(b));
  },
  'encrypted warm': async () => {
    for (const b of encStored) check(await warmReader.read(b));
  },
  'codec warm': async () => {
    for (const b of encStored) await warmCodec.decodeAll(b);
  },
  'encrypted cold': async () => {
    for (const b of encStored) {
      const cold = createEventReader(createPiiCodec({ keyStore: await sqlKeyStore(db, { masterKey, migrate: false }) }));
      check(await cold.read(b));
    }
  },
};
const only = process.env.BENCH_ONLY as Case | undefined;
const names = (Object.keys(cases) as Case[]).filter((n) => !only || n === only);
// BENCH_PROFILE=file.cpuprofile: a CPU profile of the measured rounds only (not the set-up).
const profile = process.env.BENCH_PROFILE;
const session = profile ? new (await import('node:inspector')).Session() : undefined;
const post = (method: string): Promise<unknown> => new Promise((ok, ko) => session!.post(method, (e, r) => (e ? ko(e) : ok(r))));
if (session) {
  session.connect();
  await post('Profiler.enable');
  await post('Profiler.start');
}
const samples = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Case, number[]>;
// CPU µs per event of this process (user + system, all its threads): steadier than wall time on a shared machine.
const cpu = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Case, number[]>;
for (let round = 0; round < ROUNDS; round++) {
  for (let j = 0; j < names.length; j++) {
    const name = names[(round + j) % names.length]!;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await cases[name]();
    samples[name].push(N / ((performance.now() - t0) / 1000));
    const c = process.cpuUsage(c0);
    cpu[name].push((c.user + c.system) / N);
  }
}
if (session) {
  const { profile: p } = (await post('Profiler.stop')) as { profile: unknown };
  (await import('node:fs')).writeFileSync(profile!, JSON.stringify(p));
  session.disconnect();
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`event reader: ${N} LeadCaptured records (4 personal fields, one subject each), batches of ${BATCH}, ${ROUNDS} rounds (median)`);
for (const n of names) {
  const m = median(samples[n]);
  console.log(
    `  ${n.padEnd(15)} ${String(Math.round(m)).padStart(8)} events/s  ${(1e6 / m).toFixed(1).padStart(6)} µs/event  cpu ${median(cpu[n]).toFixed(1).padStart(6)} µs/event${samples.plain ? `  ×${(m / median(samples.plain)).toFixed(3)} of plain` : ''}`,
  );
}
await db.close();

/**
 * `npm run bench:seed` — the rate of `annals seed` (scripts/seed): contacts through the write side (the
 * command API's handlers, the conversion handler, the GDPR codec) into an embedded event store (PGlite in
 * memory, key tables beside it), in events/s, next to a raw append of THE SAME stored events (the records
 * the seed wrote, ciphertext and all, one event per append as most commands write, same concurrency) into
 * a fresh PGlite through the adapter alone: no HTTP, no decider, no codec, no claims. Same process, same run.
 *
 * Env: BENCH_CONTACTS (500), BENCH_CONCURRENCY (8). Writes bench/results/seed.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEventStore } from '../platform/event-store/event-store.js';
import { postgresEventStore } from '../platform/event-store/postgres/adapter.js';
import { createLogger } from '../platform/logging/logger.js';
import { createPiiCodec } from '../platform/pii/codec.js';
import { sqlKeyStore } from '../platform/pii/key-store.js';
import { parseMasterKey } from '../platform/pii/master-key.js';
import { openPglite, pgliteClient } from '../platform/sql/client.js';
import { seed } from '../scripts/seed/seed.js';
import { testConfig } from '../write-side/testing.js';

const CONTACTS = Number(process.env.BENCH_CONTACTS ?? 500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const master = randomBytes(32).toString('base64url');

const sql = pgliteClient(await openPglite());
const keyStore = await sqlKeyStore(sql, { masterKey: parseMasterKey(master) });
const store = createEventStore(await postgresEventStore(sql), { codec: createPiiCodec({ keyStore }) });
const report = await seed({ config: testConfig({ piiMasterKey: master }), logger: createLogger({ level: 'silent', name: 'bench-seed' }), eventStore: store }, { contacts: CONTACTS, tenant: 'bench', seed: 'bench', concurrency: CONCURRENCY });
const records = (await store.readAllRaw({ maxCount: 10_000_000 })).filter((r) => !r.streamId.startsWith('checkpoint-'));

const rawSql = pgliteClient(await openPglite());
const raw = await postgresEventStore(rawSql);
let next = 0;
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
const seedRate = report.events / (report.elapsedMs / 1000);
const rawRate = records.length / (rawMs / 1000);
const result = {
  at: new Date().toISOString(),
  contacts: report.contacts,
  commands: report.commands,
  events: report.events,
  seedMs: report.elapsedMs,
  seedEventsPerSec: Math.round(seedRate),
  seedCommandsPerSec: Math.round(report.commands / (report.elapsedMs / 1000)),
  rawAppendMs: Math.round(rawMs),
  rawEventsPerSec: Math.round(rawRate),
  ratio: +(seedRate / rawRate).toFixed(3),
  concurrency: CONCURRENCY,
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'seed.json');
await mkdir(dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
await store.close();
await rawSql.close();

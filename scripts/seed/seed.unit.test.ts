import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { createLogger } from '../../platform/logging/logger.js';
import { createPiiCodec } from '../../platform/pii/codec.js';
import { sqlKeyStore } from '../../platform/pii/key-store.js';
import { parseMasterKey } from '../../platform/pii/master-key.js';
import { openPglite, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import { testConfig } from '../../write-side/testing.js';
import { openSeedTarget } from './open.js';
import { prng, uuidV7At } from './prng.js';
import { conversionCheckpoint, seed, type SeedProgress } from './seed.js';

/** `annals seed` on embedded adapters: deterministic, through the write side, every aggregate touched. */
const MASTER = randomBytes(32).toString('base64url');
const logger = createLogger({ level: 'silent', name: 'seed-test' });

async function encryptedStore(): Promise<{ store: EventStore; sql: SqlClient[] }> {
  // One PGlite per store (key tables beside the events): PGlite start-up is most of this file's time.
  const es = pgliteClient(await openPglite());
  const keyStore = await sqlKeyStore(es, { masterKey: parseMasterKey(MASTER) });
  return { store: createEventStore(await postgresEventStore(es), { codec: createPiiCodec({ keyStore }) }), sql: [es] };
}

/** Every event of the store as (stream, type, event id, data), in stream order: what "the same events" means. */
async function dump(store: EventStore): Promise<string[]> {
  const out: string[] = [];
  for (const e of await store.readAll({ maxCount: 100_000 })) {
    if (e.streamId.startsWith('checkpoint-')) continue;
    // A claim's `attempt` token tells concurrent attempts apart (contact/reservations.ts): random by design.
    const data = e.type === 'ContactEmailClaimed' || e.type === 'ContactNameIndexed' ? { ...(e.data as object), attempt: '*' } : e.data;
    out.push(JSON.stringify([e.streamId, e.streamRevision.toString(), e.type, e.eventId, data]));
  }
  return out.sort();
}

describe('annals seed', { timeout: 300_000 }, () => {
  const opened: SqlClient[] = [];
  let a: EventStore;
  let b: EventStore;
  before(async () => {
    const x = await encryptedStore();
    const y = await encryptedStore();
    a = x.store;
    b = y.store;
    opened.push(...x.sql, ...y.sql);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    for (const s of opened) await s.close().catch(() => {});
  });

  it('the PRNG and the ids are pure functions of their names', () => {
    const r1 = prng('s:person:1');
    const r2 = prng('s:person:1');
    assert.deepEqual(Array.from({ length: 5 }, () => r1.next()), Array.from({ length: 5 }, () => r2.next()));
    assert.notEqual(prng('s:person:2').next(), prng('s:person:1').next());
    const id = uuidV7At(Date.parse('2026-01-01T00:00:00Z'), 'x');
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(id, uuidV7At(Date.parse('2026-01-01T00:00:00Z'), 'x'));
    assert.ok(uuidV7At(Date.parse('2026-01-01T00:00:00Z'), 'x') < uuidV7At(Date.parse('2026-01-02T00:00:00Z'), 'a'), 'ids sort by time');
  });

  it('same seed → the same events (ids and data), at any concurrency; every aggregate and outcome is there', async () => {
    const seen: SeedProgress[] = [];
    const config = testConfig({ piiMasterKey: MASTER });
    const one = await seed({ config, logger, eventStore: a }, { contacts: 16, tenant: 'demo', seed: 'g', concurrency: 6, onProgress: (p) => seen.push(p) });
    const two = await seed({ config, logger, eventStore: b }, { contacts: 16, tenant: 'demo', seed: 'g', concurrency: 1 });
    assert.equal(one.contacts, 16);
    assert.equal(two.events, one.events);
    assert.ok(seen.length >= 16 && seen.at(-1)!.contacts === 16, 'progress reported per contact');
    const da = await dump(a);
    assert.deepEqual(await dump(b), da);
    const types = new Set(da.map((l) => (JSON.parse(l) as string[])[2]));
    for (const t of ['ContactCreated', 'ContactInteractionLogged', 'ConsentGranted', 'LeadCaptured', 'LeadQualified', 'LeadScored', 'LeadConverted', 'LeadStatusChanged', 'DealOpened', 'DealStageMoved', 'DealWon', 'DealLost', 'BudgetCreated', 'BudgetAllocated', 'BudgetSpendRecorded']) {
      assert.ok(types.has(t), `the demo data has ${t}`);
    }
    const contacts = da.filter((l) => (JSON.parse(l) as string[])[2] === 'ContactCreated');
    assert.equal(contacts.length, 16, 'exactly the contacts asked for (direct and converted)');
    // Personal data went through the codec: the stored bytes hold ciphertext.
    const raw = await a.readAllRaw({ maxCount: 500 });
    for (const r of raw.filter((x) => x.type === 'ContactCreated')) assert.match(String(r.data), /"firstName":"pii:v2:/);
  });

  it('shards together write exactly the events of one run, and the conversion checkpoint once, after all', async () => {
    // a holds the 16 contacts of seed "g" (the test above). Three shards, concurrently, on a fresh store.
    const c = await encryptedStore();
    try {
      const config = testConfig({ piiMasterKey: MASTER });
      const checkpoint = await conversionCheckpoint(c.store);
      const reports = await Promise.all([0, 1, 2].map((index) => seed({ config, logger, eventStore: c.store }, { contacts: 16, tenant: 'demo', seed: 'g', concurrency: 3, shard: { index, count: 3 } })));
      assert.deepEqual(reports.map((r) => r.total), [6, 5, 5], 'persons 0,3,…,15 / 1,4,…,13 / 2,5,…,14');
      assert.equal(reports.reduce((n, r) => n + r.contacts, 0), 16);
      assert.equal(reports.reduce((n, r) => n + r.budgets, 0), 3);
      assert.equal((await c.store.readStream('checkpoint-lead-conversion')).length, 0, 'a shard leaves the checkpoint to its coordinator');
      const head = await c.store.headPosition();
      await checkpoint.advance(new Date('2026-11-01T00:00:00.000Z'));
      const [moved] = await c.store.readStream('checkpoint-lead-conversion');
      assert.equal(moved?.type === 'ProcessorCheckpointed' && moved.data.position, String(head));
      assert.deepEqual(await dump(c.store), await dump(a));
      await assert.rejects(seed({ config, logger, eventStore: c.store }, { contacts: 1, tenant: 'x', seed: 'g', shard: { index: 3, count: 3 } }), /shard 3 of 3 does not exist/);
    } finally {
      await c.store.close();
    }
  });

  it('embedded as `annals seed` opens it (data directory, each database on its own thread): the same events, encrypted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'annals-seed-dir-'));
    const base = testConfig({ piiMasterKey: MASTER, dataDir: dir, eventStore: { kind: 'pglite', dir: join(dir, 'eventstore') } });
    const config = { ...base, pii: { ...base.pii, encryption: true } };
    const target = await openSeedTarget(config, 8);
    try {
      await seed({ config, logger, eventStore: target.eventStore }, { contacts: 16, tenant: 'demo', seed: 'g', concurrency: 8 });
      assert.deepEqual(await dump(target.eventStore), await dump(a));
      const raw = await target.eventStore.readAllRaw({ maxCount: 500 });
      for (const r of raw.filter((x) => x.type === 'ContactCreated')) assert.match(String(r.data), /"firstName":"pii:v2:/);
    } finally {
      await target.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('another seed gives other data', async () => {
    const c = await encryptedStore();
    try {
      await seed({ config: testConfig({ piiMasterKey: MASTER }), logger, eventStore: c.store }, { contacts: 3, tenant: 'demo', seed: 'h' });
      const first = (await dump(c.store)).find((l) => l.includes('ContactCreated'));
      assert.ok(first && !(await dump(a)).includes(first));
    } finally {
      await c.store.close();
    }
  });
});

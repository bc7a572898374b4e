import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { EventStore } from '../../platform/event-store/event-store.js';
import { createLogger } from '../../platform/logging/logger.js';
import { pgClient, type SqlClient } from '../../platform/sql/client.js';
import { requireEnv } from '../../platform/testing/require-env.js';
import type { WriteSideConfig } from '../../write-side/config.js';
import { testConfig } from '../../write-side/testing.js';
import { openSeedTarget, type SeedTarget } from './open.js';
import { seed } from './seed.js';
import { seedInWorkers } from './workers.js';

/**
 * `annals seed --workers` on the PostgreSQL server: worker threads, each with its own write side and pools,
 * write exactly the events of one in-process run (ids and data), with encryption on and the conversion
 * checkpoint moved once. Two fresh databases of the EVENTSTORE_URL server (events and key tables each).
 */
const MASTER = randomBytes(32).toString('base64url');
const logger = createLogger({ level: 'silent', name: 'seed-int' });

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

describe('annals seed on the PostgreSQL server', { timeout: 300_000 }, () => {
  const names = [`annals_seed_test_${randomUUID().replaceAll('-', '')}`, `annals_seed_test_${randomUUID().replaceAll('-', '')}`];
  let admin: SqlClient;
  const configs: WriteSideConfig[] = [];
  const targets: SeedTarget[] = [];
  before(async () => {
    const url = new URL(requireEnv('EVENTSTORE_URL'));
    admin = pgClient(url.toString(), { max: 1 });
    for (const name of names) {
      await admin.exec(`CREATE DATABASE ${name}`);
      url.pathname = `/${name}`;
      const base = testConfig({ piiMasterKey: MASTER, eventStore: { kind: 'postgres', url: url.toString() }, readDbUrl: url.toString() });
      const config = { ...base, pii: { ...base.pii, encryption: true, keyStoreUrl: url.toString() } };
      configs.push(config);
      targets.push(await openSeedTarget(config, 8, { applicationName: 'seed-int' }));
    }
  });
  after(async () => {
    for (const t of targets) await t.close().catch(() => {});
    for (const name of names) await admin?.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin?.close();
  });

  it('three worker threads write the events of one in-process run; personal data encrypted; checkpoint at the head', async () => {
    const [one, three] = targets as [SeedTarget, SeedTarget];
    const alone = await seed({ config: configs[0]!, logger, eventStore: one.eventStore }, { contacts: 20, tenant: 'demo', seed: 'w', concurrency: 8 });
    const progress: number[] = [];
    const split = await seedInWorkers(configs[1]!, three.eventStore, { contacts: 20, tenant: 'demo', seed: 'w', concurrency: 8, onProgress: (p) => progress.push(p.contacts) }, 3);
    assert.equal(split.contacts, 20);
    assert.equal(split.events, alone.events);
    assert.equal(split.budgets, alone.budgets);
    assert.ok(progress.at(-1) === 20, 'the last progress counts every worker');
    assert.deepEqual(await dump(three.eventStore), await dump(one.eventStore));
    const raw = await three.eventStore.readAllRaw({ maxCount: 100_000 });
    const created = raw.filter((r) => r.type === 'ContactCreated');
    assert.equal(created.length, 20);
    for (const r of created) assert.match(String(r.data), /"firstName":"pii:v2:/);
    const checkpoint = raw.filter((r) => r.streamId === 'checkpoint-lead-conversion');
    assert.equal(checkpoint.length, 1, 'moved once, by the coordinator');
    const lastSeeded = raw.filter((r) => r.streamId !== 'checkpoint-lead-conversion').at(-1)!.position;
    assert.equal((JSON.parse(String(checkpoint[0]!.data)) as { position: string }).position, lastSeeded.toString(), 'past every conversion the workers ran');
  });

  it('a worker that fails stops the seed with its reason, and no worker writes after it', async () => {
    // The same seed again: its first command finds its aggregate already there (409).
    const store = targets[1]!.eventStore;
    await assert.rejects(seedInWorkers(configs[1]!, store, { contacts: 20, tenant: 'demo', seed: 'w', concurrency: 4 }, 2), /answered 409/);
    const head = await store.headPosition();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await store.headPosition(), head);
  });
});

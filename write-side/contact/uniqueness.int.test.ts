import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { pgClient } from '../../platform/sql/client.js';
import { requireEnv } from '../../platform/testing/require-env.js';
import { bearer, testApp, token, type TestApp } from '../testing.js';
import { assertEmailsUnique, emailInterleavings, jitteryStore, pausingStore, seeded, stressEmails, type InterleavingContext } from './testing.js';

// Email uniqueness on a real PostgreSQL event store with a connection pool, where concurrent commands
// really interleave (`annals stack up`; EVENTSTORE_URL from `annals stack env`). Missing env FAILS.
const url = requireEnv('EVENTSTORE_URL');

describe('email uniqueness under concurrent writes (PostgreSQL)', () => {
  let store: EventStore;
  let paused: ReturnType<typeof pausingStore>;
  let t: TestApp;
  before(async () => {
    assert.match(url, /^postgres(ql)?:\/\//, 'this suite needs the PostgreSQL event store');
    store = createEventStore(await postgresEventStore(pgClient(url, { max: 20 })));
    paused = pausingStore(store);
    t = await testApp({ store: paused.store });
  });
  after(async () => {
    await t?.close();
    await store?.close();
  });

  const context = async (): Promise<InterleavingContext> => {
    const tenant = `it-${randomUUID()}`;
    return { app: t.app, pauseNextAppend: paused.pauseNextAppend, headers: bearer(await token({ tenant, roles: ['sales'] })), email: (l) => `${l}-${tenant}@example.com` };
  };

  it('PATCH {A@ + title} paused before its append, PATCH {b@} lands: a@ stays with its contact, b@ is free', async () => {
    await emailInterleavings.caseChangeAgainstEmailChange(await context());
  });

  it('PATCH {c@} paused, PATCH {b@} lands: c@ is held, a@ and b@ are free', async () => {
    await emailInterleavings.twoEmailChanges(await context());
  });

  it('an idempotent retry overtaking its original keeps the email its contact uses', async () => {
    await emailInterleavings.retryOvertakesOriginal(await context());
  });

  it('randomized, pooled: 800 creates, CSV imports, email changes, merges and idempotent retries over 5 emails (≤ 60 s)', async () => {
    const seed = Number(process.env.STRESS_SEED ?? Date.now() % 100_000);
    // Small random delays before reads widen the read→append windows the pool opens anyway.
    const jittery = await testApp({ store: jitteryStore(store, 3, seeded(seed + 1)) });
    try {
      const tenant = `stress-${randomUUID()}`;
      const headers = bearer(await token({ tenant, roles: ['manager'] }));
      const emails = ['one', 'two', 'three', 'four', 'five'].map((l) => `${l}@${tenant}.example.com`);
      const result = await stressEmails({ app: jittery.app, store, headers, emails, operations: 800, concurrency: 16, maxMs: 60_000, seed });
      console.log(`PostgreSQL email stress (seed ${seed}): ${result.operations} operations, ${result.contactIds.length} contacts in ${Math.round(result.ms)} ms`);
      console.log(JSON.stringify(result.statuses));
      assert.ok(result.operations >= 100, `only ${result.operations} operations ran in time`);
      await assertEmailsUnique({ app: jittery.app, store, headers, contactIds: result.contactIds, emails });
    } finally {
      await jittery.close();
    }
  });
});

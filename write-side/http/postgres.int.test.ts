import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { pgClient } from '../../platform/sql/client.js';
import { requireEnv } from '../../platform/testing/require-env.js';
import { stageMoveRace } from '../deal/testing.js';
import { bearer, send, testApp, token, type TestApp } from '../testing.js';

// The command API against a real PostgreSQL event store (`annals stack up`; EVENTSTORE_URL from
// `annals stack env`). Missing env FAILS here, never skips. A fresh tenant per run keeps runs apart.
// Read at load time: without it the file fails outright (never a skip, never a silent cancel).
const url = requireEnv('EVENTSTORE_URL');

describe('command API on PostgreSQL', () => {
  let store: EventStore;
  let t: TestApp;
  let h: Record<string, string>;
  const tenant = `it-${randomUUID()}`;

  before(async () => {
    assert.match(url, /^postgres(ql)?:\/\//, 'this suite needs the PostgreSQL event store');
    store = createEventStore(await postgresEventStore(pgClient(url, { max: 20 })));
    t = await testApp({ store });
    h = bearer(await token({ tenant, roles: ['sales'] }));
  });
  after(async () => {
    await t?.close();
    await store?.close();
  });

  it('200 concurrent stage moves with If-Match: every 2xx once in the stream, every other answer 409', async () => {
    const contact = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'Racer' }, h);
    assert.equal(contact.statusCode, 201, contact.body);
    const deal = await send(t.app, 'POST', '/api/v1/deals', { name: 'Race', contactId: contact.json().id, value: { amountMinor: 1, currency: 'EUR' }, expectedCloseDate: '2030-01-01', ownerId: 'u' }, h);
    assert.equal(deal.statusCode, 201, deal.body);
    const result = await stageMoveRace({ app: t.app, store, headers: h, dealId: String(deal.json().id), movers: 200 });
    console.log(`PostgreSQL race: ${result.accepted} accepted, ${result.conflicts} conflicts in ${Math.round(result.ms)} ms`);
    assert.deepEqual(result.unexpected, []);
    assert.equal(result.accepted + result.conflicts, 200);
    assert.equal(result.streamMoves, result.accepted);
    assert.equal(result.uniqueRevisionsAccepted, result.accepted);
    // Every If-Match value that was sent names a revision the stream was at; exactly one mover carrying it lands.
    assert.deepEqual(result.ifMatchAcceptedTwice, {}, 'an If-Match revision was accepted twice (a lost update)');
    assert.equal(result.accepted, result.distinctIfMatch, 'one 200 per distinct If-Match value');
  });

  it('20 concurrent creates with one email → exactly one contact', async () => {
    const email = `race-${randomUUID()}@example.com`;
    const answers = await Promise.all(Array.from({ length: 20 }, () => send(t.app, 'POST', '/api/v1/contacts', { firstName: 'Same', email }, h)));
    const created = answers.filter((a) => a.statusCode === 201);
    assert.equal(created.length, 1, answers.map((a) => a.statusCode).join(','));
    for (const a of answers.filter((x) => x.statusCode !== 201)) {
      assert.equal(a.statusCode, 409);
      assert.equal(a.json().existingId, created[0]!.json().id);
    }
  });
});

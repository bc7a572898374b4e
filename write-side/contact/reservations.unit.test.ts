import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { EventStore } from '../../platform/event-store/event-store.js';
import { streamName } from '../../schemas/events/streams.js';
import { handleCommand, type CommandEnvelope } from '../kernel/handle-command.js';
import { bearer, memoryStore, send, testApp, testConfig, token, type TestApp } from '../testing.js';
import type { ContactCommand } from './commands.js';
import { contactDecider } from './decide.js';
import { emailClaimStream, emailOwner } from './email-claims.js';
import { reserveContactKeys } from './reservations.js';
import { assertEmailsUnique, emailInterleavings, jitteryStore, pausingStore, seeded, stressEmails, type InterleavingContext } from './testing.js';

const KEY = testConfig().emailHashKey;

describe('email uniqueness under concurrent writes (PGlite)', () => {
  let base: EventStore;
  let paused: ReturnType<typeof pausingStore>;
  let t: TestApp;
  before(async () => {
    base = await memoryStore();
    paused = pausingStore(base);
    t = await testApp({ store: paused.store });
  });
  after(async () => {
    await t.close();
    await base.close();
  });

  const context = async (): Promise<InterleavingContext> => {
    const tenant = `t-${randomUUID()}`;
    return { app: t.app, pauseNextAppend: paused.pauseNextAppend, headers: bearer(await token({ tenant, roles: ['sales'] })), email: (l) => `${l}-${tenant}@example.com` };
  };

  it('PATCH {A@ + title} paused, PATCH {b@} lands: a@ stays with its contact, b@ is free', async () => {
    await emailInterleavings.caseChangeAgainstEmailChange(await context());
  });

  it('PATCH {c@} paused, PATCH {b@} lands: c@ is held, a@ and b@ are free', async () => {
    await emailInterleavings.twoEmailChanges(await context());
  });

  it('an idempotent retry overtaking its original keeps the email its contact uses', async () => {
    await emailInterleavings.retryOvertakesOriginal(await context());
  });

  it('a merged duplicate frees its email with no release event', async () => {
    const h = bearer(await token({ tenant: `m-${randomUUID()}`, roles: ['manager'] }));
    const dup = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'Dup', email: 'dup@example.com' }, h);
    const survivor = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'Keep' }, h);
    assert.equal((await send(t.app, 'POST', `/api/v1/contacts/${dup.json().id}/merge`, { survivorId: survivor.json().id }, h)).statusCode, 200);
    assert.equal((await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'New', email: 'DUP@example.com' }, h)).statusCode, 201);
  });

  it('randomized: creates, CSV imports, email changes, merges and idempotent retries over 4 emails keep emails unique and free ones takeable', async () => {
    const seed = Number(process.env.STRESS_SEED ?? Date.now() % 100_000);
    const jittery = await testApp({ store: jitteryStore(base, 4, seeded(seed + 1)) });
    try {
      const tenant = `stress-${randomUUID()}`;
      const headers = bearer(await token({ tenant, roles: ['manager'] }));
      const emails = ['one', 'two', 'three', 'four'].map((l) => `${l}@${tenant}.example.com`);
      const result = await stressEmails({ app: jittery.app, store: base, headers, emails, operations: 60, concurrency: 8, maxMs: 15_000, seed });
      console.log(`PGlite email stress (seed ${seed}): ${result.operations} operations, ${result.contactIds.length} contacts in ${Math.round(result.ms)} ms`);
      await assertEmailsUnique({ app: jittery.app, store: base, headers, contactIds: result.contactIds, emails });
    } finally {
      await jittery.close();
    }
  });
});

describe('reserveContactKeys: claims per attempt', () => {
  let store: EventStore;
  const tenantId = 'tenant-r';
  const envelope: CommandEnvelope = { tenantId, actor: { userId: 'u', roles: ['sales'] }, correlationId: 'c', causationId: 'c' };
  const deps = () => ({ store, key: KEY });
  const create = (contactId: string, email: string): ContactCommand => ({
    type: 'CreateContact',
    data: { contactId, firstName: 'Ada', lastName: 'L', email, customFields: {}, tags: [] },
    metadata: { now: new Date(), tenantId, actor: envelope.actor },
  });
  before(async () => {
    store = await memoryStore();
  });
  after(() => store.close());

  it('a failed append takes back its own claim at once; the email is then free', async () => {
    const id = randomUUID();
    const failing: EventStore = { ...store, append: async () => Promise.reject(new Error('append failed')) };
    await assert.rejects(
      handleCommand(failing, contactDecider, streamName.contact(id), create(id, 'gone@example.com'), envelope, { reserve: reserveContactKeys({ store, key: KEY }, envelope, new Date()) }),
      /append failed/,
    );
    assert.equal(await emailOwner(deps(), tenantId, 'gone@example.com', new Date()), undefined);
  });

  it('a pending claim (append not landed yet) holds the email; an unused one frees it once the contact moved past its revision', async () => {
    const id = randomUUID();
    const now = new Date();
    let seen: string | undefined;
    const peeking: EventStore = {
      ...store,
      append: async (streamId, events, options) => {
        if (streamId === streamName.contact(id)) seen = await emailOwner(deps(), tenantId, 'pending@example.com', now);
        return store.append(streamId, events, options);
      },
    };
    await handleCommand(peeking, contactDecider, streamName.contact(id), create(id, 'pending@example.com'), envelope, { reserve: reserveContactKeys({ store, key: KEY }, envelope, now) });
    assert.equal(seen, id, 'held while the create was in flight');
    await handleCommand(store, contactDecider, streamName.contact(id), { type: 'UpdateContact', data: { email: 'moved@example.com' }, metadata: { now, tenantId, actor: envelope.actor } }, envelope, {
      reserve: reserveContactKeys(deps(), envelope, now),
    });
    assert.equal(await emailOwner(deps(), tenantId, 'pending@example.com', now), undefined, 'no release needed: the contact no longer uses it');
    assert.equal(await emailOwner(deps(), tenantId, 'MOVED@example.com', now), id);
  });

  it('claims written under the old (ambiguous) stream name are still honoured', async () => {
    const id = randomUUID();
    const now = new Date();
    // A contact created before the upgrade: its claim lives under the old name only, keyed with the
    // master key as it was configured then (the current key may be derived from it).
    const legacyKey = 'the-pii-master-key-as-configured-0123456789';
    const upgraded = { store, key: KEY, legacyKey };
    await handleCommand(store, contactDecider, streamName.contact(id), create(id, 'legacy@example.com'), envelope);
    const legacy = `contactemail-${createHmac('sha256', legacyKey).update(`${tenantId}\nlegacy@example.com`).digest('hex')}`;
    await store.append(legacy, [{ type: 'ContactEmailClaimed', data: { contactId: id }, metadata: { ...envelope, occurredAt: '2025-01-01T00:00:00.000Z' } }]);
    assert.notEqual(legacy, emailClaimStream(KEY, tenantId, 'legacy@example.com'));
    assert.equal(await emailOwner(upgraded, tenantId, 'Legacy@Example.com', now), id);
    assert.equal(await emailOwner(deps(), tenantId, 'Legacy@Example.com', now), undefined, 'without the legacy key the old claim is not found');
    const other = randomUUID();
    await assert.rejects(
      handleCommand(store, contactDecider, streamName.contact(other), create(other, 'legacy@example.com'), envelope, { reserve: reserveContactKeys(upgraded, envelope, now) }),
      (e: Error & { code?: string; details?: Record<string, unknown> }) => e.code === 'CONTACT_ERR_EMAIL_TAKEN' && e.details?.existingId === id,
    );
  });

  it('two contacts that already share an email (data from before the fix) keep it refused while either uses it', async () => {
    const now = new Date();
    const [x, w, z] = [randomUUID(), randomUUID(), randomUUID()];
    // Both created without reservations, then both claimed, as the old races could leave them.
    for (const id of [x, w]) {
      await handleCommand(store, contactDecider, streamName.contact(id), create(id, 'shared@example.com'), envelope);
      await store.append(emailClaimStream(KEY, tenantId, 'shared@example.com'), [{ type: 'ContactEmailClaimed', data: { contactId: id }, metadata: { ...envelope, occurredAt: '2025-01-01T00:00:00.000Z' } }]);
    }
    assert.equal(await emailOwner(deps(), tenantId, 'shared@example.com', now), w, 'the last claimant first');
    await handleCommand(store, contactDecider, streamName.contact(w), { type: 'UpdateContact', data: { email: 'w-own@example.com' }, metadata: { now, tenantId, actor: envelope.actor } }, envelope, {
      reserve: reserveContactKeys(deps(), envelope, now),
    });
    assert.equal(await emailOwner(deps(), tenantId, 'shared@example.com', now), x, 'the earlier claimant still uses it');
    await assert.rejects(
      handleCommand(store, contactDecider, streamName.contact(z), create(z, 'shared@example.com'), envelope, { reserve: reserveContactKeys(deps(), envelope, now) }),
      (e: Error & { code?: string; details?: Record<string, unknown> }) => e.code === 'CONTACT_ERR_EMAIL_TAKEN' && e.details?.existingId === x,
    );
  });

  it('the claim stream name encodes (tenant, email) as a tuple', () => {
    assert.notEqual(emailClaimStream(KEY, 'a\nb', 'c@example.com'), emailClaimStream(KEY, 'a', 'b\nc@example.com'));
    assert.equal(emailClaimStream(KEY, 'a', 'X@Example.com'), emailClaimStream(KEY, 'a', 'x@example.com'));
  });
});

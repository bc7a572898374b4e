import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { EventStore } from '../../platform/event-store/event-store.js';
import { streamName } from '../../schemas/events/streams.js';
import { handleCommand, type CommandEnvelope } from '../kernel/handle-command.js';
import { memoryStore, testConfig } from '../testing.js';
import { backfillContactReservations } from './backfill.js';
import type { ContactCommand } from './commands.js';
import { contactDecider } from './decide.js';
import { emailClaimStream, emailOwner } from './email-claims.js';
import { nameMatch } from './name-index.js';

const KEY = testConfig().piiMasterKey;

describe('backfillContactReservations: re-derives claims and name entries under the current names', () => {
  let store: EventStore;
  const tenantId = `bf-${randomUUID().slice(0, 8)}`;
  const envelope: CommandEnvelope = { tenantId, actor: { userId: 'u', roles: ['sales'] }, correlationId: 'c', causationId: 'c' };
  const now = new Date();
  // Contacts written without reservations, as the races (or the old names) could leave them.
  const create = async (email: string | undefined, company?: string) => {
    const contactId = randomUUID();
    const command: ContactCommand = {
      type: 'CreateContact',
      data: { contactId, firstName: 'Ada', lastName: contactId.slice(0, 6), ...(email ? { email } : {}), ...(company ? { company } : {}), customFields: {}, tags: [] },
      metadata: { now, tenantId, actor: envelope.actor },
    };
    await handleCommand(store, contactDecider, streamName.contact(contactId), command, envelope);
    return contactId;
  };
  before(async () => {
    store = await memoryStore();
  });
  after(() => store.close());

  it('claims every active contact\'s email, indexes its name, reports shared emails, and is idempotent', async () => {
    const x = await create('x@example.com', 'Engines');
    const legacy = `contactemail-${createHmac('sha256', KEY).update(`${tenantId}\nx@example.com`).digest('hex')}`;
    await store.append(legacy, [{ type: 'ContactEmailClaimed', data: { contactId: x }, metadata: { ...envelope, occurredAt: '2025-01-01T00:00:00.000Z' } }]);
    const [y, w] = [await create('shared@example.com'), await create('shared@example.com')];
    await create(undefined);

    const first = await backfillContactReservations({ store, key: KEY }, now, { batchSize: 2 });
    assert.equal(first.contacts >= 4, true);
    assert.equal(first.claimed, 2, 'x@ and one of the pair');
    assert.equal(first.indexed, 1, 'only x has a company');
    assert.deepEqual(first.sharedEmails.map((s) => [s.contactId, s.alsoUsedBy].sort()), [[y, w].sort()]);

    const [claim] = await store.readStream(emailClaimStream(KEY, tenantId, 'x@example.com'));
    assert.equal(claim?.type === 'ContactEmailClaimed' && claim.data.contactId, x, 'now under the current name');
    assert.equal(await emailOwner({ store, key: KEY }, tenantId, 'X@example.com', now), x);
    assert.ok(await nameMatch({ store, key: KEY }, tenantId, { firstName: 'Ada', lastName: x.slice(0, 6), company: 'engines' }));

    const second = await backfillContactReservations({ store, key: KEY }, now);
    assert.equal(second.claimed, 0);
    assert.equal(second.indexed, 0);
    assert.equal(second.sharedEmails.length, 1, 'the pair is still reported until someone resolves it');
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EventStore } from '../../platform/event-store/event-store.js';
import type { CommandEnvelope } from '../kernel/handle-command.js';
import { memoryStore } from '../testing.js';
import { emailOwner } from './email-claims.js';
import { indexName } from './name-index.js';
import { withReservations } from './reservations.js';

describe('withReservations: a failed or replayed write leaves no claim behind', () => {
  let store: EventStore;
  const envelope: CommandEnvelope = { tenantId: 'tenant-r', actor: { userId: 'u', roles: ['sales'] }, correlationId: 'c', causationId: 'c' };
  const deps = () => ({ store, key: 'k'.repeat(32) });
  const keys = { firstName: 'Ada', lastName: 'Lovelace', company: 'Engines', email: 'ada@example.com' };
  const id = '01900000-0000-7000-8000-0000000000b1';
  before(async () => {
    store = await memoryStore();
  });
  after(() => store.close());

  it('takes the email claim and the name entry back when the write throws', async () => {
    const now = new Date();
    await assert.rejects(
      withReservations(deps(), envelope, id, { before: undefined, after: keys }, now, {
        write: async () => {
          assert.equal(await emailOwner(deps(), 'tenant-r', keys.email, now), id, 'claimed while the write runs');
          throw new Error('append failed');
        },
        replayed: () => false,
      }),
      /append failed/,
    );
    assert.equal(await emailOwner(deps(), 'tenant-r', keys.email, now), undefined);
    // The entry is gone: indexing it again appends again.
    assert.equal(await indexName(deps(), envelope, keys, id, now), true);
  });

  it('a replayed write settles nothing it did not take', async () => {
    const now = new Date();
    const other = { ...keys, email: 'grace@example.com', firstName: 'Grace' };
    const result = await withReservations(deps(), envelope, id, { before: undefined, after: other }, now, { write: async () => 'replay', replayed: () => true });
    assert.equal(result, 'replay');
    assert.equal(await emailOwner(deps(), 'tenant-r', other.email, now), undefined);
  });
});

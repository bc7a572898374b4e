import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContactCreated } from '../contact.js';
import { EventSchemaError } from '../errors.js';
import { parseEvent, personalPathsOf, type RawStoredEvent } from '../registry.js';
import { contactCreatedV1, splitName } from './contact-created-v1.js';

const contactId = '01950000-0000-7000-8000-00000000000a';

const up = (data: unknown) => contactCreatedV1.up(contactCreatedV1.schema.parse(data));

describe('ContactCreated v1 → v2 upcaster', () => {
  it('splits the v1 name on the last space into a valid v2 payload', () => {
    const v1 = { contactId, name: 'Mary Ann Smith', email: 'mary@example.com', company: 'Acme', tags: ['vip'] };
    const v2 = { contactId, firstName: 'Mary Ann', lastName: 'Smith', email: 'mary@example.com', company: 'Acme', customFields: {}, tags: ['vip'] };
    assert.deepEqual(up(v1), v2);
    assert.deepEqual(ContactCreated.data.parse(up(v1)), v2);
  });

  it('makes a single word the firstName with an empty lastName', () => {
    const v1 = { contactId, name: 'Cher', customFields: { note: 'singer' } };
    const v2 = { contactId, firstName: 'Cher', lastName: '', customFields: { note: 'singer' }, tags: [] };
    assert.deepEqual(up(v1), v2);
    assert.deepEqual(ContactCreated.data.parse(up(v1)), v2);
  });

  it('ignores surrounding and repeated whitespace', () => {
    assert.deepEqual(splitName('  Jean   Dupont  '), { firstName: 'Jean', lastName: 'Dupont' });
  });

  it('keeps the v1 personal markers, so stored v1 events stay decryptable and erasable', () => {
    assert.deepEqual(personalPathsOf('ContactCreated', 1), [['name'], ['email'], ['phone'], ['customFields', '*']]);
  });
});

describe('parseEvent on a stored ContactCreated v1', () => {
  const raw = (data: unknown): RawStoredEvent => ({
    eventId: '01950000-0000-7000-8000-0000000000e1',
    type: 'ContactCreated',
    schemaVersion: 1,
    streamId: `contact-${contactId}`,
    streamRevision: 0n,
    position: 42n,
    data: JSON.stringify(data),
    metadata: JSON.stringify({
      tenantId: 'tenant-1',
      actor: { userId: 'user-1', roles: ['sales'] },
      correlationId: 'corr-1',
      causationId: 'cause-1',
      occurredAt: '2023-06-01T09:00:00Z',
      subjectId: contactId,
    }),
  });

  it('comes out as the current version, v2', () => {
    const event = parseEvent(raw({ contactId, name: 'Grace Brewster Hopper', phone: '+1 555 0100' }));
    assert.equal(event.type, 'ContactCreated');
    assert.equal(event.schemaVersion, 2);
    assert.deepEqual(event.data, { contactId, firstName: 'Grace Brewster', lastName: 'Hopper', phone: '+1 555 0100', customFields: {}, tags: [] });
    assert.equal(event.position, 42n);
  });

  it('refuses a v1 payload its own schema rejects, naming the field and the version', () => {
    assert.throws(
      () => parseEvent(raw({ contactId })),
      (e: unknown) => e instanceof EventSchemaError && e.eventType === 'ContactCreated@v1' && e.issues.some((i) => i.field === 'data.name'),
    );
  });
});

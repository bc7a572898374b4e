import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { contactsProjection } from './projection.js';
import { History, openReadModel, uuid, type ReadModelDb } from '../testing.js';

const alice = uuid(1);
const bob = uuid(2);
const lead = uuid(3, 'l');

function created(h: History, id: string, overrides: Partial<{ email: string; tenantId: string; convertedFromLeadId: string }> = {}) {
  return h.append(
    `contact-${id}`,
    'ContactCreated',
    {
      contactId: id,
      firstName: 'Alice',
      lastName: 'Martin',
      email: overrides.email ?? 'alice@example.com',
      phone: '+33 1 23 45 67 89',
      company: 'Acme',
      title: 'CTO',
      customFields: { birthday: '1990-01-01', shoeSize: '38' },
      tags: ['vip', 'paris'],
      ...(overrides.convertedFromLeadId ? { convertedFromLeadId: overrides.convertedFromLeadId } : {}),
    },
    overrides.tenantId ? { tenantId: overrides.tenantId } : {},
  );
}

describe('contacts projection', () => {
  let db: ReadModelDb;
  before(async () => {
    db = await openReadModel(contactsProjection);
  });
  after(() => db.close());

  it('ContactCreated inserts an active contact with every field', async () => {
    const h = new History();
    const e = created(h, alice, { convertedFromLeadId: lead });
    const rows = await (await db.replay(h.events)).rows('contacts');
    assert.deepEqual(rows, [
      {
        tenant_id: 'tenant-a',
        contact_id: alice,
        first_name: 'Alice',
        last_name: 'Martin',
        email: 'alice@example.com',
        phone: '+33 1 23 45 67 89',
        custom_fields: { birthday: '1990-01-01', shoeSize: '38' },
        company: 'Acme',
        title: 'CTO',
        tags: ['vip', 'paris'],
        status: 'active',
        merged_into: null,
        merged_at: null,
        converted_from_lead_id: lead,
        created_at: e.occurredAt,
        updated_at: e.occurredAt,
        last_interaction_at: null,
        erased_at: null,
        revision: 0,
        position: 1,
      },
    ]);
  });

  it('ContactUpdated changes only the named fields: null clears, custom fields merge per key, tags replace', async () => {
    const h = new History();
    created(h, alice);
    const u = h.append(`contact-${alice}`, 'ContactUpdated', {
      contactId: alice,
      lastName: 'Dupont',
      phone: null,
      title: 'CEO',
      customFields: { birthday: null, team: 'platform' },
      tags: ['customer'],
    });
    const [row] = await (await db.replay(h.events)).rows('contacts');
    assert.equal(row?.first_name, 'Alice');
    assert.equal(row?.last_name, 'Dupont');
    assert.equal(row?.email, 'alice@example.com');
    assert.equal(row?.phone, null);
    assert.equal(row?.company, 'Acme');
    assert.equal(row?.title, 'CEO');
    assert.deepEqual(row?.custom_fields, { shoeSize: '38', team: 'platform' });
    assert.deepEqual(row?.tags, ['customer']);
    assert.equal(row?.updated_at, u.occurredAt);
    assert.equal(row?.revision, 1);
    assert.equal(row?.position, 2);
  });

  it('ContactInteractionLogged keeps the latest interaction time, never moving it back', async () => {
    const h = new History();
    created(h, alice);
    const interaction = (occurredAt: string) =>
      h.append(`contact-${alice}`, 'ContactInteractionLogged', {
        contactId: alice,
        kind: 'call',
        channel: 'phone',
        occurredAt,
        summary: 'Talked about pricing',
        direction: 'outbound',
      });
    interaction('2025-01-01T12:00:00.000Z');
    const last = interaction('2024-12-15T08:00:00.000Z'); // back-dated
    const [row] = await (await db.replay(h.events)).rows('contacts');
    assert.equal(row?.last_interaction_at, '2025-01-01T12:00:00.000Z');
    assert.equal(row?.updated_at, last.occurredAt);
    assert.equal(row?.revision, 2);
  });

  it('ContactMerged marks the duplicate merged and points it to the survivor; the survivor is untouched', async () => {
    const h = new History();
    created(h, alice);
    created(h, bob, { email: 'alice+dup@example.com' });
    const m = h.append(`contact-${bob}`, 'ContactMerged', { contactId: bob, survivorId: alice }, { roles: ['manager'] });
    const rows = await (await db.replay(h.events)).rows('contacts', 'contact_id');
    assert.deepEqual(
      rows.map((r) => [r.contact_id, r.status, r.merged_into, r.merged_at, r.revision]),
      [
        [alice, 'active', null, null, 0],
        [bob, 'merged', alice, m.occurredAt, 1],
      ],
    );
  });

  it('ContactErased nulls every personal column and keeps the row as erased', async () => {
    const h = new History();
    created(h, alice);
    h.append(`contact-${bob}`, 'ContactCreated', { contactId: bob, firstName: 'Bob', lastName: '', customFields: {}, tags: [] });
    h.append(`contact-${alice}`, 'ContactMerged', { contactId: alice, survivorId: bob });
    const erased = h.append(`contact-${alice}`, 'ContactErased', { contactId: alice }, { roles: ['dpo'] });
    const rows = await (await db.replay(h.events)).rows('contacts', 'contact_id');
    const row = rows[0];
    for (const column of contactsProjection.personalColumns.contacts ?? []) assert.equal(row?.[column], null, column);
    assert.equal(row?.status, 'erased');
    assert.equal(row?.merged_into, bob);
    assert.equal(row?.erased_at, erased.occurredAt);
    assert.equal(row?.company, 'Acme');
    assert.equal(rows[1]?.first_name, 'Bob');
  });

  it('SubjectErased for a contact subject nulls personal columns; a lead subject does not touch contacts', async () => {
    const h = new History();
    created(h, alice);
    h.append(`consent-${lead}`, 'SubjectErased', { subjectId: lead, subjectType: 'lead', erasedAt: '2025-02-01T00:00:00.000Z' });
    let [row] = await (await db.replay(h.events)).rows('contacts');
    assert.equal(row?.email, 'alice@example.com');
    h.append(`consent-${alice}`, 'SubjectErased', { subjectId: alice, subjectType: 'contact', erasedAt: '2025-02-02T00:00:00.000Z' });
    [row] = await (await db.replay(h.events)).rows('contacts');
    assert.equal(row?.email, null);
    assert.equal(row?.first_name, null);
    assert.equal(row?.status, 'erased');
    assert.equal(row?.erased_at, '2025-02-02T00:00:00.000Z');
    assert.equal(row?.revision, 0, 'revision stays the contact stream revision');
  });

  it('keeps tenants apart: the same contact id in two tenants is two rows, and events of one never touch the other', async () => {
    const h = new History();
    created(h, alice);
    created(h, alice, { tenantId: 'tenant-b' });
    h.append(`contact-${alice}`, 'ContactUpdated', { contactId: alice, company: 'Globex' }, { tenantId: 'tenant-b' });
    h.append(`contact-${alice}`, 'ContactErased', { contactId: alice }, { tenantId: 'tenant-b' });
    const rows = await (await db.replay(h.events)).rows('contacts', 'tenant_id');
    assert.deepEqual(
      rows.map((r) => [r.tenant_id, r.company, r.status, r.email]),
      [
        ['tenant-a', 'Acme', 'active', 'alice@example.com'],
        ['tenant-b', 'Globex', 'erased', null],
      ],
    );
  });

  it('replaying the same history into a fresh generation yields the same rows', async () => {
    const h = new History();
    created(h, alice);
    created(h, bob, { email: 'bob@example.com' });
    h.append(`contact-${alice}`, 'ContactUpdated', { contactId: alice, customFields: { team: 'x' } });
    h.append(`contact-${bob}`, 'ContactInteractionLogged', {
      contactId: bob,
      kind: 'note',
      channel: 'crm',
      occurredAt: '2025-01-01T10:00:00.000Z',
      summary: 'note',
    });
    h.append(`contact-${bob}`, 'ContactMerged', { contactId: bob, survivorId: alice });
    const first = await (await db.replay(h.events)).dump();
    const second = await (await db.replay(h.events)).dump();
    assert.deepEqual(second, first);
    assert.equal(first.contacts?.length, 2);
  });

  it('ddl uses only the physical names it is given (index names included)', () => {
    const ddl = contactsProjection.ddl({ contacts: 'rm.contacts_g42' });
    assert.match(ddl, /CREATE TABLE rm\.contacts_g42 /);
    assert.match(ddl, /CREATE INDEX contacts_g42_tenant_email_idx ON rm\.contacts_g42 /);
    assert.doesNotMatch(ddl, /\bcontacts\b(?!_g42)/);
    assert.throws(() => contactsProjection.ddl({ contacts: 'Contacts"; DROP' }), /not a plain lower-case identifier/);
  });
});

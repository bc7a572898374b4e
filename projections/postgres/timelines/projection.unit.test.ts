import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { timelinesProjection } from './projection.js';
import { History, openReadModel, uuid, type Generation, type ReadModelDb } from '../testing.js';

const alice = uuid(1, 'c');
const bob = uuid(2, 'c');
const leadId = uuid(1, 'l');
const dealId = uuid(1, 'd');

function created(h: History, id = alice, tenantId?: string) {
  return h.append(
    `contact-${id}`,
    'ContactCreated',
    { contactId: id, firstName: 'Alice', lastName: 'Martin', email: 'alice@example.com', company: 'Acme', customFields: {}, tags: ['vip'] },
    tenantId ? { tenantId } : {},
  );
}

async function timeline(g: Generation, contactId: string, tenantId = 'tenant-a') {
  const rows = await g.rows('timelines', 'occurred_at, position');
  return rows.filter((r) => r.contact_id === contactId && r.tenant_id === tenantId);
}

describe('timelines projection', () => {
  let db: ReadModelDb;
  before(async () => {
    db = await openReadModel(timelinesProjection);
  });
  after(() => db.close());

  it('contact events: created, updated (field names only), interaction (business time, personal text in its own columns)', async () => {
    const h = new History();
    const c = created(h);
    h.append(`contact-${alice}`, 'ContactUpdated', { contactId: alice, email: 'new@example.com', phone: null, customFields: { birthday: '1990-01-01' } });
    const i = h.append(
      `contact-${alice}`,
      'ContactInteractionLogged',
      {
        contactId: alice,
        kind: 'email',
        channel: 'gmail',
        occurredAt: '2025-01-01T09:30:00.000Z',
        summary: 'Sent the proposal',
        outcome: 'Will answer next week',
        direction: 'outbound',
        marketingPurpose: 'marketing_email',
      },
      { userId: 'rep-9' },
    );
    const rows = await timeline(await db.replay(h.events), alice);
    assert.deepEqual(
      rows.map((r) => [r.entry_type, r.event_type, r.details, r.summary, r.outcome]),
      [
        ['contact_created', 'ContactCreated', { company: 'Acme', tags: ['vip'] }, null, null],
        ['contact_updated', 'ContactUpdated', { changedFields: ['email', 'phone', 'customFields'], customFieldKeys: ['birthday'] }, null, null],
        [
          'interaction',
          'ContactInteractionLogged',
          { kind: 'email', channel: 'gmail', direction: 'outbound', marketingPurpose: 'marketing_email' },
          'Sent the proposal',
          'Will answer next week',
        ],
      ],
    );
    assert.equal(rows[0]?.occurred_at, c.occurredAt);
    assert.equal(rows[0]?.event_id, c.eventId);
    assert.equal(rows[2]?.occurred_at, '2025-01-01T09:30:00.000Z');
    assert.equal(rows[2]?.recorded_at, i.occurredAt);
    assert.equal(rows[2]?.actor_id, 'rep-9');
    assert.equal(rows[2]?.position, 3);
    assert.ok(!JSON.stringify(rows[1]?.details).includes('new@example.com'), 'no personal value in details');
  });

  it('a merge writes merged_into on the duplicate and merged_from on the survivor', async () => {
    const h = new History();
    created(h, alice);
    created(h, bob);
    h.append(`contact-${bob}`, 'ContactMerged', { contactId: bob, survivorId: alice }, { roles: ['manager'] });
    const g = await db.replay(h.events);
    const [, dup] = await timeline(g, bob);
    const [, surv] = await timeline(g, alice);
    assert.deepEqual([dup?.entry_type, dup?.related_id, dup?.details], ['merged_into', alice, { survivorId: alice }]);
    assert.deepEqual([surv?.entry_type, surv?.related_id, surv?.details], ['merged_from', bob, { duplicateId: bob }]);
    assert.equal(dup?.position, surv?.position);
  });

  it('deals opened for the contact, and every later deal event, land on its timeline through the deal → contact link', async () => {
    const h = new History();
    created(h);
    const deal = `deal-${dealId}`;
    h.append(deal, 'DealOpened', {
      dealId,
      name: 'Acme CRM',
      contactId: alice,
      value: { amountMinor: 100_000, currency: 'EUR' },
      pipeline: 'default',
      stage: 'prospecting',
      probability: 10,
      expectedCloseDate: '2025-03-31',
      ownerId: 'rep-1',
    });
    h.append(deal, 'DealStageMoved', { from: 'prospecting', to: 'proposal', probability: 50 });
    h.append(deal, 'DealValueChanged', { from: { amountMinor: 100_000, currency: 'EUR' }, to: { amountMinor: 120_000, currency: 'EUR' } });
    h.append(deal, 'DealLost', { stage: 'proposal', value: { amountMinor: 120_000, currency: 'EUR' }, probability: 0, reason: 'Budget cut' });
    h.append(deal, 'DealReopened', { stage: 'proposal', probability: 50 });
    h.append(deal, 'DealWon', { stage: 'proposal', value: { amountMinor: 120_000, currency: 'EUR' }, probability: 100 });
    const g = await db.replay(h.events);
    const rows = (await timeline(g, alice)).slice(1);
    assert.deepEqual(
      rows.map((r) => [r.entry_type, r.related_id]),
      ['deal_opened', 'deal_stage_moved', 'deal_value_changed', 'deal_lost', 'deal_reopened', 'deal_won'].map((e) => [e, dealId]),
    );
    assert.deepEqual(rows[0]?.details, {
      name: 'Acme CRM',
      pipeline: 'default',
      stage: 'prospecting',
      probability: 10,
      valueMinor: 100_000,
      currency: 'EUR',
      expectedCloseDate: '2025-03-31',
    });
    assert.deepEqual(rows[1]?.details, { from: 'prospecting', to: 'proposal', probability: 50 });
    assert.deepEqual(rows[3]?.details, { stage: 'proposal', valueMinor: 120_000, currency: 'EUR', reason: 'Budget cut' });
    assert.deepEqual(await g.rows('timeline_links'), [{ tenant_id: 'tenant-a', ref_id: dealId, kind: 'deal', contact_id: alice }]);
  });

  it('a lead conversion shows on the new contact', async () => {
    const h = new History();
    h.append(`lead-${leadId}`, 'LeadConverted', { leadId, contactId: alice });
    h.append(`contact-${alice}`, 'ContactCreated', {
      contactId: alice,
      firstName: 'Alice',
      lastName: 'M',
      customFields: {},
      tags: [],
      convertedFromLeadId: leadId,
    });
    const rows = await timeline(await db.replay(h.events), alice);
    assert.deepEqual(
      rows.map((r) => [r.entry_type, r.related_id, r.details]),
      [
        ['lead_converted', leadId, { leadId }],
        ['contact_created', leadId, { tags: [], convertedFromLeadId: leadId }],
      ],
    );
  });

  it('consent granted / withdrawn for a contact; a lead subject never reaches a contact timeline', async () => {
    const h = new History();
    created(h);
    h.append(`consent-${alice}`, 'ConsentGranted', {
      subjectId: alice,
      subjectType: 'contact',
      purpose: 'marketing_email',
      lawfulBasis: 'consent',
      source: 'web form /newsletter',
      noticeVersion: 'v3',
      grantedAt: '2025-01-05T00:00:00.000Z',
    });
    h.append(`consent-${alice}`, 'ConsentWithdrawn', {
      subjectId: alice,
      purpose: 'marketing_email',
      source: 'unsubscribe link',
      withdrawnAt: '2025-01-06T00:00:00.000Z',
    });
    h.append(`consent-${leadId}`, 'ConsentGranted', {
      subjectId: leadId,
      subjectType: 'lead',
      purpose: 'sms',
      lawfulBasis: 'consent',
      source: 'landing page',
      noticeVersion: 'v3',
      grantedAt: '2025-01-05T00:00:00.000Z',
    });
    h.append(`consent-${leadId}`, 'ConsentWithdrawn', { subjectId: leadId, purpose: 'sms', source: 'STOP', withdrawnAt: '2025-01-06T00:00:00.000Z' });
    const g = await db.replay(h.events);
    const rows = await timeline(g, alice);
    assert.deepEqual(
      rows.slice(1).map((r) => [r.entry_type, r.occurred_at, r.details, r.summary]),
      [
        ['consent_granted', '2025-01-05T00:00:00.000Z', { purpose: 'marketing_email', lawfulBasis: 'consent', noticeVersion: 'v3' }, 'web form /newsletter'],
        ['consent_withdrawn', '2025-01-06T00:00:00.000Z', { purpose: 'marketing_email' }, 'unsubscribe link'],
      ],
    );
    assert.equal((await g.rows('timelines')).filter((r) => r.contact_id === leadId).length, 0);
  });

  it('erasure redacts personal text of every entry, keeps the entries, and records the erasure', async () => {
    const h = new History();
    created(h);
    created(h, bob);
    const interaction = { kind: 'call', channel: 'phone', occurredAt: '2025-01-01T10:00:00.000Z', summary: 'Private details', outcome: 'Sensitive' } as const;
    h.append(`contact-${alice}`, 'ContactInteractionLogged', { contactId: alice, ...interaction });
    h.append(`contact-${bob}`, 'ContactInteractionLogged', { contactId: bob, ...interaction });
    h.append(`consent-${alice}`, 'ConsentGranted', {
      subjectId: alice,
      subjectType: 'contact',
      purpose: 'phone',
      lawfulBasis: 'consent',
      source: 'Call with Alice',
      noticeVersion: 'v1',
      grantedAt: '2025-01-01T11:00:00.000Z',
    });
    h.append(`consent-${alice}`, 'SubjectErasureRequested', {
      subjectId: alice,
      subjectType: 'contact',
      requestedBy: 'dpo-1',
      reason: 'subject_request',
      requestedAt: '2025-02-01T00:00:00.000Z',
    });
    const erased = h.append(`contact-${alice}`, 'ContactErased', { contactId: alice }, { roles: ['dpo'], occurredAt: '2025-02-01T00:04:00.000Z' });
    h.append(`consent-${alice}`, 'SubjectErased', { subjectId: alice, subjectType: 'contact', erasedAt: '2025-02-01T00:05:00.000Z' });
    const g = await db.replay(h.events);
    const rows = await timeline(g, alice);
    assert.deepEqual(
      rows.map((r) => r.entry_type),
      ['contact_created', 'interaction', 'consent_granted', 'erasure_requested', 'contact_erased', 'subject_erased'],
    );
    for (const row of rows) {
      for (const column of timelinesProjection.personalColumns.timelines ?? []) assert.equal(row[column], null, `${String(row.entry_type)}.${column}`);
    }
    assert.equal(rows[1]?.erased_at, erased.occurredAt);
    assert.deepEqual(rows[3]?.details, { reason: 'subject_request', requestedBy: 'dpo-1' });
    const [, bobInteraction] = await timeline(g, bob);
    assert.equal(bobInteraction?.summary, 'Private details', 'other contacts keep theirs');
  });

  it('SubjectErased of a lead redacts what sits under its id and writes no contact entry', async () => {
    const h = new History();
    // A withdrawal for a lead never seen granting: lands under the lead id...
    h.append(`consent-${leadId}`, 'ConsentWithdrawn', { subjectId: leadId, purpose: 'sms', source: 'STOP from +1 555', withdrawnAt: '2025-01-06T00:00:00.000Z' });
    h.append(`consent-${leadId}`, 'SubjectErased', { subjectId: leadId, subjectType: 'lead', erasedAt: '2025-02-01T00:00:00.000Z' });
    const rows = await (await db.replay(h.events)).rows('timelines');
    assert.deepEqual(
      rows.map((r) => [r.contact_id, r.entry_type, r.summary, r.erased_at]),
      [[leadId, 'consent_withdrawn', null, '2025-02-01T00:00:00.000Z']],
    );
  });

  it('keeps tenants apart, including deal links', async () => {
    const h = new History();
    created(h);
    created(h, alice, 'tenant-b');
    const opened = {
      dealId,
      name: 'X',
      contactId: alice,
      value: { amountMinor: 1, currency: 'EUR' },
      pipeline: 'default',
      stage: 'prospecting',
      probability: 10,
      expectedCloseDate: '2025-03-31',
      ownerId: 'rep-1',
    };
    h.append(`deal-${dealId}`, 'DealOpened', opened, { tenantId: 'tenant-b' });
    h.append(`deal-${dealId}`, 'DealStageMoved', { from: 'prospecting', to: 'proposal', probability: 50 }, { tenantId: 'tenant-b' });
    h.append(`contact-${alice}`, 'ContactErased', { contactId: alice }, { tenantId: 'tenant-b' });
    const g = await db.replay(h.events);
    assert.deepEqual(
      (await timeline(g, alice, 'tenant-a')).map((r) => r.entry_type),
      ['contact_created'],
    );
    assert.deepEqual(
      (await timeline(g, alice, 'tenant-b')).map((r) => r.entry_type),
      ['contact_created', 'deal_opened', 'deal_stage_moved', 'contact_erased'],
    );
  });

  it('replaying the same history into a fresh generation yields the same rows', async () => {
    const h = new History();
    created(h);
    created(h, bob);
    h.append(`contact-${bob}`, 'ContactMerged', { contactId: bob, survivorId: alice });
    h.append(`deal-${dealId}`, 'DealOpened', {
      dealId,
      name: 'X',
      contactId: alice,
      value: { amountMinor: 1, currency: 'EUR' },
      pipeline: 'default',
      stage: 'prospecting',
      probability: 10,
      expectedCloseDate: '2025-03-31',
      ownerId: 'rep-1',
    });
    h.append(`deal-${dealId}`, 'DealWon', { stage: 'prospecting', value: { amountMinor: 1, currency: 'EUR' }, probability: 100 });
    const first = await (await db.replay(h.events)).dump();
    const second = await (await db.replay(h.events)).dump();
    assert.deepEqual(second, first);
    assert.equal(first.timelines?.length, 6);
  });
});

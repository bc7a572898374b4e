import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { postgresProjections } from './index.js';
import { leadEvents } from '../../schemas/events/lead.js';
import { contactEvents } from '../../schemas/events/contact.js';
import { dealEvents } from '../../schemas/events/deal.js';
import { consentEvents } from '../../schemas/events/consent.js';
import { budgetEvents } from '../../schemas/events/budget.js';
import { openPglite, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import { History, openReadModel, uuid, type Row } from './testing.js';

/** One realistic history touching every event type, in one tenant. */
function lifeOfACustomer(h: History, tenantId: string): void {
  const o = { tenantId };
  const lead = uuid(1, 'l');
  const contact = uuid(1, 'c');
  const duplicate = uuid(2, 'c');
  const deal = uuid(1, 'd');
  const budget = uuid(1, 'b');
  h.append(`lead-${lead}`, 'LeadCaptured', { leadId: lead, name: 'Jane Roe', email: 'jane@example.com', source: 'event', campaign: 'expo', capturedAt: '2025-01-01T08:00:00.000Z' }, o);
  h.append(`lead-${lead}`, 'LeadAssigned', { leadId: lead, ownerId: 'rep-1' }, o);
  h.append(`lead-${lead}`, 'LeadScored', { leadId: lead, score: 60, factors: [{ name: 'fit', points: 60 }] }, o);
  h.append(`lead-${lead}`, 'LeadActivityLogged', { leadId: lead, kind: 'call', summary: 'Intro call', direction: 'outbound', occurredAt: '2025-01-02T08:00:00.000Z' }, o);
  h.append(`lead-${lead}`, 'LeadStatusChanged', { leadId: lead, from: 'New', to: 'Nurturing' }, o);
  h.append(`lead-${lead}`, 'LeadQualified', { leadId: lead, authority: 'decision-maker', need: 'CRM', timeline: 'immediate' }, o);
  h.append(
    `lead-${lead}`,
    'LeadConverted',
    { leadId: lead, contactId: contact, dealId: deal, deal: { name: 'Roe CRM', value: { amountMinor: 500_000, currency: 'EUR' }, pipeline: 'default' } },
    o,
  );
  h.append(`contact-${contact}`, 'ContactCreated', { contactId: contact, firstName: 'Jane', lastName: 'Roe', email: 'jane@example.com', customFields: {}, tags: [], convertedFromLeadId: lead }, o);
  h.append(`contact-${duplicate}`, 'ContactCreated', { contactId: duplicate, firstName: 'J.', lastName: 'Roe', customFields: { note: 'dup' }, tags: ['import'] }, o);
  h.append(`contact-${contact}`, 'ContactUpdated', { contactId: contact, phone: '+1 555 0100', tags: ['customer'] }, o);
  h.append(`contact-${contact}`, 'ContactInteractionLogged', { contactId: contact, kind: 'meeting', channel: 'zoom', occurredAt: '2025-01-10T08:00:00.000Z', summary: 'Demo' }, o);
  h.append(`contact-${duplicate}`, 'ContactMerged', { contactId: duplicate, survivorId: contact }, o);
  h.append(`deal-${deal}`, 'DealOpened', {
    dealId: deal,
    name: 'Roe CRM',
    contactId: contact,
    value: { amountMinor: 500_000, currency: 'EUR' },
    pipeline: 'default',
    stage: 'prospecting',
    probability: 10,
    expectedCloseDate: '2025-04-30',
    ownerId: 'rep-1',
  }, o);
  h.append(`deal-${deal}`, 'DealStageMoved', { from: 'prospecting', to: 'proposal', probability: 50 }, o);
  h.append(`deal-${deal}`, 'DealValueChanged', { from: { amountMinor: 500_000, currency: 'EUR' }, to: { amountMinor: 450_000, currency: 'EUR' } }, o);
  h.append(`deal-${deal}`, 'DealLost', { stage: 'proposal', value: { amountMinor: 450_000, currency: 'EUR' }, probability: 0, reason: 'Timing' }, o);
  h.append(`deal-${deal}`, 'DealReopened', { stage: 'negotiation', probability: 75 }, o);
  h.append(`deal-${deal}`, 'DealWon', { stage: 'negotiation', value: { amountMinor: 450_000, currency: 'EUR' }, probability: 100 }, o);
  h.append(`consent-${contact}`, 'ConsentGranted', {
    subjectId: contact,
    subjectType: 'contact',
    purpose: 'marketing_email',
    lawfulBasis: 'consent',
    source: 'signup form',
    noticeVersion: 'v1',
    grantedAt: '2025-01-11T00:00:00.000Z',
  }, o);
  h.append(`consent-${contact}`, 'ConsentWithdrawn', { subjectId: contact, purpose: 'marketing_email', source: 'unsubscribe', withdrawnAt: '2025-01-12T00:00:00.000Z' }, o);
  h.append(`budget-${budget}`, 'BudgetCreated', { budgetId: budget, name: 'Expo', category: 'events', period: { start: '2025-01-01', end: '2025-12-31' }, amount: { amountMinor: 100_000, currency: 'EUR' }, ownerId: 'mgr-1' }, o);
  h.append(`budget-${budget}`, 'BudgetAllocated', { campaign: 'expo', amount: { amountMinor: 90_000, currency: 'EUR' } }, o);
  h.append(`budget-${budget}`, 'BudgetSpendRecorded', {
    spendId: uuid(1, 's'),
    vendor: 'Expo GmbH',
    campaign: 'expo',
    amount: { amountMinor: 85_000, currency: 'EUR' },
    spentAt: '2025-01-05T00:00:00.000Z',
    externalReference: 'INV-1',
    overridden: false,
  }, o);
  h.append(`budget-${budget}`, 'BudgetThresholdReached', { threshold: 80, spentMinor: 85_000, amountMinor: 100_000 }, o);
  h.append(`budget-${budget}`, 'BudgetClosed', { spentMinor: 85_000, allocatedMinor: 90_000, amountMinor: 100_000 }, o);
  h.append(`consent-${contact}`, 'SubjectErasureRequested', { subjectId: contact, subjectType: 'contact', requestedBy: 'dpo-1', reason: 'subject_request', requestedAt: '2025-02-01T00:00:00.000Z' }, o);
  h.append(`contact-${contact}`, 'ContactErased', { contactId: contact }, o);
  h.append(`lead-${lead}`, 'LeadErased', { leadId: lead }, o);
  h.append(`consent-${contact}`, 'SubjectErased', { subjectId: contact, subjectType: 'contact', erasedAt: '2025-02-01T00:01:00.000Z' }, o);
}

const withoutTenant = (dump: Record<string, Row[]>): Record<string, Row[]> =>
  Object.fromEntries(
    Object.entries(dump).map(([t, rows]) => [
      t,
      rows.map(({ tenant_id: _t, position: _p, event_id: _e, ...rest }) => JSON.stringify(rest)).sort().map((r) => JSON.parse(r) as Row),
    ]),
  );

describe('postgresProjections', () => {
  let db: SqlClient;
  before(async () => {
    db = pgliteClient(await openPglite());
  });
  after(() => db.close());

  // The same story in two tenants (same ids, same times), positions apart: the rows must match but for the tenant.
  const a = new History({ tenantId: 'tenant-a' });
  const b = new History({ tenantId: 'tenant-b', firstPosition: 1001n });
  lifeOfACustomer(a, 'tenant-a');
  lifeOfACustomer(b, 'tenant-b');
  const events = [...a.events, ...b.events];

  it('lists the six read models of SPEC, each at its version, with distinct names and logical tables', () => {
    // leads and deals 2: the indexes of the query API's default orders (a version bump rebuilds blue-green).
    assert.deepEqual(
      postgresProjections.map((p) => [p.name, p.version]),
      [['contacts', 1], ['leads', 2], ['deals', 2], ['timelines', 1], ['consents', 1], ['budgets', 1]],
    );
    const tables = postgresProjections.flatMap((p) => p.tables);
    assert.equal(new Set(tables).size, tables.length, 'a logical table (public view) belongs to one model');
    for (const p of postgresProjections) {
      assert.deepEqual(Object.keys(p.personalColumns).sort(), [...p.tables].sort(), `${p.name}: personal columns listed for every table`);
    }
  });

  it('the test history covers every aggregate event type, and every one is read by some model', () => {
    const covered = new Set<string>(events.map((e) => e.type));
    const handled = new Set<string>(postgresProjections.flatMap((p) => p.eventTypes));
    for (const def of [...leadEvents, ...contactEvents, ...dealEvents, ...consentEvents, ...budgetEvents]) {
      assert.ok(covered.has(def.type), `history lacks ${def.type}`);
      assert.ok(handled.has(def.type), `no PostgreSQL read model reads ${def.type}`);
    }
  });

  for (const projection of postgresProjections) {
    it(`${projection.name}: a replay is deterministic, unchanged by duplicate deliveries, and the same in both tenants`, async () => {
      const rm = await openReadModel(projection, db);
      const once = await (await rm.replay(events)).dump();
      const again = await (await rm.replay(events)).dump();
      const twice = await (await rm.replay(events, { deliverTwice: true })).dump();
      assert.deepEqual(again, once);
      assert.deepEqual(twice, once);
      const ofTenant = (tenant: string) => Object.fromEntries(Object.entries(once).map(([t, rows]) => [t, rows.filter((r) => r.tenant_id === tenant)]));
      assert.ok(Object.values(ofTenant('tenant-a')).some((rows) => rows.length > 0), 'the model has rows');
      assert.deepEqual(withoutTenant(ofTenant('tenant-b')), withoutTenant(ofTenant('tenant-a')));
      // Nothing personal survives the erasure at the end of the history.
      for (const [table, columns] of Object.entries(projection.personalColumns)) {
        for (const row of once[table] ?? []) {
          for (const column of columns) {
            if (row.contact_id === uuid(2, 'c') || row.subject_id === uuid(2, 'c')) continue; // the merged duplicate is not erased
            assert.equal(row[column], null, `${projection.name}.${table}.${column} after erasure`);
          }
        }
      }
      await rm.close();
    });
  }
});

import { History, uuid } from '../../projections/postgres/testing.js';

/**
 * The data the query API tests read: a small CRM in tenant-a (contacts, leads, deals, consents, budgets,
 * with a merge, an erasure, a conversion), one contact and deal in tenant-b (isolation), and 25 contacts
 * in tenant-p for pagination (five of them created at the same instant, so order rests on the tie-breaker).
 * Written through the real projections (openReadModels().apply).
 */
export const ids = {
  alice: uuid(1, 'c'),
  bob: uuid(2, 'c'),
  carol: uuid(3, 'c'),
  dan: uuid(4, 'c'),
  erin: uuid(5, 'c'),
  frank: uuid(6, 'c'),
  rebuilt: uuid(7, 'c'),
  leadNew: uuid(1, 'l'),
  leadQualified: uuid(2, 'l'),
  leadConverted: uuid(3, 'l'),
  leadLost: uuid(4, 'l'),
  leadErased: uuid(5, 'l'),
  dealProposal: uuid(1, 'd'),
  dealWon: uuid(2, 'd'),
  dealConverted: uuid(3, 'd'),
  dealLost: uuid(4, 'd'),
  dealEnterprise: uuid(5, 'd'),
  budgetSpring: uuid(1, 'b'),
  budgetClosed: uuid(2, 'b'),
  otherContact: uuid(1, 'x'),
  otherDeal: uuid(2, 'x'),
  missing: uuid(999, 'z'),
} as const;

export const pageIds = Array.from({ length: 25 }, (_, i) => uuid(i + 1, 'p'));

const eur = (amountMinor: number) => ({ amountMinor, currency: 'EUR' });

export function fixtureHistory(now = Date.now()): History {
  const h = new History({ tenantId: 'tenant-a' });
  const contact = (id: string, firstName: string, lastName: string, extra: Record<string, unknown> = {}, options: { tenantId?: string; occurredAt?: string } = {}) =>
    h.append(`contact-${id}`, 'ContactCreated', { contactId: id, firstName, lastName, customFields: {}, tags: [], ...extra } as never, options);

  contact(ids.alice, 'Alice', 'Smith', { email: 'alice@example.com', phone: '+1 555 0100 42', company: 'Acme', title: 'CTO', tags: ['vip', 'emea'], customFields: { birthday: '1990-01-01' } });
  contact(ids.bob, 'Bob', 'Jones', { email: 'bob@example.com', company: 'Initech', tags: ['emea'] });
  contact(ids.carol, 'Carol', 'White', { email: 'carol@example.com', company: 'acme' });
  contact(ids.dan, 'Dan', 'Brown', { email: 'alice+dup@example.com' });
  h.append(`contact-${ids.dan}`, 'ContactMerged', { contactId: ids.dan, survivorId: ids.alice }, { roles: ['manager'] });
  contact(ids.erin, 'Erin', 'Gray', { email: 'erin@example.com', phone: '+44 20 7946 0958' });
  h.append(`contact-${ids.alice}`, 'ContactInteractionLogged', {
    contactId: ids.alice,
    kind: 'call',
    channel: 'phone',
    occurredAt: '2025-01-01T12:00:00.000Z',
    summary: 'Talked about pricing',
    outcome: 'Wants a proposal',
    direction: 'outbound',
  } as never);
  h.append(`consent-${ids.alice}`, 'ConsentGranted', {
    subjectId: ids.alice,
    subjectType: 'contact',
    purpose: 'marketing_email',
    lawfulBasis: 'consent',
    source: 'web form /newsletter',
    noticeVersion: '2025-01',
    grantedAt: '2025-01-02T00:00:00.000Z',
  } as never);
  h.append(`consent-${ids.alice}`, 'ConsentWithdrawn', { subjectId: ids.alice, purpose: 'sms', source: 'unsubscribe link', withdrawnAt: '2025-01-03T00:00:00.000Z' } as never);
  h.append(`contact-${ids.erin}`, 'ContactErased', { contactId: ids.erin }, { roles: ['dpo'] });
  // A contact rebuilt after its subject's key was destroyed: the reader gave "[erased]" values.
  contact(ids.rebuilt, '[erased]', '[erased]', { company: 'Rebuilt Inc' });

  // Leads.
  const capture = (id: string, name: string, source: string, extra: Record<string, unknown> = {}, options: { occurredAt?: string } = {}) =>
    h.append(`lead-${id}`, 'LeadCaptured', { leadId: id, name, source, capturedAt: options.occurredAt ?? h.now, ...extra } as never, options);
  capture(ids.leadNew, 'Nina New', 'web', { email: 'nina@example.com', company: 'Globex', ownerId: 'rep-1', campaign: 'spring' });
  h.append(`lead-${ids.leadNew}`, 'LeadScored', { leadId: ids.leadNew, score: 80, factors: [{ name: 'fit', points: 80 }] } as never);
  capture(ids.leadConverted, 'Frank Convert', 'referral', { email: 'frank@example.com', ownerId: 'rep-2' });
  h.append(`lead-${ids.leadConverted}`, 'LeadConverted', {
    leadId: ids.leadConverted,
    contactId: ids.frank,
    dealId: ids.dealConverted,
    deal: { name: 'Frank deal', value: { amountMinor: 200_000, currency: 'USD' }, pipeline: 'default', stage: 'qualification' },
  } as never);
  contact(ids.frank, 'Frank', 'Convert', { email: 'frank@example.com', convertedFromLeadId: ids.leadConverted });
  capture(ids.leadLost, 'Larry Lost', 'email', { ownerId: 'rep-1' });
  h.append(`lead-${ids.leadLost}`, 'LeadStatusChanged', { leadId: ids.leadLost, from: 'New', to: 'Lost', reason: 'Chose a competitor' } as never);
  h.append(`lead-${ids.leadLost}`, 'LeadScored', { leadId: ids.leadLost, score: 10, factors: [] } as never);
  capture(ids.leadErased, 'Eve Erased', 'social', { email: 'eve@example.com' });
  h.append(`lead-${ids.leadErased}`, 'LeadErased', { leadId: ids.leadErased }, { roles: ['dpo'] });

  // Deals.
  const open = (id: string, contactId: string, name: string, valueMinor: number, extra: Record<string, unknown> = {}, options: { tenantId?: string } = {}) =>
    h.append(
      `deal-${id}`,
      'DealOpened',
      { dealId: id, name, contactId, value: eur(valueMinor), pipeline: 'default', stage: 'prospecting', probability: 10, expectedCloseDate: '2025-06-30', ownerId: 'rep-1', ...extra } as never,
      options,
    );
  open(ids.dealProposal, ids.alice, 'Acme renewal', 1_000_000);
  h.append(`deal-${ids.dealProposal}`, 'DealStageMoved', { from: 'prospecting', to: 'proposal', probability: 50 } as never, { userId: 'rep-2' });
  open(ids.dealWon, ids.alice, 'Acme upsell', 5_000_000, { stage: 'negotiation', probability: 75, ownerId: 'rep-2', expectedCloseDate: '2025-03-31' });
  h.append(`deal-${ids.dealWon}`, 'DealWon', { stage: 'negotiation', value: eur(5_000_000), probability: 100 } as never);
  open(ids.dealConverted, ids.frank, 'Frank deal', 200_000, { value: { amountMinor: 200_000, currency: 'USD' }, stage: 'qualification', probability: 20, ownerId: 'rep-2' });
  open(ids.dealLost, ids.bob, 'Initech pilot', 300_000);
  h.append(`deal-${ids.dealLost}`, 'DealLost', { stage: 'prospecting', value: eur(300_000), reason: 'budget', competitor: 'Globex', probability: 0 } as never);
  open(ids.dealEnterprise, ids.carol, 'Acme enterprise', 9_000_000, { pipeline: 'enterprise', stage: 'proposal', probability: 50, expectedCloseDate: '2025-12-31' });

  // Budgets.
  h.append(`budget-${ids.budgetSpring}`, 'BudgetCreated', {
    budgetId: ids.budgetSpring,
    name: 'Spring campaigns',
    category: 'marketing',
    period: { start: '2025-03-01', end: '2025-05-31' },
    amount: eur(1_000_000),
    ownerId: 'rep-3',
  } as never);
  h.append(`budget-${ids.budgetSpring}`, 'BudgetAllocated', { campaign: 'spring', amount: eur(400_000) } as never);
  h.append(`budget-${ids.budgetSpring}`, 'BudgetAllocated', { campaign: 'summer', amount: eur(200_000) } as never);
  h.append(`budget-${ids.budgetSpring}`, 'BudgetSpendRecorded', {
    spendId: uuid(1, 's'),
    vendor: 'AdCo',
    campaign: 'spring',
    amount: eur(150_000),
    spentAt: '2025-03-10T10:00:00.000Z',
    externalReference: 'INV-1',
    overridden: false,
  } as never);
  h.append(`budget-${ids.budgetSpring}`, 'BudgetSpendRecorded', {
    spendId: uuid(2, 's'),
    vendor: 'PrintCo',
    campaign: 'spring',
    amount: eur(50_000),
    spentAt: '2025-03-12T10:00:00.000Z',
    externalReference: 'INV-2',
    overridden: false,
  } as never);
  h.append(`budget-${ids.budgetClosed}`, 'BudgetCreated', {
    budgetId: ids.budgetClosed,
    name: 'Events 2024',
    category: 'events',
    period: { start: '2024-01-01', end: '2024-12-31' },
    amount: eur(500_000),
    ownerId: 'rep-3',
  } as never);
  h.append(`budget-${ids.budgetClosed}`, 'BudgetClosed', { spentMinor: 0, allocatedMinor: 0, amountMinor: 500_000 } as never, { roles: ['manager'] });

  // Another tenant.
  contact(ids.otherContact, 'Oscar', 'Other', { email: 'oscar@other.example', company: 'Acme' }, { tenantId: 'tenant-b' });
  open(ids.otherDeal, ids.otherContact, 'Other deal', 700_000, {}, { tenantId: 'tenant-b' });

  // Pagination tenant: 20 contacts a minute apart, then 5 at one instant (the tie-breaker decides).
  for (let i = 0; i < 20; i++) contact(pageIds[i]!, `P${i}`, 'Page', { tags: i % 2 === 0 ? ['even'] : ['odd'] }, { tenantId: 'tenant-p' });
  const same = new Date(Date.parse(h.now) + 60_000).toISOString();
  for (let i = 20; i < 25; i++) contact(pageIds[i]!, `P${i}`, 'Page', { tags: ['same'] }, { tenantId: 'tenant-p', occurredAt: same });

  // The qualified lead is touched recently, so it is the one open lead that is not inactive.
  const recent = new Date(now - 24 * 3_600_000).toISOString();
  capture(ids.leadQualified, 'Quinn Qualified', 'email', { email: 'quinn@example.com', company: 'Globex', ownerId: 'rep-2', notes: 'Met at the fair' }, { occurredAt: recent });
  h.append(`lead-${ids.leadQualified}`, 'LeadQualified', { leadId: ids.leadQualified, budget: eur(2_000_000), authority: 'decision-maker', need: 'A CRM for 40 people', timeline: 'within-3-months' } as never);
  h.append(`lead-${ids.leadQualified}`, 'LeadScored', { leadId: ids.leadQualified, score: 65, factors: [] } as never);
  return h;
}

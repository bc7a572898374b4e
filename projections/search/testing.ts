import type { EventEnvelope } from '../../schemas/events/registry.js';
import type { SearchDocument } from '../../schemas/read-models/search/documents.js';
import { History, uuid } from '../postgres/testing.js';
import { changesOf, fold } from './documents.js';

/**
 * A history every search-store test replays: contacts created, updated, merged, erased (on their stream
 * and by `SubjectErased` from the consent stream), leads through the funnel and erased, deals won and lost,
 * in two tenants that reuse the same entity ids (isolation must come from the tenant, not from luck).
 */
export const searchIdsFrom = (n: number) =>
  ({
    john: uuid(n + 1, 'c'),
    jane: uuid(n + 2, 'c'),
    duplicate: uuid(n + 3, 'c'),
    erased: uuid(n + 4, 'c'),
    lead: uuid(n + 1, 'l'),
    erasedLead: uuid(n + 2, 'l'),
    deal: uuid(n + 1, 'd'),
  }) as const;
export type SearchIds = ReturnType<typeof searchIdsFrom>;
export const searchIds = searchIdsFrom(0);

/**
 * The history of one tenant. `ids` lets a test give another tenant other ids (streams are global in an
 * event store: the runtime's revision guard is per stream, so two tenants never share a stream id there).
 */
export function searchHistory(h: History, tenantId: string, ids: SearchIds = searchIds): void {
  const o = { tenantId };
  const { john, jane, duplicate, erased, lead, erasedLead, deal } = ids;
  const contact = (id: string, firstName: string, lastName: string, email: string, company: string) =>
    h.append(`contact-${id}`, 'ContactCreated', { contactId: id, firstName, lastName, email, company, customFields: {}, tags: [] }, o);
  h.append(`lead-${lead}`, 'LeadCaptured', { leadId: lead, name: 'Sarah Connor', email: 'sarah@cyberdyne.example', company: 'Cyberdyne', source: 'web', capturedAt: '2025-01-01T08:00:00.000Z' }, o);
  h.append(`lead-${erasedLead}`, 'LeadCaptured', { leadId: erasedLead, name: 'Kyle Reese', email: 'kyle@resistance.example', source: 'event', capturedAt: '2025-01-01T08:00:00.000Z' }, o);
  contact(john, 'John', 'Smyth', 'john@globex.example', 'Globex');
  contact(jane, 'Jane', 'Smith', 'jane@initech.example', 'Initech');
  contact(duplicate, 'Jon', 'Smith', 'jon@globex.example', 'Globex');
  contact(erased, 'Ellen', 'Ripley', 'ripley@weyland.example', 'Weyland-Yutani');
  h.append(`contact-${john}`, 'ContactUpdated', { contactId: john, lastName: 'Smith', company: 'ACME Corporation', title: 'CTO' }, o);
  h.append(`contact-${john}`, 'ContactUpdated', { contactId: john, tags: ['vip'] }, o); // nothing searchable
  h.append(`contact-${jane}`, 'ContactUpdated', { contactId: jane, email: null }, o);
  h.append(`contact-${duplicate}`, 'ContactMerged', { contactId: duplicate, survivorId: john }, o);
  h.append(`lead-${lead}`, 'LeadStatusChanged', { leadId: lead, from: 'New', to: 'Nurturing' }, o);
  h.append(`lead-${lead}`, 'LeadQualified', { leadId: lead, authority: 'decision-maker', need: 'CRM', timeline: 'immediate' }, o);
  h.append(`lead-${lead}`, 'LeadConverted', { leadId: lead, contactId: jane }, o);
  h.append(`deal-${deal}`, 'DealOpened', {
    dealId: deal,
    name: 'ACME renewal',
    contactId: john,
    value: { amountMinor: 500_000, currency: 'EUR' },
    pipeline: 'default',
    stage: 'prospecting',
    probability: 10,
    expectedCloseDate: '2025-04-30',
    ownerId: 'rep-1',
  }, o);
  h.append(`deal-${deal}`, 'DealLost', { stage: 'prospecting', value: { amountMinor: 500_000, currency: 'EUR' }, probability: 0, reason: 'Timing' }, o);
  h.append(`deal-${deal}`, 'DealReopened', { stage: 'prospecting', probability: 10 }, o);
  h.append(`deal-${deal}`, 'DealWon', { stage: 'prospecting', value: { amountMinor: 500_000, currency: 'EUR' }, probability: 100 }, o);
  h.append(`contact-${erased}`, 'ContactErased', { contactId: erased }, o);
  h.append(`consent-${erased}`, 'SubjectErased', { subjectId: erased, subjectType: 'contact', erasedAt: h.now }, o);
  h.append(`consent-${erasedLead}`, 'SubjectErased', { subjectId: erasedLead, subjectType: 'lead', erasedAt: h.now }, o);
}

/** Two tenants, same ids. */
export function twoTenantSearchHistory(): { events: EventEnvelope[]; tenants: readonly [string, string] } {
  const h = new History();
  searchHistory(h, 'tenant-a');
  searchHistory(h, 'tenant-b');
  return { events: h.events, tenants: ['tenant-a', 'tenant-b'] };
}

/** The documents the pure projector folds `events` into, keyed `tenant/kind/id`: what every store must hold. */
export function foldAll(events: readonly EventEnvelope[]): Map<string, SearchDocument> {
  const docs = new Map<string, SearchDocument>();
  for (const e of events) {
    for (const c of changesOf(e)) {
      const key = `${c.key.tenantId}/${c.key.kind}/${c.key.id}`;
      const next = fold(docs.get(key), c);
      if (next) docs.set(key, next);
    }
  }
  return docs;
}

export { History, uuid };

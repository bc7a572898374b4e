import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { EventMetadata } from '../../schemas/events/envelope.js';
import { EventContractError } from '../../schemas/events/errors.js';
import { currentVersion, eventDefinition, parseEvent, type AnnalsEventType, type EventEnvelope } from '../../schemas/events/registry.js';
import { streamName, type AggregateName } from '../../schemas/events/streams.js';
import { arbitraryOf, type ArbitraryOptions } from '../../schemas/events/testing/arbitrary.js';

/**
 * The store-neutral round-trip property of the storable-input gate (test helper):
 *
 *   generate events from the zod schemas themselves → keep what the schemas accept → apply them through
 *   a read-model target → after each event, read back → the read model holds exactly what the event said
 *   (byte-exact strings, the same instants, the same numbers), and the store refused nothing.
 *
 * The target is a parameter, so the PostgreSQL read models run it today and the Elasticsearch and
 * ClickHouse projectors run the very same property when they land: a target only has to apply events
 * and read one logical record back by key. Records and expectations use logical names (camelCase of the
 * PostgreSQL columns: `firstName`, `customFields`, `createdAt`); a target whose store spells them
 * otherwise maps them in `read`.
 */
export interface ReadModelTarget {
  readonly name: string;
  /** Empties every read model: each generated history starts from nothing. */
  reset(): Promise<void>;
  /** Applies the events, in order, through every projection of the target; rejects naming the event a store refused. */
  apply(events: readonly EventEnvelope[]): Promise<void>;
  /** The record of logical table `model` at `key` (logical field names), or undefined when there is none. */
  read(model: string, key: Readonly<Record<string, string | number>>): Promise<Readonly<Record<string, unknown>> | undefined>;
}

/** An instant: equal when it denotes the same millisecond, whatever the offset it is written in. */
export class Instant {
  constructor(readonly iso: string) {}
}
/** The field (or the record itself, for a fact without fields) must be absent. */
export const ABSENT = Symbol('absent');
type Expected = unknown;

/** What one logical record must hold right after an event. */
export interface Fact {
  readonly model: string;
  readonly key: Readonly<Record<string, string | number>>;
  /** Paths into the record (a custom-field key may contain a dot, so arrays) and what must be there. */
  readonly fields: readonly (readonly [path: readonly string[], expected: Expected])[];
  /** The record must not exist (a zero allocation deletes it). */
  readonly absent?: boolean;
}

const I = (iso: string) => new Instant(iso);
const orNull = <T>(v: T | undefined): T | null => (v === undefined ? null : v);
const f = (entries: Record<string, Expected>): [string[], Expected][] => Object.entries(entries).map(([k, v]) => [[k], v]);

/**
 * The facts an event establishes, in logical terms. Only events that occur in generated histories are
 * listed (no erasure, merge or conversion: those guarantees have their own tests); a history never
 * needs folding to know what to expect, because each fact is checked right after its event.
 */
export function factsOf(e: EventEnvelope): Fact[] {
  const tenantId = e.tenantId;
  const position = Number(e.position);
  const streamEntity = e.streamId.slice(e.streamId.indexOf('-') + 1);
  switch (e.type) {
    case 'ContactCreated': {
      const d = e.data;
      return [
        {
          model: 'contacts',
          key: { tenantId, contactId: d.contactId },
          fields: f({
            firstName: d.firstName, lastName: d.lastName, email: orNull(d.email), phone: orNull(d.phone), company: orNull(d.company),
            title: orNull(d.title), customFields: d.customFields, tags: d.tags, convertedFromLeadId: orNull(d.convertedFromLeadId),
            createdAt: I(e.occurredAt), updatedAt: I(e.occurredAt), status: 'active',
          }),
        },
        {
          model: 'timelines',
          key: { tenantId, contactId: d.contactId, position },
          fields: [
            ...f({ entryType: 'contact_created', occurredAt: I(e.occurredAt), actorId: e.actor.userId, eventId: e.eventId }),
            [['details', 'company'], d.company ?? ABSENT],
            [['details', 'title'], d.title ?? ABSENT],
            [['details', 'tags'], d.tags],
          ],
        },
      ];
    }
    case 'ContactUpdated': {
      const { contactId, customFields, ...plain } = e.data;
      const fields: [string[], Expected][] = [[['updatedAt'], I(e.occurredAt)]];
      for (const [k, v] of Object.entries(plain)) if (v !== undefined) fields.push([[k], v]);
      for (const [k, v] of Object.entries(customFields ?? {})) fields.push([['customFields', k], v === null ? ABSENT : v]);
      return [
        { model: 'contacts', key: { tenantId, contactId }, fields },
        { model: 'timelines', key: { tenantId, contactId, position }, fields: f({ entryType: 'contact_updated', actorId: e.actor.userId }) },
      ];
    }
    case 'ContactInteractionLogged': {
      const d = e.data;
      return [
        { model: 'contacts', key: { tenantId, contactId: d.contactId }, fields: f({ updatedAt: I(e.occurredAt) }) },
        {
          model: 'timelines',
          key: { tenantId, contactId: d.contactId, position },
          fields: [
            ...f({ entryType: 'interaction', occurredAt: I(d.occurredAt), recordedAt: I(e.occurredAt), summary: d.summary, outcome: orNull(d.outcome) }),
            [['details', 'kind'], d.kind],
            [['details', 'channel'], d.channel],
            [['details', 'direction'], d.direction ?? ABSENT],
          ],
        },
      ];
    }
    case 'LeadCaptured': {
      const d = e.data;
      return [
        {
          model: 'leads',
          key: { tenantId, leadId: d.leadId },
          fields: f({
            name: d.name, email: orNull(d.email), phone: orNull(d.phone), notes: orNull(d.notes), company: orNull(d.company), source: d.source,
            campaign: orNull(d.campaign), ownerId: orNull(d.ownerId), status: 'New', capturedAt: I(d.capturedAt), updatedAt: I(e.occurredAt),
          }),
        },
      ];
    }
    case 'LeadAssigned':
      return [{ model: 'leads', key: { tenantId, leadId: e.data.leadId }, fields: f({ ownerId: e.data.ownerId, updatedAt: I(e.occurredAt) }) }];
    case 'LeadQualified': {
      const d = e.data;
      return [
        {
          model: 'leads',
          key: { tenantId, leadId: d.leadId },
          fields: f({
            status: 'Qualified', bantBudgetMinor: d.budget?.amountMinor ?? null, bantBudgetCurrency: d.budget?.currency ?? null,
            bantAuthority: d.authority, bantNeed: d.need, bantTimeline: d.timeline, qualifiedAt: I(e.occurredAt),
          }),
        },
      ];
    }
    case 'LeadStatusChanged': {
      const d = e.data;
      return [{ model: 'leads', key: { tenantId, leadId: d.leadId }, fields: f({ status: d.to, lostReason: d.to === 'Lost' ? orNull(d.reason) : null }) }];
    }
    case 'LeadScored':
      return [
        { model: 'leads', key: { tenantId, leadId: e.data.leadId }, fields: f({ score: e.data.score, scoreFactors: e.data.factors, scoredAt: I(e.occurredAt) }) },
      ];
    case 'LeadActivityLogged':
      return [{ model: 'leads', key: { tenantId, leadId: e.data.leadId }, fields: f({ lastActivityKind: e.data.kind }) }];
    case 'DealOpened': {
      const d = e.data;
      return [
        {
          model: 'deals',
          key: { tenantId, dealId: d.dealId },
          fields: f({
            name: d.name, contactId: d.contactId, pipeline: d.pipeline, stage: d.stage, probability: d.probability, valueMinor: d.value.amountMinor,
            currency: d.value.currency, ownerId: d.ownerId, expectedCloseDate: d.expectedCloseDate, openedAt: I(e.occurredAt), status: 'open',
          }),
        },
        {
          model: 'deal_stage_history',
          key: { tenantId, dealId: d.dealId, position },
          fields: f({ change: 'opened', toStage: d.stage, probability: d.probability, actorId: e.actor.userId, at: I(e.occurredAt) }),
        },
      ];
    }
    case 'DealStageMoved': {
      const d = e.data;
      return [
        { model: 'deals', key: { tenantId, dealId: streamEntity }, fields: f({ stage: d.to, probability: d.probability, stageEnteredAt: I(e.occurredAt) }) },
        { model: 'deal_stage_history', key: { tenantId, dealId: streamEntity, position }, fields: f({ fromStage: d.from, toStage: d.to, actorId: e.actor.userId }) },
      ];
    }
    case 'DealValueChanged':
      return [{ model: 'deals', key: { tenantId, dealId: streamEntity }, fields: f({ valueMinor: e.data.to.amountMinor, currency: e.data.to.currency }) }];
    case 'DealWon': {
      const d = e.data;
      return [
        {
          model: 'deals',
          key: { tenantId, dealId: streamEntity },
          fields: f({ status: 'won', stage: d.stage, valueMinor: d.value.amountMinor, currency: d.value.currency, closedAt: I(e.occurredAt) }),
        },
      ];
    }
    case 'DealLost': {
      const d = e.data;
      return [
        {
          model: 'deals',
          key: { tenantId, dealId: streamEntity },
          fields: f({ status: 'lost', stage: d.stage, valueMinor: d.value.amountMinor, lostReason: d.reason, competitor: orNull(d.competitor) }),
        },
      ];
    }
    case 'DealReopened':
      return [
        { model: 'deals', key: { tenantId, dealId: streamEntity }, fields: f({ status: 'open', stage: e.data.stage, probability: e.data.probability, lostReason: null }) },
      ];
    case 'ConsentGranted': {
      const d = e.data;
      const facts: Fact[] = [
        {
          model: 'consents',
          key: { tenantId, subjectId: d.subjectId, purpose: d.purpose },
          fields: f({
            status: 'granted', subjectType: d.subjectType, lawfulBasis: d.lawfulBasis, source: d.source, noticeVersion: d.noticeVersion,
            grantedAt: I(d.grantedAt),
          }),
        },
      ];
      if (d.subjectType === 'contact') {
        facts.push({
          model: 'timelines',
          key: { tenantId, contactId: d.subjectId, position },
          fields: [...f({ entryType: 'consent_granted', occurredAt: I(d.grantedAt), summary: d.source }), [['details', 'noticeVersion'], d.noticeVersion]],
        });
      }
      return facts;
    }
    case 'ConsentWithdrawn': {
      const d = e.data;
      return [
        { model: 'consents', key: { tenantId, subjectId: d.subjectId, purpose: d.purpose }, fields: f({ status: 'withdrawn', source: d.source, withdrawnAt: I(d.withdrawnAt) }) },
      ];
    }
    case 'SubjectErasureRequested': {
      const d = e.data;
      return [
        {
          model: 'erased_subjects',
          key: { tenantId, subjectId: d.subjectId },
          // (subjectType is set by the first event of the subject and never changes: not this event's to say.)
          fields: f({ status: 'requested', reason: d.reason, requestedBy: d.requestedBy, requestedAt: I(d.requestedAt) }),
        },
      ];
    }
    case 'BudgetCreated': {
      const d = e.data;
      return [
        {
          model: 'budgets',
          key: { tenantId, budgetId: streamEntity },
          fields: f({
            name: d.name, category: d.category, periodStart: d.period.start, periodEnd: d.period.end, currency: d.amount.currency,
            amountMinor: d.amount.amountMinor, ownerId: d.ownerId, status: 'open', createdAt: I(e.occurredAt),
          }),
        },
      ];
    }
    case 'BudgetAllocated': {
      const d = e.data;
      const key = { tenantId, budgetId: streamEntity, campaign: d.campaign };
      return d.amount.amountMinor === 0
        ? [{ model: 'budget_allocations', key, fields: [], absent: true }]
        : [{ model: 'budget_allocations', key, fields: f({ amountMinor: d.amount.amountMinor, currency: d.amount.currency, updatedAt: I(e.occurredAt) }) }];
    }
    case 'BudgetSpendRecorded': {
      const d = e.data;
      return [
        {
          model: 'budget_spend',
          key: { tenantId, budgetId: streamEntity, spendId: d.spendId },
          fields: f({
            vendor: d.vendor, campaign: d.campaign, amountMinor: d.amount.amountMinor, currency: d.amount.currency, spentAt: I(d.spentAt),
            externalReference: d.externalReference, overridden: d.overridden, recordedAt: I(e.occurredAt), actorId: e.actor.userId,
          }),
        },
      ];
    }
    case 'BudgetClosed': {
      const d = e.data;
      return [
        {
          model: 'budgets',
          key: { tenantId, budgetId: streamEntity },
          fields: f({ status: 'closed', spentMinor: d.spentMinor, allocatedMinor: d.allocatedMinor, amountMinor: d.amountMinor, closedAt: I(e.occurredAt) }),
        },
      ];
    }
    default:
      return [];
  }
}

/** Every way `record` differs from `fact`, as readable lines (empty when it holds). */
export function mismatches(fact: Fact, record: Readonly<Record<string, unknown>> | undefined): string[] {
  const where = `${fact.model} ${JSON.stringify(fact.key)}`;
  if (fact.absent) return record === undefined ? [] : [`${where}: expected no record, found one`];
  if (record === undefined) return [`${where}: no record`];
  const out: string[] = [];
  for (const [path, expected] of fact.fields) {
    let actual: unknown = record;
    let present = true;
    for (const k of path) {
      if (actual !== null && typeof actual === 'object' && Object.prototype.hasOwnProperty.call(actual, k)) actual = (actual as Record<string, unknown>)[k];
      else {
        present = false;
        actual = undefined;
        break;
      }
    }
    const show = (v: unknown) => (v instanceof Instant ? v.iso : JSON.stringify(v));
    if (expected === ABSENT) {
      if (present && actual !== null) out.push(`${where} ${path.join('.')}: expected absent, found ${show(actual)}`);
    } else if (expected instanceof Instant) {
      const same = typeof actual === 'string' && Date.parse(actual) === Date.parse(expected.iso);
      if (!same) out.push(`${where} ${path.join('.')}: expected instant ${expected.iso}, found ${show(actual)}`);
    } else if (!isDeepStrictEqual(actual, expected)) {
      out.push(`${where} ${path.join('.')}: expected ${show(expected)}, found ${show(actual)}`);
    }
  }
  return out;
}

// ── histories ────────────────────────────────────────────────────────────────────────────────────
interface Plan {
  readonly aggregate: AggregateName;
  readonly create: AnnalsEventType | undefined;
  readonly follow: readonly AnnalsEventType[];
  /** The payload field that names the entity, set to the stream's id (payloads without it drop the extra key when parsed). */
  readonly idField: string | undefined;
}
const plans: readonly Plan[] = [
  { aggregate: 'contact', create: 'ContactCreated', follow: ['ContactUpdated', 'ContactInteractionLogged'], idField: 'contactId' },
  {
    aggregate: 'lead',
    create: 'LeadCaptured',
    follow: ['LeadAssigned', 'LeadQualified', 'LeadStatusChanged', 'LeadScored', 'LeadActivityLogged'],
    idField: 'leadId',
  },
  { aggregate: 'deal', create: 'DealOpened', follow: ['DealStageMoved', 'DealValueChanged', 'DealWon', 'DealLost', 'DealReopened'], idField: 'dealId' },
  { aggregate: 'consent', create: undefined, follow: ['ConsentGranted', 'ConsentWithdrawn', 'SubjectErasureRequested'], idField: 'subjectId' },
  { aggregate: 'budget', create: 'BudgetCreated', follow: ['BudgetAllocated', 'BudgetSpendRecorded', 'BudgetClosed'], idField: 'budgetId' },
];

interface Candidate {
  readonly type: AnnalsEventType;
  readonly data: unknown;
  readonly metadata: unknown;
}
interface EntityCandidates {
  readonly plan: Plan;
  readonly id: string;
  readonly events: readonly Candidate[];
}

export interface HistoryOptions extends ArbitraryOptions {
  /** Most entities per history. Default 4. */
  readonly maxEntities?: number;
  /** Most events after the creating one, per entity. Default 4. */
  readonly maxFollowUps?: number;
}

export interface GeneratedHistory {
  /** The events the schemas accepted, in append order, with envelopes. */
  readonly events: readonly EventEnvelope[];
  /** Candidates the schemas refused (their type and the first issue): never applied. */
  readonly refused: readonly string[];
}

/**
 * Histories of a few entities of every aggregate, each a creating event and follow-ups whose payloads
 * AND envelopes (tenant, actor, correlation id, time) are drawn from the schemas. One tenant per
 * history, itself drawn from the TenantId schema. Candidates go through `parseEvent` (the only way any
 * code reads an event): a refused candidate is dropped, and an entity whose creating event is refused
 * is dropped whole, so every kept follow-up has its row.
 */
export function historyArbitrary(options: HistoryOptions = {}): fc.Arbitrary<GeneratedHistory> {
  const metadataArb = arbitraryOf(EventMetadata, options) as fc.Arbitrary<Record<string, unknown>>;
  const dataArb = new Map<string, fc.Arbitrary<unknown>>();
  const dataOf = (type: AnnalsEventType): fc.Arbitrary<unknown> => {
    let a = dataArb.get(type);
    if (!a) {
      const def = eventDefinition(type);
      if (!def) throw new Error(`unknown event type ${type}`);
      dataArb.set(type, (a = arbitraryOf(def.data, options)));
    }
    return a;
  };
  const candidate = (type: AnnalsEventType): fc.Arbitrary<Candidate> =>
    fc.record({ type: fc.constant(type), data: dataOf(type), metadata: metadataArb });
  const entity: fc.Arbitrary<EntityCandidates> = fc
    .constantFrom(...plans)
    .chain((plan) =>
      fc.record({
        plan: fc.constant(plan),
        id: fc.uuid(),
        events: fc
          .tuple(
            plan.create ? candidate(plan.create).map((c) => [c]) : fc.constant([] as Candidate[]),
            fc.array(fc.constantFrom(...plan.follow).chain(candidate), { minLength: plan.create ? 0 : 1, maxLength: options.maxFollowUps ?? 4 }),
          )
          .map(([first, rest]) => [...first, ...rest]),
      }),
    );
  return fc
    .tuple((metadataArb.map((m) => m.tenantId) as fc.Arbitrary<unknown>), fc.uniqueArray(entity, { minLength: 1, maxLength: options.maxEntities ?? 4, selector: (e) => e.id }))
    .map(([tenantId, entities]) => assemble(String(tenantId), entities));
}

function assemble(tenantId: string, entities: readonly EntityCandidates[]): GeneratedHistory {
  const events: EventEnvelope[] = [];
  const refused: string[] = [];
  let position = 0n;
  for (const { plan, id, events: candidates } of entities) {
    const stream = streamName[plan.aggregate](id);
    let revision = 0n;
    for (const [i, c] of candidates.entries()) {
      const data = plan.idField && c.data !== null && typeof c.data === 'object' ? { ...c.data, [plan.idField]: id } : c.data;
      try {
        const event = parseEvent({
          eventId: `00000000-0000-7000-8000-${(position + 1n).toString().padStart(12, '0')}`,
          type: c.type,
          schemaVersion: currentVersion(c.type)!,
          streamId: stream,
          streamRevision: revision,
          position: position + 1n,
          data,
          metadata: { ...(c.metadata as object), tenantId },
        });
        events.push(event);
        position += 1n;
        revision += 1n;
      } catch (e) {
        if (!(e instanceof EventContractError)) throw e;
        refused.push(`${c.type}: ${e.message.slice(0, 160)}`);
        if (i === 0 && plan.create) break; // no row to follow up on
      }
    }
  }
  return { events, refused };
}

export interface RoundTripOptions extends HistoryOptions {
  readonly numRuns: number;
  readonly seed?: number;
}

/**
 * The property, against any target. Fails with the smallest history fast-check finds whose events a
 * store refused or did not hold exactly, naming each differing field.
 */
export async function assertRoundTrip(target: ReadModelTarget, options: RoundTripOptions): Promise<{ events: number; refused: number }> {
  let applied = 0;
  let refusedCount = 0;
  await fc.assert(
    fc.asyncProperty(historyArbitrary(options), async ({ events, refused }) => {
      refusedCount += refused.length;
      await target.reset();
      for (const event of events) {
        await target.apply([event]);
        applied += 1;
        const problems: string[] = [];
        for (const fact of factsOf(event)) problems.push(...mismatches(fact, await target.read(fact.model, fact.key)));
        assert.deepEqual(problems, [], `${target.name}: after ${event.type} at position ${event.position}, the read model does not hold what the event said`);
      }
    }),
    // No shrinking: histories carry strings of up to 10 000 characters, and shrinking them through a
    // database takes minutes. The failure names every differing field and prints the seed to replay.
    { numRuns: options.numRuns, ...(options.seed === undefined ? {} : { seed: options.seed }), endOnFailure: true },
  );
  return { events: applied, refused: refusedCount };
}

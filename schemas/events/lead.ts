import { z } from 'zod';
import { ConsentPurpose, Id, IsoDate, IsoDateTime, Money, Text, UserId } from './common.js';
import { defineEvent } from './define.js';
import { personal } from './personal-data.js';

/**
 * Lead events (SPEC: Aggregates → lead). Every payload carries `leadId` so a projector can use the
 * data alone; times that are part of the business fact (capture, activity) are in the payload, every
 * other event takes its time from the envelope's `occurredAt`.
 *
 * Field schemas are exported so the write side validates command bodies with the very same rules.
 * A personal field is marked once, here, on the exact schema instance used in the payload: deriving
 * from a marked schema (`.max(...)` on it) would produce an unmarked copy.
 */

// ── personal fields ────────────────────────────────────────────────────────────────────────────
export const LeadName = personal(
  Text.trim().min(1, 'name must not be empty').max(200, 'name must be at most 200 characters'),
  'name',
);
export const LeadEmail = personal(
  z.email('email must be a valid email address').max(320, 'email must be at most 320 characters'),
  'email',
);
export const LeadPhone = personal(
  Text.trim().min(3, 'phone must have at least 3 characters').max(40, 'phone must be at most 40 characters'),
  'phone',
);
export const LeadNotes = personal(Text.max(10_000, 'notes must be at most 10000 characters'), 'free-form');
/** BANT "need": what the prospect wants, in the salesperson's words, so it may describe the person. */
export const LeadNeed = personal(
  Text.trim().min(1, 'need must not be empty').max(2_000, 'need must be at most 2000 characters'),
  'free-form',
);
/** Free text about the person (why they were lost, reopened...), hence personal. */
export const LeadStatusReason = personal(
  Text.trim().min(1, 'reason must not be empty').max(1_000, 'reason must be at most 1000 characters'),
  'free-form',
);
export const LeadActivitySummary = personal(
  Text.trim().min(1, 'summary must not be empty').max(10_000, 'summary must be at most 10000 characters'),
  'free-form',
);

// ── plain fields ───────────────────────────────────────────────────────────────────────────────
export const LeadSource = z.enum(['web', 'email', 'phone', 'event', 'referral', 'social', 'other'], {
  error: 'source must be one of web, email, phone, event, referral, social, other',
});
export type LeadSource = z.infer<typeof LeadSource>;

/** Statuses a status change may name. `Converted` is reached only by `LeadConverted`. */
export const LeadOpenStatus = z.enum(['New', 'Qualified', 'Nurturing', 'Lost'], {
  error: 'status must be one of New, Qualified, Nurturing, Lost',
});
export type LeadOpenStatus = z.infer<typeof LeadOpenStatus>;
export const LeadStatus = z.enum([...LeadOpenStatus.options, 'Converted']);
export type LeadStatus = z.infer<typeof LeadStatus>;

export const CompanyName = Text.trim().min(1, 'company must not be empty').max(200, 'company must be at most 200 characters');
export const CampaignName = Text.trim().min(1, 'campaign must not be empty').max(200, 'campaign must be at most 200 characters');

export const BantAuthority = z.enum(['decision-maker', 'influencer', 'user', 'unknown'], {
  error: 'authority must be one of decision-maker, influencer, user, unknown',
});
export const BantTimeline = z.enum(['immediate', 'within-3-months', 'within-6-months', 'within-12-months', 'over-12-months', 'unknown'], {
  error: 'timeline must be one of immediate, within-3-months, within-6-months, within-12-months, over-12-months, unknown',
});

export const ScoreFactor = z.object({
  name: Text.trim().min(1, 'factor name must not be empty').max(100, 'factor name must be at most 100 characters'),
  points: z.number().int('points must be an integer').min(-100, 'points must be at least -100').max(100, 'points must be at most 100'),
});
export const LeadScore = z.number().int('score must be an integer').min(0, 'score must be at least 0').max(100, 'score must be at most 100');
export const ScoreFactors = z.array(ScoreFactor).max(50, 'at most 50 score factors');

export const ActivityKind = z.enum(['email', 'call', 'meeting', 'note', 'web-visit', 'event'], {
  error: 'kind must be one of email, call, meeting, note, web-visit, event',
});
export const Direction = z.enum(['inbound', 'outbound'], { error: 'direction must be inbound or outbound' });

/** What the caller asks the conversion process manager to open as a deal. */
export const DealRequest = z.object({
  name: Text.trim().min(1, 'deal name must not be empty').max(200, 'deal name must be at most 200 characters'),
  value: Money,
  pipeline: Text.trim().min(1, 'pipeline must not be empty').max(100, 'pipeline must be at most 100 characters'),
  stage: Text.trim().min(1, 'stage must not be empty').max(100, 'stage must be at most 100 characters').optional(),
  expectedCloseDate: IsoDate.optional(),
});
export type DealRequest = z.infer<typeof DealRequest>;

const marketingNeedsOutbound = (d: { direction?: string | undefined; marketingPurpose?: string | undefined }, ctx: z.RefinementCtx) => {
  if (d.marketingPurpose !== undefined && d.direction !== 'outbound') {
    ctx.addIssue({ code: 'custom', path: ['marketingPurpose'], message: 'marketingPurpose applies to outbound activities only' });
  }
};

// ── events ─────────────────────────────────────────────────────────────────────────────────────
export const LeadCaptured = defineEvent(
  'LeadCaptured',
  1,
  z.object({
    leadId: Id,
    name: LeadName,
    email: LeadEmail.optional(),
    phone: LeadPhone.optional(),
    company: CompanyName.optional(),
    source: LeadSource,
    campaign: CampaignName.optional(),
    notes: LeadNotes.optional(),
    ownerId: UserId.optional(),
    capturedAt: IsoDateTime,
  }),
);

export const LeadAssigned = defineEvent(
  'LeadAssigned',
  1,
  z.object({ leadId: Id, ownerId: UserId, previousOwnerId: UserId.optional() }),
);

/** BANT qualification; the lead's status becomes Qualified. A re-qualification replaces the previous BANT. */
export const LeadQualified = defineEvent(
  'LeadQualified',
  1,
  z.object({
    leadId: Id,
    /** Absent when the prospect has no known budget yet. */
    budget: Money.optional(),
    authority: BantAuthority,
    need: LeadNeed,
    timeline: BantTimeline,
  }),
);

export const LeadStatusChanged = defineEvent(
  'LeadStatusChanged',
  1,
  z
    .object({ leadId: Id, from: LeadOpenStatus, to: LeadOpenStatus, reason: LeadStatusReason.optional() })
    .superRefine((d, ctx) => {
      if (d.from === d.to) ctx.addIssue({ code: 'custom', path: ['to'], message: 'to must differ from from' });
      if (d.to === 'Lost' && d.reason === undefined) {
        ctx.addIssue({ code: 'custom', path: ['reason'], message: 'a change to Lost requires a reason' });
      }
    }),
);

export const LeadScored = defineEvent('LeadScored', 1, z.object({ leadId: Id, score: LeadScore, factors: ScoreFactors }));

export const LeadActivityLogged = defineEvent(
  'LeadActivityLogged',
  1,
  z
    .object({
      leadId: Id,
      kind: ActivityKind,
      summary: LeadActivitySummary,
      /** Absent for kinds without a direction (a note). */
      direction: Direction.optional(),
      occurredAt: IsoDateTime,
      /** Set when this is outbound marketing; consent for this purpose was active when it was logged. */
      marketingPurpose: ConsentPurpose.optional(),
    })
    .superRefine(marketingNeedsOutbound),
);

/**
 * The lead is converted (final). The conversion process manager reacts to this event: it creates
 * contact `contactId` from the lead's captured data and, when `deal` is present, opens deal `dealId`
 * for that contact, both under the same correlation id. The ids are chosen at conversion time so the
 * process manager is idempotent (creating an existing contact/deal is detected, not duplicated).
 */
export const LeadConverted = defineEvent(
  'LeadConverted',
  1,
  z
    .object({ leadId: Id, contactId: Id, dealId: Id.optional(), deal: DealRequest.optional() })
    .superRefine((d, ctx) => {
      if ((d.dealId === undefined) !== (d.deal === undefined)) {
        ctx.addIssue({ code: 'custom', path: ['dealId'], message: 'dealId and deal come together: both or neither' });
      }
    }),
);

/** GDPR erasure: no personal data here; the lead becomes read-only. */
export const LeadErased = defineEvent('LeadErased', 1, z.object({ leadId: Id }));

export const leadEvents = [
  LeadCaptured,
  LeadAssigned,
  LeadQualified,
  LeadStatusChanged,
  LeadScored,
  LeadActivityLogged,
  LeadConverted,
  LeadErased,
] as const;

export const LeadEvent = z.discriminatedUnion('type', [
  LeadCaptured.schema,
  LeadAssigned.schema,
  LeadQualified.schema,
  LeadStatusChanged.schema,
  LeadScored.schema,
  LeadActivityLogged.schema,
  LeadConverted.schema,
  LeadErased.schema,
]);
export type LeadEvent = z.infer<typeof LeadEvent>;
export type LeadEventType = LeadEvent['type'];

type Of<T extends LeadEventType> = Extract<LeadEvent, { type: T }>;
export type LeadCaptured = Of<'LeadCaptured'>;
export type LeadAssigned = Of<'LeadAssigned'>;
export type LeadQualified = Of<'LeadQualified'>;
export type LeadStatusChanged = Of<'LeadStatusChanged'>;
export type LeadScored = Of<'LeadScored'>;
export type LeadActivityLogged = Of<'LeadActivityLogged'>;
export type LeadConverted = Of<'LeadConverted'>;
export type LeadErased = Of<'LeadErased'>;
export type Bant = Omit<LeadQualified['data'], 'leadId'>;

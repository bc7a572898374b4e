import { z } from 'zod';
import { Id, IsoDate, IsoDateTime, Money, Text, UserId } from './common.js';
import { defineEvent } from './define.js';

/**
 * Budget events (stream `budget-<budgetId>`). No personal fields: vendors are organisations and
 * campaigns are labels.
 */

export const BudgetName = Text.trim().min(1, 'budget name must not be empty').max(200, 'budget name is at most 200 characters');
export const BudgetCategory = Text.trim().min(1, 'category must not be empty').max(100, 'category is at most 100 characters');
/** A campaign label, as leads carry it (`campaign` on capture), so spend can be joined to the funnel. */
export const CampaignName = Text.trim().min(1, 'campaign must not be empty').max(200, 'campaign is at most 200 characters');
export const VendorName = Text.trim().min(1, 'vendor must not be empty').max(200, 'vendor is at most 200 characters');
/** The invoice / PO / transaction id in the source system; the idempotency key of a spend. */
export const ExternalReference = Text
  .trim()
  .min(1, 'external reference must not be empty')
  .max(200, 'external reference is at most 200 characters');

/** Inclusive calendar dates; ISO dates compare correctly as strings. */
export const BudgetPeriod = z
  .object({ start: IsoDate, end: IsoDate })
  .refine((p) => p.start <= p.end, { message: 'period end must not be before period start', path: ['end'] });
export type BudgetPeriod = z.infer<typeof BudgetPeriod>;

export const BudgetThreshold = z.union([z.literal(80), z.literal(100)], 'threshold is 80 or 100 (percent of the amount)');
export type BudgetThreshold = z.infer<typeof BudgetThreshold>;

const MinorUnits = z.number().int('minor units are whole numbers').nonnegative('minor units are not negative');

export const BudgetCreated = defineEvent(
  'BudgetCreated',
  1,
  z.object({
    budgetId: Id,
    name: BudgetName,
    category: BudgetCategory,
    period: BudgetPeriod,
    amount: Money,
    ownerId: UserId,
  }),
);

/** Sets (not adds to) the campaign's allocation: re-allocating replaces, 0 removes. */
export const BudgetAllocated = defineEvent('BudgetAllocated', 1, z.object({ campaign: CampaignName, amount: Money }));

export const BudgetSpendRecorded = defineEvent(
  'BudgetSpendRecorded',
  1,
  z.object({
    spendId: Id,
    vendor: VendorName,
    campaign: CampaignName,
    amount: Money,
    /** When the money was spent (from the invoice), not when it was recorded (the envelope's occurredAt). */
    spentAt: IsoDateTime,
    externalReference: ExternalReference,
    /** True only when this spend took the total beyond the amount under a manager override. */
    overridden: z.boolean(),
  }),
);

export const BudgetThresholdReached = defineEvent(
  'BudgetThresholdReached',
  1,
  z.object({ threshold: BudgetThreshold, spentMinor: MinorUnits, amountMinor: MinorUnits }),
);

/** Final figures, so analytics and the audit trail need no fold. */
export const BudgetClosed = defineEvent(
  'BudgetClosed',
  1,
  z.object({ spentMinor: MinorUnits, allocatedMinor: MinorUnits, amountMinor: MinorUnits }),
);

export const budgetEvents = [BudgetCreated, BudgetAllocated, BudgetSpendRecorded, BudgetThresholdReached, BudgetClosed] as const;

export const BudgetEvent = z.discriminatedUnion('type', [
  BudgetCreated.schema,
  BudgetAllocated.schema,
  BudgetSpendRecorded.schema,
  BudgetThresholdReached.schema,
  BudgetClosed.schema,
]);
export type BudgetEvent = z.infer<typeof BudgetEvent>;
export type BudgetEventType = BudgetEvent['type'];
export type BudgetEventOf<T extends BudgetEventType> = Extract<BudgetEvent, { type: T }>;

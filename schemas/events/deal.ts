import { z } from 'zod';
import { Id, IsoDate, Money, Text, UserId } from './common.js';
import { defineEvent } from './define.js';

/**
 * Deal events (stream `deal-<dealId>`).
 *
 * Deals carry no personal fields: the person is referenced by `contactId` only, so erasing a contact
 * never has to shred pipeline history. Deal names and loss reasons are business text; the command API
 * documents that they must not hold personal data (a name belongs on the contact).
 */

/** Pipeline and stage names are slugs so they can key read models and analytics columns. */
const Slug = (what: string) =>
  Text
    .min(1, `${what} must not be empty`)
    .max(64, `${what} is at most 64 characters`)
    .regex(/^[a-z][a-z0-9_]*$/, `${what} is a lowercase slug (a-z, 0-9, _), starting with a letter`);

export const PipelineName = Slug('pipeline');
export const StageName = Slug('stage');
export const Probability = z
  .number()
  .int('probability is a whole percentage')
  .min(0, 'probability is at least 0')
  .max(100, 'probability is at most 100');
export const DealName = Text.trim().min(1, 'deal name must not be empty').max(200, 'deal name is at most 200 characters');
export const LossReason = Text.trim().min(1, 'loss reason must not be empty').max(500, 'loss reason is at most 500 characters');
export const CompetitorName = Text.trim().min(1, 'competitor must not be empty').max(200, 'competitor is at most 200 characters');

export const DealOpened = defineEvent(
  'DealOpened',
  1,
  z.object({
    dealId: Id,
    name: DealName,
    contactId: Id,
    value: Money,
    pipeline: PipelineName,
    stage: StageName,
    /** Copied from the pipeline's stage table at the time, so history never depends on today's table. */
    probability: Probability,
    expectedCloseDate: IsoDate,
    ownerId: UserId,
  }),
);

export const DealStageMoved = defineEvent(
  'DealStageMoved',
  1,
  z.object({ from: StageName, to: StageName, probability: Probability }),
);

export const DealValueChanged = defineEvent('DealValueChanged', 1, z.object({ from: Money, to: Money }));

/** `stage` is the open stage the deal was won from; `value` the value at the time (pipeline analytics need no fold). */
export const DealWon = defineEvent(
  'DealWon',
  1,
  z.object({ stage: StageName, value: Money, probability: z.literal(100, 'a won deal has probability 100') }),
);

export const DealLost = defineEvent(
  'DealLost',
  1,
  z.object({
    stage: StageName,
    value: Money,
    probability: z.literal(0, 'a lost deal has probability 0'),
    reason: LossReason,
    competitor: CompetitorName.optional(),
  }),
);

export const DealReopened = defineEvent('DealReopened', 1, z.object({ stage: StageName, probability: Probability }));

export const dealEvents = [DealOpened, DealStageMoved, DealValueChanged, DealWon, DealLost, DealReopened] as const;

export const DealEvent = z.discriminatedUnion('type', [
  DealOpened.schema,
  DealStageMoved.schema,
  DealValueChanged.schema,
  DealWon.schema,
  DealLost.schema,
  DealReopened.schema,
]);
export type DealEvent = z.infer<typeof DealEvent>;
export type DealEventType = DealEvent['type'];
export type DealEventOf<T extends DealEventType> = Extract<DealEvent, { type: T }>;

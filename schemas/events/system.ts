import { z } from 'zod';
import { Text } from './common.js';
import { defineEvent } from './define.js';

/**
 * Events the platform itself writes, outside the five aggregates. They live in non-aggregate streams,
 * which the relay does not publish.
 */

/**
 * Stream `idempotency-<sha256(["idempotency", tenant, key])>` (write-side/kernel/stream-keys.ts): the first command carrying an idempotency key that creates an
 * aggregate claims the new aggregate's stream here (appended with `no_stream`), so a retry of the same
 * create resolves to the same id instead of creating a second aggregate.
 */
export const IdempotencyKeyClaimed = defineEvent(
  'IdempotencyKeyClaimed',
  1,
  z.object({
    streamId: Text.min(1).max(200),
    commandType: Text.min(1).max(100),
    /** Keyed hash of the claiming request (see EventMetadata.requestHash); absent for older claims. */
    requestHash: Text.max(128).optional(),
  }),
);

/**
 * Stream `contactemail-<hmac(["contactemail", tenant, normalized email])>`: the reservation that makes an
 * email unique among the active contacts of a tenant (write-side/contact/email-claims.ts). Every attempt
 * to write a contact event that gives the contact the email appends `ContactEmailClaimed` at the stream's
 * current revision, so of two concurrent claims exactly one succeeds; `forRevision` is the contact stream
 * revision that attempt appends at and `attempt` names it, so a failed attempt takes back its own claim
 * only (`ContactEmailReleased` with the same `attempt`). Claims written before carry neither field. The
 * stream name is a keyed hash, so it reveals no email.
 */
export const ContactEmailClaimed = defineEvent(
  'ContactEmailClaimed',
  1,
  z.object({
    contactId: z.uuid(),
    forRevision: Text.regex(/^\d{1,19}$/, 'a decimal stream revision').optional(),
    attempt: z.uuid().optional(),
  }),
);
export const ContactEmailReleased = defineEvent(
  'ContactEmailReleased',
  1,
  z.object({
    contactId: z.uuid(),
    reason: z.enum(['changed', 'merged', 'erased', 'create-failed', 'write-failed', 'stale']),
    /** The claim this takes back; absent on releases written before (they took back every claim of the contact). */
    attempt: z.uuid().optional(),
  }),
);

/**
 * Stream `contactname-<hmac(["contactname", tenant, normalized first name, last name, company])>`: an
 * index, not a uniqueness rule (two real people may share a name at one company). The contact CSV import
 * looks it up to report rows that match an existing contact by name + company. Every write that gives a
 * contact a name + company adds an entry; the reader keeps only entries whose contact is active and still
 * carries that name + company, so a stale entry (a crashed write, a later rename) never matters and
 * nothing is ever unindexed any more (`ContactNameUnindexed` is only read, from older streams).
 */
export const ContactNameIndexed = defineEvent('ContactNameIndexed', 1, z.object({ contactId: z.uuid() }));
export const ContactNameUnindexed = defineEvent(
  'ContactNameUnindexed',
  1,
  z.object({
    contactId: z.uuid(),
    reason: z.enum(['changed', 'merged', 'erased', 'write-failed']),
  }),
);

/**
 * Stream `checkpoint-<processor>`: how far a process manager that keeps no database of its own (the lead
 * conversion) has read `$all`. Only the last event matters; it is written after the work it covers, and
 * the work is idempotent, so a crash in between replays a little and changes nothing.
 */
export const ProcessorCheckpointed = defineEvent(
  'ProcessorCheckpointed',
  1,
  z.object({ processor: Text.min(1).max(100), position: Text.regex(/^\d+$/, 'a decimal position') }),
);

export const systemEvents = [
  IdempotencyKeyClaimed,
  ContactEmailClaimed,
  ContactEmailReleased,
  ContactNameIndexed,
  ContactNameUnindexed,
  ProcessorCheckpointed,
] as const;
export type SystemEvent = z.infer<(typeof systemEvents)[number]['schema']>;

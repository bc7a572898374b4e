import { z } from 'zod';
import { Text } from './common.js';
import { defineEvent } from './define.js';

/**
 * Events the platform itself writes, outside the five aggregates. They live in non-aggregate streams,
 * which the relay does not publish.
 */

/**
 * Stream `idempotency-<sha256(tenant:key)>`: the first command carrying an idempotency key that creates an
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
 * Stream `contactemail-<hmac(tenant, normalized email)>`: the reservation that makes an email unique among
 * the active contacts of a tenant. A create (or an update to a new email) appends `ContactEmailClaimed` at
 * the stream's current revision, so of two concurrent claims exactly one succeeds; merge, erasure and an
 * email change append `ContactEmailReleased`. The stream name is a keyed hash, so it reveals no email.
 */
export const ContactEmailClaimed = defineEvent('ContactEmailClaimed', 1, z.object({ contactId: z.uuid() }));
export const ContactEmailReleased = defineEvent(
  'ContactEmailReleased',
  1,
  z.object({
    contactId: z.uuid(),
    reason: z.enum(['changed', 'merged', 'erased', 'create-failed', 'stale']),
  }),
);

/**
 * Stream `contactname-<hmac(tenant, normalized first name, last name, company)>`: an index, not a
 * uniqueness rule (two real people may share a name at one company). The contact CSV import looks it up
 * to report rows that match an existing contact by name + company. Create, update and merge keep it
 * current; an entry whose contact is absent, merged or erased is ignored by the reader, so a write that
 * crashed after indexing leaves nothing that matters. The stream name is a keyed hash: it reveals no name.
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

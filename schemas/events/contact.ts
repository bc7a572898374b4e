import { z } from 'zod';
import { ConsentPurpose, Id, IsoDateTime, Text } from './common.js';
import { defineEvent } from './define.js';
import { personal } from './personal-data.js';

/**
 * Contact events (SPEC: Aggregates → contact). Every payload carries `contactId`. Field schemas are
 * exported so command bodies are validated with the very same rules. Personal fields are marked once,
 * on the exact schema instance used in the payload (a schema derived from a marked one is unmarked).
 */

// ── personal fields ────────────────────────────────────────────────────────────────────────────
export const FirstName = personal(
  Text.trim().min(1, 'firstName must not be empty').max(200, 'firstName must be at most 200 characters'),
  'name',
);
/**
 * May be empty: people with a single name exist, and ContactCreated v1 stored one `name` that the
 * upcaster cannot always split (a single word becomes firstName with lastName ''). 200 characters,
 * like v1's whole name, so every v1 name upcasts to a valid v2 payload.
 */
export const LastName = personal(Text.trim().max(200, 'lastName must be at most 200 characters'), 'name');
export const ContactEmail = personal(
  z.email('email must be a valid email address').max(320, 'email must be at most 320 characters'),
  'email',
);
export const ContactPhone = personal(
  Text.trim().min(3, 'phone must have at least 3 characters').max(40, 'phone must be at most 40 characters'),
  'phone',
);
/** Custom field values are free-form: nothing stops a tenant from storing a birthday or an address in one. */
export const CustomFieldValue = personal(Text.max(2_000, 'a custom field value must be at most 2000 characters'), 'free-form');
export const InteractionSummary = personal(
  Text.trim().min(1, 'summary must not be empty').max(10_000, 'summary must be at most 10000 characters'),
  'free-form',
);
export const InteractionOutcome = personal(
  Text.trim().min(1, 'outcome must not be empty').max(1_000, 'outcome must be at most 1000 characters'),
  'free-form',
);

// ── plain fields ───────────────────────────────────────────────────────────────────────────────
export const ContactCompany = Text.trim().min(1, 'company must not be empty').max(200, 'company must be at most 200 characters');
export const JobTitle = Text.trim().min(1, 'title must not be empty').max(200, 'title must be at most 200 characters');
export const CustomFieldKey = Text
  .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'a custom field name starts with a letter and has at most 64 letters, digits, _ . -');
export const Tag = Text.trim().min(1, 'a tag must not be empty').max(50, 'a tag must be at most 50 characters');
export const Tags = z
  .array(Tag)
  .max(50, 'at most 50 tags')
  .refine((tags) => new Set(tags).size === tags.length, 'tags must be unique')
  // The refinements are invisible to JSON Schema; these keywords publish them (OpenAPI, schemathesis).
  .meta({ uniqueItems: true });
export const CustomFields = z
  .record(CustomFieldKey, CustomFieldValue)
  .refine((r) => Object.keys(r).length <= 100, 'at most 100 custom fields')
  .meta({ maxProperties: 100 });
export const InteractionKind = z.enum(['email', 'call', 'meeting', 'note'], { error: 'kind must be one of email, call, meeting, note' });
export const InteractionChannel = Text.trim().min(1, 'channel must not be empty').max(50, 'channel must be at most 50 characters');
export const InteractionDirection = z.enum(['inbound', 'outbound'], { error: 'direction must be inbound or outbound' });

export const marketingNeedsOutbound = (
  d: { direction?: string | undefined; marketingPurpose?: string | undefined },
  ctx: z.RefinementCtx,
): void => {
  if (d.marketingPurpose !== undefined && d.direction !== 'outbound') {
    ctx.addIssue({ code: 'custom', path: ['marketingPurpose'], message: 'marketingPurpose applies to outbound interactions only' });
  }
};

// ── events ─────────────────────────────────────────────────────────────────────────────────────
/** v2: `name` split into firstName/lastName (v1 is upcast by upcasters/contact-created-v1.ts). */
export const ContactCreated = defineEvent(
  'ContactCreated',
  2,
  z.object({
    contactId: Id,
    firstName: FirstName,
    lastName: LastName,
    email: ContactEmail.optional(),
    phone: ContactPhone.optional(),
    company: ContactCompany.optional(),
    title: JobTitle.optional(),
    customFields: CustomFields,
    tags: Tags,
    /** Set when the contact was created by converting this lead (lineage for audit and idempotency). */
    convertedFromLeadId: Id.optional(),
  }),
);

/**
 * Only the fields that changed. `null` clears an optional field; in `customFields` only changed keys
 * appear and `null` removes a key; `tags` is the whole new set.
 */
export const ContactUpdated = defineEvent(
  'ContactUpdated',
  1,
  z
    .object({
      contactId: Id,
      firstName: FirstName.optional(),
      lastName: LastName.optional(),
      email: ContactEmail.nullable().optional(),
      phone: ContactPhone.nullable().optional(),
      company: ContactCompany.nullable().optional(),
      title: JobTitle.nullable().optional(),
      customFields: z.record(CustomFieldKey, CustomFieldValue.nullable()).optional(),
      tags: Tags.optional(),
    })
    .refine((d) => Object.keys(d).some((k) => k !== 'contactId'), 'an update names at least one changed field'),
);

export const ContactInteractionLogged = defineEvent(
  'ContactInteractionLogged',
  1,
  z
    .object({
      contactId: Id,
      kind: InteractionKind,
      channel: InteractionChannel,
      occurredAt: IsoDateTime,
      summary: InteractionSummary,
      outcome: InteractionOutcome.optional(),
      /** Absent for kinds without a direction (a note). */
      direction: InteractionDirection.optional(),
      /** Set when this is outbound marketing; consent for this purpose was active when it was logged. */
      marketingPurpose: ConsentPurpose.optional(),
    })
    .superRefine(marketingNeedsOutbound),
);

/** On the duplicate's stream: it becomes read-only and points to the survivor. */
export const ContactMerged = defineEvent('ContactMerged', 1, z.object({ contactId: Id, survivorId: Id }));

/** GDPR erasure: no personal data here; the contact becomes read-only. */
export const ContactErased = defineEvent('ContactErased', 1, z.object({ contactId: Id }));

export const contactEvents = [ContactCreated, ContactUpdated, ContactInteractionLogged, ContactMerged, ContactErased] as const;

export const ContactEvent = z.discriminatedUnion('type', [
  ContactCreated.schema,
  ContactUpdated.schema,
  ContactInteractionLogged.schema,
  ContactMerged.schema,
  ContactErased.schema,
]);
export type ContactEvent = z.infer<typeof ContactEvent>;
export type ContactEventType = ContactEvent['type'];

type Of<T extends ContactEventType> = Extract<ContactEvent, { type: T }>;
export type ContactCreated = Of<'ContactCreated'>;
export type ContactUpdated = Of<'ContactUpdated'>;
export type ContactInteractionLogged = Of<'ContactInteractionLogged'>;
export type ContactMerged = Of<'ContactMerged'>;
export type ContactErased = Of<'ContactErased'>;

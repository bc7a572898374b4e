import type { ContactEvent, ContactUpdated } from '../../schemas/events/contact.js';
import { hasRole, type Decider } from '../kernel/decider.js';
import { DomainError, assertNever } from '../kernel/errors.js';
import type { ContactCommand, CreateContact, EraseContact, LogContactInteraction, MergeContact, UpdateContact } from './commands.js';
import { initialContactState, type ActiveContactState, type ContactState } from './state.js';
import { defineErrors } from '../../platform/errors/catalogue.js';

/** Every code `decide` can throw; documented for the error handler and the OpenAPI description. */
export const ContactErrorCode = defineErrors('CONTACT', {
  NotFound: 'CONTACT_ERR_NOT_FOUND',
  AlreadyExists: 'CONTACT_ERR_ALREADY_EXISTS',
  EmailTaken: 'CONTACT_ERR_EMAIL_TAKEN',
  Merged: 'CONTACT_ERR_MERGED',
  Erased: 'CONTACT_ERR_ERASED',
  MergeIntoSelf: 'CONTACT_ERR_MERGE_INTO_SELF',
  MergeRequiresManager: 'CONTACT_ERR_MERGE_REQUIRES_MANAGER',
  SurvivorNotFound: 'CONTACT_ERR_SURVIVOR_NOT_FOUND',
  SurvivorInactive: 'CONTACT_ERR_SURVIVOR_INACTIVE',
  CustomFieldLimit: 'CONTACT_ERR_CUSTOM_FIELD_LIMIT',
  InteractionInFuture: 'CONTACT_ERR_INTERACTION_IN_FUTURE',
  MarketingNotOutbound: 'CONTACT_ERR_MARKETING_NOT_OUTBOUND',
  ConsentRequired: 'CONTACT_ERR_CONSENT_REQUIRED',
  EraseForbidden: 'CONTACT_ERR_ERASE_FORBIDDEN',
});

/** Clients' clocks run a little ahead of ours; an interaction "from the future" beyond this is a mistake. */
const CLOCK_SKEW_TOLERANCE_MS = 5 * 60_000;
/** Same bound as the create schema, applied to the merged result of updates. */
const MAX_CUSTOM_FIELDS = 100;

export function decideContact(command: ContactCommand, state: ContactState): ContactEvent[] {
  if (command.type === 'CreateContact') return create(command, state);
  if (state.status === 'Absent') {
    throw new DomainError(ContactErrorCode.NotFound, 'the contact does not exist', 'not-found');
  }
  // Erasure is allowed on a merged duplicate too: GDPR trumps read-only.
  if (command.type === 'EraseContact') return erase(command, state);
  if (state.status === 'Erased') {
    throw new DomainError(ContactErrorCode.Erased, 'the contact was erased and is read-only', 'invariant', { contactId: state.contactId });
  }
  if (command.type === 'MergeContact') return merge(command, state);
  if (state.status === 'Merged') {
    throw new DomainError(ContactErrorCode.Merged, 'the contact was merged into another and is read-only', 'invariant', {
      contactId: state.contactId,
      survivorId: state.survivorId,
    });
  }

  switch (command.type) {
    case 'UpdateContact':
      return update(command, state);
    case 'LogContactInteraction':
      return logInteraction(command, state);
    default:
      return assertNever(command, 'contact command');
  }
}

function create({ data }: CreateContact, state: ContactState): ContactEvent[] {
  if (state.status !== 'Absent') {
    throw new DomainError(ContactErrorCode.AlreadyExists, 'a contact with this id already exists', 'conflict', { contactId: data.contactId });
  }
  return [{ type: 'ContactCreated', data: withoutUndefined({ ...data }) }];
}

function update({ data }: UpdateContact, state: ActiveContactState): ContactEvent[] {
  const changes: Omit<ContactUpdated['data'], 'contactId'> = {};
  if (data.firstName !== undefined && data.firstName !== state.firstName) changes.firstName = data.firstName;
  if (data.lastName !== undefined && data.lastName !== state.lastName) changes.lastName = data.lastName;
  for (const key of ['email', 'phone', 'company', 'title'] as const) {
    const next = data[key];
    if (next !== undefined && (next ?? undefined) !== state[key]) changes[key] = next;
  }
  if (data.customFields !== undefined) {
    const changed: Record<string, string | null> = {};
    for (const [key, value] of Object.entries(data.customFields)) {
      const has = Object.hasOwn(state.customFields, key);
      if (value === null ? has : !has || state.customFields[key] !== value) changed[key] = value;
    }
    if (Object.keys(changed).length > 0) {
      const after = Object.keys(applyCustomFields(state.customFields, changed)).length;
      if (after > MAX_CUSTOM_FIELDS) {
        throw new DomainError(ContactErrorCode.CustomFieldLimit, `a contact has at most ${MAX_CUSTOM_FIELDS} custom fields`, 'invariant', {
          count: after,
        });
      }
      changes.customFields = changed;
    }
  }
  if (data.tags !== undefined && !sameSet(data.tags, state.tags)) changes.tags = data.tags;

  // PATCH with nothing new appends nothing (SPEC: "update changed fields only").
  if (Object.keys(changes).length === 0) return [];
  return [{ type: 'ContactUpdated', data: { contactId: state.contactId, ...changes } }];
}

function logInteraction({ data, metadata, context }: LogContactInteraction, state: ActiveContactState): ContactEvent[] {
  const occurredAt = data.occurredAt ?? metadata.now.toISOString();
  if (Date.parse(occurredAt) > metadata.now.getTime() + CLOCK_SKEW_TOLERANCE_MS) {
    throw new DomainError(
      ContactErrorCode.InteractionInFuture,
      'an interaction is logged after it happened: occurredAt is in the future',
      'invariant',
      { occurredAt },
    );
  }
  const purpose = data.marketingPurpose;
  if (purpose !== undefined) {
    if (data.direction !== 'outbound') {
      throw new DomainError(ContactErrorCode.MarketingNotOutbound, 'marketingPurpose applies to outbound interactions only', 'validation');
    }
    if (!context.activeConsents.includes(purpose)) {
      throw new DomainError(
        ContactErrorCode.ConsentRequired,
        `outbound marketing for purpose ${purpose} requires the contact's active consent for ${purpose}`,
        'invariant',
        { purpose },
      );
    }
  }
  return [{ type: 'ContactInteractionLogged', data: withoutUndefined({ contactId: state.contactId, ...data, occurredAt }) }];
}

function merge(
  { data, metadata, context }: MergeContact,
  state: Extract<ContactState, { status: 'Active' | 'Merged' }>,
): ContactEvent[] {
  if (!hasRole(metadata, 'manager', 'admin')) {
    throw new DomainError(ContactErrorCode.MergeRequiresManager, 'only a manager may merge contacts', 'forbidden');
  }
  if (state.status === 'Merged') {
    // The same merge again is a retry and changes nothing; merging elsewhere would orphan the first survivor.
    if (state.survivorId === data.survivorId) return [];
    throw new DomainError(ContactErrorCode.Merged, 'the contact was already merged into another contact and is read-only', 'invariant', {
      survivorId: state.survivorId,
    });
  }
  if (data.survivorId === state.contactId) {
    throw new DomainError(ContactErrorCode.MergeIntoSelf, 'a contact cannot be merged into itself');
  }
  switch (context.survivorStatus) {
    case 'active':
      break;
    case 'not-found':
      throw new DomainError(ContactErrorCode.SurvivorNotFound, 'the survivor contact does not exist', 'not-found', {
        survivorId: data.survivorId,
      });
    case 'merged':
    case 'erased':
      // Pointing at a read-only contact would build merge chains (or point at nothing).
      throw new DomainError(ContactErrorCode.SurvivorInactive, `the survivor contact is ${context.survivorStatus}; merge into an active contact`, 'invariant', {
        survivorId: data.survivorId,
      });
    default:
      return assertNever(context.survivorStatus, 'survivor status');
  }
  return [{ type: 'ContactMerged', data: { contactId: state.contactId, survivorId: data.survivorId } }];
}

function erase({ metadata }: EraseContact, state: Exclude<ContactState, { status: 'Absent' }>): ContactEvent[] {
  if (!hasRole(metadata, 'dpo', 'admin')) {
    throw new DomainError(ContactErrorCode.EraseForbidden, 'only a dpo or an admin may erase a contact', 'forbidden');
  }
  // Erasure is retried by the GDPR process until every store is clean; a second run appends nothing.
  if (state.status === 'Erased') return [];
  return [{ type: 'ContactErased', data: { contactId: state.contactId } }];
}

export function evolveContact(state: ContactState, event: ContactEvent): ContactState {
  switch (event.type) {
    case 'ContactCreated': {
      const d = event.data;
      return {
        status: 'Active',
        contactId: d.contactId,
        firstName: d.firstName,
        lastName: d.lastName,
        email: d.email,
        phone: d.phone,
        company: d.company,
        title: d.title,
        customFields: d.customFields,
        tags: d.tags,
      };
    }
    case 'ContactUpdated': {
      if (state.status !== 'Active') return state;
      const d = event.data;
      return {
        ...state,
        firstName: d.firstName ?? state.firstName,
        lastName: d.lastName ?? state.lastName,
        email: d.email === undefined ? state.email : (d.email ?? undefined),
        phone: d.phone === undefined ? state.phone : (d.phone ?? undefined),
        company: d.company === undefined ? state.company : (d.company ?? undefined),
        title: d.title === undefined ? state.title : (d.title ?? undefined),
        customFields: d.customFields === undefined ? state.customFields : applyCustomFields(state.customFields, d.customFields),
        tags: d.tags ?? state.tags,
      };
    }
    case 'ContactInteractionLogged':
      // History only: no decision depends on it.
      return state;
    case 'ContactMerged':
      return { status: 'Merged', contactId: event.data.contactId, survivorId: event.data.survivorId };
    case 'ContactErased':
      return { status: 'Erased', contactId: event.data.contactId };
    default:
      return assertNever(event, 'contact event');
  }
}

function applyCustomFields(current: Readonly<Record<string, string>>, changes: Readonly<Record<string, string | null>>): Record<string, string> {
  const next: Record<string, string> = { ...current };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete next[key];
    else next[key] = value;
  }
  return next;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const set = new Set(a);
  return set.size === new Set(b).size && b.every((x) => set.has(x));
}

/** Optional fields are omitted, never `undefined`, so events compare and serialise predictably. */
function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export const contactDecider: Decider<ContactCommand, ContactState, ContactEvent> = {
  decide: decideContact,
  evolve: evolveContact,
  initialState: initialContactState,
};

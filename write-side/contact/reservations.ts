import type { CommandEnvelope } from '../kernel/handle-command.js';
import type { UpdateContactData } from './commands.js';
import { DomainError } from '../kernel/errors.js';
import { ContactErrorCode } from './decide.js';
import { claimEmail, normalizeEmail, releaseEmail, type ClaimDeps } from './email-claims.js';
import { indexName, nameKey, unindexName, type NameKeyFields } from './name-index.js';
import type { ActiveContactState } from './state.js';

/** The contact fields the reservation streams are keyed by: the email claim and the name + company index. */
export interface ContactKeys extends NameKeyFields {
  readonly email?: string | undefined;
}

export interface ReservedWrite<T> {
  /** Appends the contact's own event(s); the reservations are taken before and settled after it. */
  readonly write: () => Promise<T>;
  /** True when the write was an idempotent replay: it appended nothing, so nothing is settled either. */
  readonly replayed: (result: T) => boolean;
}

/**
 * One contact write with its reservations, for every path that creates or changes a contact (the routes
 * and the CSV import). A write spans several streams, which cannot append atomically together, so the
 * order makes every crash harmless:
 *
 * 1. claim the new email (refused → 409 with the owner's id) and index the new name + company;
 * 2. append the contact's event;
 * 3. release the old email and unindex the old name + company.
 *
 * When step 2 fails (or replays), what step 1 appended is taken back, so no claim is left dangling. A
 * crash between 1 and 2 leaves a claim without its contact, which email-claims.ts treats as stale after
 * CLAIM_GRACE_MS and the name index ignores; a crash between 2 and 3 leaves a claim of a contact that no
 * longer uses it, which the next write of that contact releases again (every release is idempotent).
 */
export async function withReservations<T>(
  deps: ClaimDeps,
  envelope: CommandEnvelope,
  contactId: string,
  change: { readonly before: ContactKeys | undefined; readonly after: ContactKeys },
  now: Date,
  run: ReservedWrite<T>,
): Promise<T> {
  const { before, after } = change;
  const newEmail = after.email !== undefined && !sameEmail(before?.email, after.email) ? after.email : undefined;
  const oldEmail = before?.email !== undefined && !sameEmail(after.email, before.email) ? before.email : undefined;
  const newName = nameKey(after) !== undefined && nameKey(after) !== (before && nameKey(before));
  const oldName = before !== undefined && nameKey(before) !== undefined && nameKey(before) !== nameKey(after);

  let emailFresh = false;
  if (newEmail !== undefined) {
    const claim = await claimEmail(deps, envelope, newEmail, contactId, now);
    if (!claim.claimed) {
      throw new DomainError(ContactErrorCode.EmailTaken, 'the email belongs to another active contact of this tenant', 'conflict', { existingId: claim.ownerId });
    }
    emailFresh = claim.fresh;
  }
  let nameFresh = false;
  const takeBack = async () => {
    if (emailFresh && newEmail !== undefined) await releaseEmail(deps, envelope, newEmail, contactId, 'create-failed', now);
    if (nameFresh) await unindexName(deps, envelope, after, contactId, 'write-failed', now);
  };

  let result: T;
  try {
    if (newName) nameFresh = await indexName(deps, envelope, after, contactId, now);
    result = await run.write();
  } catch (e) {
    await takeBack();
    throw e;
  }
  if (run.replayed(result)) {
    await takeBack();
    return result;
  }
  if (oldEmail !== undefined) await releaseEmail(deps, envelope, oldEmail, contactId, 'changed', now);
  if (oldName) await unindexName(deps, envelope, before, contactId, 'changed', now);
  return result;
}

function sameEmail(a: string | undefined, b: string): boolean {
  return a !== undefined && normalizeEmail(a) === normalizeEmail(b);
}

/** After a merge (or erasure): the contact is no longer active, so its email and name entry are freed. */
export async function releaseReservations(
  deps: ClaimDeps,
  envelope: CommandEnvelope,
  contactId: string,
  keys: ContactKeys,
  reason: 'merged' | 'erased',
  now: Date,
): Promise<void> {
  if (keys.email !== undefined) await releaseEmail(deps, envelope, keys.email, contactId, reason, now);
  await unindexName(deps, envelope, keys, contactId, reason, now);
}

/** The reservation keys of an active contact after an update: an absent field is kept, `null` clears it. */
export function patched(before: ActiveContactState, patch: UpdateContactData): ContactKeys {
  const pick = (next: string | null | undefined, current: string | undefined) => (next === undefined ? current : (next ?? undefined));
  return {
    firstName: patch.firstName ?? before.firstName,
    lastName: patch.lastName ?? before.lastName,
    email: pick(patch.email, before.email),
    company: pick(patch.company, before.company),
  };
}

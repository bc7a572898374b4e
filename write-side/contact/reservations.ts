import type { ContactEvent } from '../../schemas/events/contact.js';
import { DomainError } from '../kernel/errors.js';
import type { AttemptReservation, CommandEnvelope, HandleOptions } from '../kernel/handle-command.js';
import { ContactErrorCode, contactDecider } from './decide.js';
import { claimEmail, normalizeEmail, takeBackEmail, type ClaimDeps } from './email-claims.js';
import { indexName, sameNameKey } from './name-index.js';
import type { ContactState } from './state.js';

export type ContactReserve = NonNullable<HandleOptions<ContactState, ContactEvent>['reserve']>;

/**
 * The reservations of one contact write, for every path that creates or changes a contact (the routes,
 * the CSV import, the lead conversion). Passed to handleCommand as `reserve`, so it runs on every attempt
 * with the state that attempt's append is checked against and the events decided from it:
 *
 * - the email the events give the contact (new, or changed to another normalized address) is claimed
 *   for the revision the append lands at (email-claims.ts); refused → 409 CONTACT_ERR_EMAIL_TAKEN with
 *   the holder's id, and nothing is appended;
 * - a new name + company is indexed (name-index.ts), before the claim, so a failure there leaves no claim.
 *
 * Nothing is released afterwards, neither on an email change nor on merge or erasure: who holds an email
 * is read from the contact streams (email-claims.ts, rule 2), so the old email is free the moment the
 * append lands. Before this design the claims were computed once from the state the route read and then
 * reused by handleCommand's conflict retries against a newer state, which let two concurrent PATCHes give
 * one email to two contacts or keep an unused email claimed forever; deriving them per attempt from the
 * very state of the append closes that, and per-attempt claims make idempotent retries harmless.
 */
export function reserveContactKeys(deps: ClaimDeps, envelope: CommandEnvelope, now: Date): ContactReserve {
  return async ({ state, events, revision }): Promise<AttemptReservation | undefined> => {
    const after = events.reduce(contactDecider.evolve, state);
    if (after.status !== 'Active') return undefined;
    const before = state.status === 'Active' ? state : undefined;
    if (before === undefined || !sameNameKey(before, after)) await indexName(deps, envelope, after, after.contactId, now);
    const email = after.email;
    if (email === undefined || (before?.email !== undefined && normalizeEmail(before.email) === normalizeEmail(email))) return undefined;
    const claim = await claimEmail(deps, envelope, email, after.contactId, revision + 1n, now);
    if (!claim.claimed) {
      throw new DomainError(ContactErrorCode.EmailTaken, 'the email belongs to another active contact of this tenant', 'conflict', { existingId: claim.ownerId });
    }
    return { abort: () => takeBackEmail(deps, envelope, email, after.contactId, claim.attempt, before ? 'write-failed' : 'create-failed', now) };
  };
}

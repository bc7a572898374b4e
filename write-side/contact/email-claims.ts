import { createHmac, randomUUID } from 'node:crypto';
import type { EventStore } from '../../platform/event-store/event-store.js';
import { WrongExpectedRevisionError } from '../../platform/event-store/port.js';
import type { EventEnvelope } from '../../schemas/events/registry.js';
import { streamName } from '../../schemas/events/streams.js';
import type { CommandEnvelope } from '../kernel/handle-command.js';
import { hashedStreamName } from '../kernel/stream-keys.js';
import { contactDecider } from './decide.js';
import type { ContactState } from './state.js';

/**
 * Email uniqueness among the active contacts of a tenant (SPEC: contact), without a read model: one
 * claim stream per (tenant, normalized email). Two rules make it hold under any interleaving:
 *
 * 1. **A claim is a lock, taken at the stream's revision.** Every attempt to append a contact event that
 *    gives the contact an email first appends `ContactEmailClaimed{contactId, forRevision, attempt}` at
 *    the claim stream's current revision, after checking that no other contact holds the email. Of two
 *    concurrent claimants exactly one appends; the other reads again and sees the winner.
 * 2. **Who holds the email is decided from the contact streams, never from releases.** A contact that
 *    ever claimed the email holds it while it is active and its current state uses the email; the last
 *    claimant also holds it while one of its claims is pending: the claimed `forRevision` is beyond the
 *    contact's head (the append may still land) and the claim is younger than CLAIM_GRACE_MS. So nothing
 *    needs releasing when a contact changes its email, is merged or erased: the moment its stream says
 *    so, the email is free. No release can then arrive late and free an email its contact uses again (a
 *    PATCH back to it, an idempotent retry that overtook its original), and no crash between two streams
 *    can leave an email claimed forever. Every earlier claimant is asked too, not only the last, so a
 *    pair that already shares an email (written before this design, or past the lease below) keeps it
 *    refused to everyone else while either uses it.
 *
 * The claim is made inside handleCommand's retry (`reserve`, see reservations.ts), with the revision the
 * contact append is checked against: a conflict reads, decides and claims again from the new state. A
 * failed attempt takes back its own claim (by `attempt`), so the email is free at once rather than after
 * the grace period; taking back a claim whose append landed after all (an ambiguous failure) is harmless,
 * because the contact then uses the email and rule 2 still sees it.
 *
 * The one window left is a lease: an attempt that stalls between its claim and its append for longer than
 * CLAIM_GRACE_MS may lose the email to another contact while its append still lands. Appends take
 * milliseconds; a minute-long stall is an outage, and the operator sees it in the logs and metrics.
 */
export const CLAIM_GRACE_MS = 60_000;

export function normalizeEmail(email: string): string {
  return email.normalize('NFC').trim().toLowerCase();
}

export function emailClaimStream(key: string, tenantId: string, email: string): string {
  return hashedStreamName('contactemail', [tenantId, normalizeEmail(email)], key);
}

/**
 * The name used before the unambiguous key derivation. Only read, when the current stream is empty, so
 * the contacts that held an email before the upgrade keep it (their claim is then honoured by rule 2).
 * TODO(1.0): drop together with a backfill that claims every active contact's email under the new name.
 */
function legacyEmailClaimStream(key: string, tenantId: string, email: string): string {
  return `contactemail-${createHmac('sha256', key).update(`${tenantId}\n${normalizeEmail(email)}`).digest('hex')}`;
}

/** The claim deps from a composition root's dependencies (WriteDeps, the conversion process's). */
export function claimDepsOf(deps: { readonly store: EventStore; readonly emailHashKey: string; readonly legacyEmailHashKey?: string | undefined }): ClaimDeps {
  return { store: deps.store, key: deps.emailHashKey, legacyKey: deps.legacyEmailHashKey };
}

export interface ClaimDeps {
  readonly store: EventStore;
  /** Keys the HMAC of the stream names, so they reveal no email or name. */
  readonly key: string;
  /**
   * The key the streams written before the tuple-encoded names were keyed with (the PII master key as
   * configured, when `key` has since become a key derived from it); defaults to `key`. Only read.
   */
  readonly legacyKey?: string | undefined;
}

interface PendingClaim {
  readonly attempt: string | undefined;
  /** Undefined for claims written before `forRevision` existed: pending by age alone. */
  readonly forRevision: bigint | undefined;
  readonly at: number;
}

/**
 * The claim stream folded: every contact that ever claimed (the last one first), the last claimant's
 * claims not taken back, and the revision.
 */
interface ClaimView {
  readonly claimants: readonly string[];
  readonly pending: readonly PendingClaim[];
  readonly revision: bigint;
}

function foldClaims(events: readonly EventEnvelope[]): ClaimView {
  let claimant: string | undefined;
  let pending: PendingClaim[] = [];
  const claimants: string[] = [];
  for (const e of events) {
    if (e.type === 'ContactEmailClaimed') {
      if (e.data.contactId !== claimant) pending = [];
      claimant = e.data.contactId;
      if (claimants.includes(claimant)) claimants.splice(claimants.indexOf(claimant), 1);
      claimants.unshift(claimant);
      pending.push({ attempt: e.data.attempt, forRevision: e.data.forRevision === undefined ? undefined : BigInt(e.data.forRevision), at: Date.parse(e.occurredAt) });
    } else if (e.type === 'ContactEmailReleased' && e.data.contactId === claimant) {
      // An attempt's take-back removes that claim only; an older release (no attempt) removed them all.
      pending = e.data.attempt === undefined ? [] : pending.filter((p) => p.attempt !== e.data.attempt);
    }
  }
  return { claimants, pending, revision: events.length ? events[events.length - 1]!.streamRevision : -1n };
}

async function readClaims(deps: ClaimDeps, tenantId: string, email: string): Promise<ClaimView> {
  const current = foldClaims(await deps.store.readStream(emailClaimStream(deps.key, tenantId, email)));
  if (current.revision !== -1n) return current;
  // Nothing under the new name yet: the claimants from before the upgrade are asked instead.
  const legacy = foldClaims(await deps.store.readStream(legacyEmailClaimStream(deps.legacyKey ?? deps.key, tenantId, email)));
  return { ...legacy, revision: -1n };
}

/** The contact's state in the tenant (another tenant's contact reads as absent) and its head revision. */
export async function readContact(store: EventStore, contactId: string, tenantId: string): Promise<{ state: ContactState; head: bigint }> {
  const events = await store.readStream(streamName.contact(contactId), { tenantId });
  if (events.length === 0) return { state: contactDecider.initialState(), head: -1n };
  const state = events.reduce((s, e) => contactDecider.evolve(s, e as never), contactDecider.initialState());
  return { state, head: events[events.length - 1]!.streamRevision };
}

/** Rule 2: the contact other than `except` that holds `email` now, if any (the last claimant is asked first). */
async function holder(deps: ClaimDeps, tenantId: string, email: string, view: ClaimView, now: Date, except?: string): Promise<string | undefined> {
  for (const [i, id] of view.claimants.entries()) {
    if (id === except) continue;
    const { state, head } = await readContact(deps.store, id, tenantId);
    if (state.status === 'Active' && state.email !== undefined && normalizeEmail(state.email) === normalizeEmail(email)) return id;
    const pending = i === 0 && state.status !== 'Merged' && state.status !== 'Erased';
    if (pending && view.pending.some((p) => (p.forRevision === undefined || p.forRevision > head) && now.getTime() - p.at < CLAIM_GRACE_MS)) return id;
  }
  return undefined;
}

/** The active contact that holds `email` in the tenant, if any. */
export async function emailOwner(deps: ClaimDeps, tenantId: string, email: string, now: Date): Promise<string | undefined> {
  return holder(deps, tenantId, email, await readClaims(deps, tenantId, email), now);
}

export type ClaimResult = { readonly claimed: true; readonly attempt: string } | { readonly claimed: false; readonly ownerId: string };

/**
 * Claims `email` for the attempt that appends `contactId`'s event at `forRevision` (rule 1). Refused when
 * another contact holds it. The claimant appends its own claim even when it is already the last claimant:
 * each attempt's claim is its own, so taking one back never frees another attempt's.
 */
export async function claimEmail(
  deps: ClaimDeps,
  envelope: CommandEnvelope,
  email: string,
  contactId: string,
  forRevision: bigint,
  now: Date,
): Promise<ClaimResult> {
  const stream = emailClaimStream(deps.key, envelope.tenantId, email);
  const attempt = randomUUID();
  for (let round = 0; round < 10; round++) {
    const view = await readClaims(deps, envelope.tenantId, email);
    const ownerId = await holder(deps, envelope.tenantId, email, view, now, contactId);
    if (ownerId !== undefined) return { claimed: false, ownerId };
    try {
      await deps.store.append(
        stream,
        [{ type: 'ContactEmailClaimed', data: { contactId, forRevision: forRevision.toString(), attempt }, metadata: reservationMetadata(envelope, now) }],
        { expectedRevision: view.revision === -1n ? 'no_stream' : view.revision },
      );
      return { claimed: true, attempt };
    } catch (e) {
      // Someone claimed (or took back) in between: read again and decide again.
      if (!(e instanceof WrongExpectedRevisionError)) throw e;
    }
  }
  throw new Error(`email claim stream ${stream} kept changing`);
}

export type AdoptResult = 'claimed' | 'already' | { readonly heldBy: string };

/**
 * For a contact that already uses `email` (at revision `head`): makes sure the claim stream under the
 * current name says so (the backfill of data written before the tuple-encoded names). Reports another
 * contact that holds the email too: a pair sharing an email, which only a person can resolve.
 */
export async function adoptEmail(deps: ClaimDeps, envelope: CommandEnvelope, email: string, contactId: string, head: bigint, now: Date): Promise<AdoptResult> {
  const stream = emailClaimStream(deps.key, envelope.tenantId, email);
  for (let round = 0; round < 10; round++) {
    const current = foldClaims(await deps.store.readStream(stream));
    const view = current.revision === -1n ? await readClaims(deps, envelope.tenantId, email) : current;
    const heldBy = await holder(deps, envelope.tenantId, email, view, now, contactId);
    if (heldBy !== undefined) return { heldBy };
    if (current.claimants.includes(contactId)) return 'already';
    try {
      await deps.store.append(
        stream,
        [{ type: 'ContactEmailClaimed', data: { contactId, forRevision: head.toString(), attempt: randomUUID() }, metadata: reservationMetadata(envelope, now) }],
        { expectedRevision: current.revision === -1n ? 'no_stream' : current.revision },
      );
      return 'claimed';
    } catch (e) {
      if (!(e instanceof WrongExpectedRevisionError)) throw e;
    }
  }
  throw new Error(`email claim stream ${stream} kept changing`);
}

/**
 * Takes back one attempt's claim after its append did not happen. Appended at any revision: it removes
 * that attempt's claim only, so its order against other claims does not matter, and repeating it is harmless.
 */
export async function takeBackEmail(
  deps: ClaimDeps,
  envelope: CommandEnvelope,
  email: string,
  contactId: string,
  attempt: string,
  reason: 'create-failed' | 'write-failed',
  now: Date,
): Promise<void> {
  await deps.store.append(emailClaimStream(deps.key, envelope.tenantId, email), [
    { type: 'ContactEmailReleased', data: { contactId, reason, attempt }, metadata: reservationMetadata(envelope, now) },
  ]);
}

/** The metadata of a reservation event (no subject: reservation streams hold no personal data). */
export function reservationMetadata(envelope: CommandEnvelope, now: Date) {
  return {
    tenantId: envelope.tenantId,
    actor: envelope.actor,
    correlationId: envelope.correlationId,
    causationId: envelope.causationId,
    occurredAt: now.toISOString(),
  };
}

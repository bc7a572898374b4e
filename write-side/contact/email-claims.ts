import { createHmac } from 'node:crypto';
import type { EventStore } from '../../platform/event-store/event-store.js';
import { WrongExpectedRevisionError } from '../../platform/event-store/port.js';
import { streamName } from '../../schemas/events/streams.js';
import type { CommandEnvelope } from '../kernel/handle-command.js';
import { contactDecider } from './decide.js';

/**
 * Email uniqueness among the active contacts of a tenant (SPEC: contact), without a read model: one
 * reservation stream per (tenant, normalized email), claimed with the stream's expected revision, so of
 * any number of concurrent creates exactly one wins and the others learn the winner's id (409).
 *
 * A claim is stale, and may be taken over, when its contact was merged or erased (the release was lost
 * in a crash), or when the contact was never created and the claim is older than CLAIM_GRACE_MS (the
 * create crashed after claiming). A fresh claim without its contact yet is a create in flight: taken.
 */
export const CLAIM_GRACE_MS = 60_000;

export function normalizeEmail(email: string): string {
  return email.normalize('NFC').trim().toLowerCase();
}

export function emailClaimStream(key: string, tenantId: string, email: string): string {
  const mac = createHmac('sha256', key).update(`${tenantId}\n${normalizeEmail(email)}`).digest('hex');
  return `contactemail-${mac}`;
}

export interface ClaimDeps {
  readonly store: EventStore;
  readonly key: string;
}

interface ClaimState {
  readonly owner: string | undefined;
  readonly claimedAt: string | undefined;
  readonly revision: bigint;
}

async function readClaim(store: EventStore, stream: string): Promise<ClaimState> {
  const events = await store.readStream(stream);
  let owner: string | undefined;
  let claimedAt: string | undefined;
  for (const e of events) {
    if (e.type === 'ContactEmailClaimed') {
      owner = e.data.contactId;
      claimedAt = e.occurredAt;
    } else if (e.type === 'ContactEmailReleased' && e.data.contactId === owner) {
      owner = undefined;
      claimedAt = undefined;
    }
  }
  return { owner, claimedAt, revision: events.length ? events[events.length - 1]!.streamRevision : -1n };
}

/** The contact's status in the tenant (another tenant's contact reads as absent). */
export async function contactStatus(store: EventStore, contactId: string, tenantId: string): Promise<'Absent' | 'Active' | 'Merged' | 'Erased'> {
  const events = await store.readStream(streamName.contact(contactId));
  if (events.length === 0 || events[0]!.tenantId !== tenantId) return 'Absent';
  return events.reduce((s, e) => contactDecider.evolve(s, e as never), contactDecider.initialState()).status;
}

/** The active contact that holds `email` in the tenant, if any (stale claims count as free). */
export async function emailOwner(deps: ClaimDeps, tenantId: string, email: string, now: Date): Promise<string | undefined> {
  const state = await readClaim(deps.store, emailClaimStream(deps.key, tenantId, email));
  if (state.owner === undefined) return undefined;
  return (await isStale(deps, tenantId, state, now)) ? undefined : state.owner;
}

async function isStale(deps: ClaimDeps, tenantId: string, state: ClaimState, now: Date): Promise<boolean> {
  const status = await contactStatus(deps.store, state.owner!, tenantId);
  if (status === 'Merged' || status === 'Erased') return true;
  if (status === 'Absent') return now.getTime() - Date.parse(state.claimedAt ?? '') > CLAIM_GRACE_MS;
  return false;
}

export type ClaimResult = { readonly claimed: true; readonly fresh: boolean } | { readonly claimed: false; readonly ownerId: string };

/**
 * Claims `email` for `contactId`. `fresh` says whether this call appended the claim (so a failed create
 * releases it) or the contact already held it (a retried create, an unchanged email).
 */
export async function claimEmail(deps: ClaimDeps, envelope: CommandEnvelope, email: string, contactId: string, now: Date): Promise<ClaimResult> {
  const stream = emailClaimStream(deps.key, envelope.tenantId, email);
  for (let attempt = 0; attempt < 10; attempt++) {
    const state = await readClaim(deps.store, stream);
    if (state.owner === contactId) return { claimed: true, fresh: false };
    if (state.owner !== undefined && !(await isStale(deps, envelope.tenantId, state, now))) return { claimed: false, ownerId: state.owner };
    try {
      await deps.store.append(stream, [{ type: 'ContactEmailClaimed', data: { contactId }, metadata: reservationMetadata(envelope, now) }], {
        expectedRevision: state.revision === -1n ? 'no_stream' : state.revision,
      });
      return { claimed: true, fresh: true };
    } catch (e) {
      // Someone claimed (or released) in between: read again and decide again.
      if (!(e instanceof WrongExpectedRevisionError)) throw e;
    }
  }
  throw new Error(`email claim stream ${stream} kept changing`);
}

/** Releases `email` if `contactId` holds it; a no-op otherwise (idempotent, safe to retry). */
export async function releaseEmail(
  deps: ClaimDeps,
  envelope: CommandEnvelope,
  email: string,
  contactId: string,
  reason: 'changed' | 'merged' | 'erased' | 'create-failed',
  now: Date,
): Promise<void> {
  const stream = emailClaimStream(deps.key, envelope.tenantId, email);
  for (let attempt = 0; attempt < 10; attempt++) {
    const state = await readClaim(deps.store, stream);
    if (state.owner !== contactId) return;
    try {
      await deps.store.append(stream, [{ type: 'ContactEmailReleased', data: { contactId, reason }, metadata: reservationMetadata(envelope, now) }], {
        expectedRevision: state.revision,
      });
      return;
    } catch (e) {
      if (!(e instanceof WrongExpectedRevisionError)) throw e;
    }
  }
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

import { streamName } from '../../schemas/events/streams.js';
import type { CommandEnvelope } from '../kernel/handle-command.js';
import { contactDecider } from './decide.js';
import { adoptEmail, type ClaimDeps } from './email-claims.js';
import { indexName } from './name-index.js';

/**
 * Re-derives the reservations of every active contact under the current (tuple-encoded) stream names:
 * its email claim and its name + company entry. Data written before the upgrade keeps working without
 * it (the old names are still read), so this is what lets a later release drop those legacy reads, and
 * it reports the pairs of active contacts that already share an email (left by the races fixed with
 * the per-attempt claims), which only a person can resolve (change one email, or merge). Idempotent:
 * a second run claims and indexes nothing. The report holds ids only, never an email or a name.
 *
 * TODO(1.0): wire into the CLI (`annals replay …` or a `maintenance` command) and run it before the
 * legacy reads in email-claims.ts, name-index.ts and handle-command.ts are dropped.
 */
export interface ReservationBackfillReport {
  /** Active contacts seen. */
  readonly contacts: number;
  /** Email claims appended under the current name. */
  readonly claimed: number;
  /** Name + company entries appended under the current name. */
  readonly indexed: number;
  /** Active contacts sharing an email with another active contact of their tenant. */
  readonly sharedEmails: ReadonlyArray<{ readonly tenantId: string; readonly contactId: string; readonly alsoUsedBy: string }>;
}

export async function backfillContactReservations(deps: ClaimDeps, now: Date, options: { readonly batchSize?: number } = {}): Promise<ReservationBackfillReport> {
  const batchSize = options.batchSize ?? 1_000;
  const streams = new Set<string>();
  for (let after: bigint | undefined; ; ) {
    // Raw records: only the stream names are needed here, so nothing is parsed twice.
    const batch = await deps.store.readAllRaw({ after, maxCount: batchSize });
    for (const r of batch) if (r.streamId.startsWith(streamName.contact(''))) streams.add(r.streamId);
    if (batch.length < batchSize) break;
    after = batch[batch.length - 1]!.position;
  }
  let contacts = 0;
  let claimed = 0;
  let indexed = 0;
  const sharedEmails: ReservationBackfillReport['sharedEmails'][number][] = [];
  for (const streamId of streams) {
    const events = await deps.store.readStream(streamId);
    const state = events.reduce((s, e) => contactDecider.evolve(s, e as never), contactDecider.initialState());
    if (state.status !== 'Active') continue;
    contacts++;
    const tenantId = events[0]!.tenantId;
    const envelope: CommandEnvelope = {
      tenantId,
      actor: { userId: 'system:reservations-backfill', roles: [] },
      correlationId: 'reservations-backfill',
      causationId: 'reservations-backfill',
    };
    if (await indexName(deps, envelope, state, state.contactId, now)) indexed++;
    if (state.email === undefined) continue;
    const result = await adoptEmail(deps, envelope, state.email, state.contactId, events[events.length - 1]!.streamRevision, now);
    if (result === 'claimed') claimed++;
    else if (result !== 'already') sharedEmails.push({ tenantId, contactId: state.contactId, alsoUsedBy: result.heldBy });
  }
  return { contacts, claimed, indexed, sharedEmails };
}

import { createHash } from 'node:crypto';
import type { Actor } from '../../schemas/events/envelope.js';
import type { EventStore } from '../../platform/event-store/event-store.js';
import { WrongExpectedRevisionError } from '../../platform/event-store/port.js';
import type { Command, Decider, DomainEvent } from './decider.js';
import { DomainError, IdempotencyErrorCode, StreamErrorCode, TenantErrorCode } from './errors.js';
import { hashedStreamName } from './stream-keys.js';

/** What the shell (HTTP route, process manager) knows about a command besides its payload. */
export interface CommandEnvelope {
  readonly tenantId: string;
  readonly actor: Actor;
  readonly correlationId: string;
  /** The id of whatever caused this command: the request id, or the event a process manager reacted to. */
  readonly causationId: string;
  readonly idempotencyKey?: string | undefined;
  /** Keyed hash of the request carrying the idempotency key; the same key with another request is refused. */
  readonly requestHash?: string | undefined;
  /** `If-Match`: the revision the caller last saw. When set, a stale stream answers 409 instead of retrying. */
  readonly expectedRevision?: bigint | undefined;
  /** The data subject whose key will encrypt personal fields (lead or contact id). */
  readonly subjectId?: string | undefined;
}

export interface CommandResult<E extends DomainEvent = DomainEvent> {
  readonly streamId: string;
  /** Revision of the stream after the command (-1 when the stream is still empty). */
  readonly revision: bigint;
  /** Global position of the last event this command wrote (or of the first handling, on a replay). */
  readonly position: bigint | undefined;
  readonly events: readonly E[];
  /** True when an idempotency key matched an earlier handling: nothing was appended this time. */
  readonly replayed: boolean;
}

/**
 * What a reservation taken for one attempt does once the append is decided (see `HandleOptions.reserve`).
 * `abort` runs when this attempt's append did not happen (a conflict, a refused or failed append); it
 * must be safe even when the append did in fact land (an ambiguous network failure).
 */
export interface AttemptReservation {
  readonly abort: () => Promise<void>;
}

export interface HandleOptions<S = unknown, E extends DomainEvent = DomainEvent> {
  /** Attempts on a concurrency conflict when no `If-Match` was given (reload, decide again). */
  readonly maxAttempts?: number;
  /**
   * Reservations on other streams that must agree with this very append (a contact's email claim).
   * Called on every attempt, after `decide`, with the state the append will be checked against and the
   * events decided from it, before the append; it throws (e.g. 409 email taken) to refuse the command.
   * Because it runs inside the retry, a conflict never appends events decided from one state with
   * reservations computed from another: the retry reads, decides and reserves again, all at one revision.
   * Not called for an idempotent replay or a command that decides nothing.
   */
  readonly reserve?: (attempt: { readonly state: S; readonly events: readonly E[]; readonly revision: bigint }) => Promise<AttemptReservation | undefined>;
}

/**
 * The thin shell (GUIDE rule 4): read the stream, fold, decide, append at the revision we read.
 *
 * - A concurrent writer makes the append fail; we reload and decide again, a bounded number of times.
 *   With `If-Match` the caller asked for exactly that revision, so we answer 409 instead.
 * - A command whose idempotency key is already in the stream (stored in the event metadata) appends
 *   nothing and returns the first handling's result. The check and the append are made atomic by the
 *   expected revision: two concurrent retries cannot both append.
 * - A stream of another tenant is answered as not found; the caller logs it as a security event.
 * - `If-Match` holds on every attempt: the revision is compared with each read and the append carries
 *   the revision read, so a conflict under `If-Match` is a 409 and is never retried into a success.
 * - A command on an aggregate that does not exist answers the decider's not-found (404), with or
 *   without `If-Match`: an absent stream is not a stale one.
 */
export async function handleCommand<C extends Command, S, E extends DomainEvent>(
  store: EventStore,
  decider: Decider<C, S, E>,
  streamId: string,
  command: C,
  envelope: CommandEnvelope,
  options: HandleOptions<S, E> = {},
): Promise<CommandResult<E>> {
  const maxAttempts = options.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const history = await store.readStream(streamId, { tenantId: envelope.tenantId, onOtherTenant: otherTenant });
    const revision = history.length ? history[history.length - 1]!.streamRevision : -1n;

    if (envelope.idempotencyKey) {
      const earlier = history.filter((e) => e.idempotencyKey === envelope.idempotencyKey);
      if (earlier.length > 0) {
        const last = earlier[earlier.length - 1]!;
        assertSameRequest(envelope, last.requestHash);
        return { streamId, revision: last.streamRevision, position: last.position, events: [], replayed: true };
      }
    }
    if (envelope.expectedRevision !== undefined && envelope.expectedRevision !== revision) {
      // An empty stream is an absent aggregate: the decider's own answer (404 for every non-create
      // command) says more than "is at revision -1".
      if (history.length === 0) decider.decide(command, decider.initialState());
      throw staleRevision(streamId, envelope.expectedRevision, revision);
    }

    const state = history.reduce((s, e) => decider.evolve(s, { type: e.type, data: e.data } as unknown as E), decider.initialState());
    const events = decider.decide(command, state);
    if (events.length === 0) {
      return { streamId, revision, position: history.at(-1)?.position, events, replayed: false };
    }
    const reservation = await options.reserve?.({ state, events, revision });

    const occurredAt = command.metadata.now.toISOString();
    try {
      const result = await store.append(
        streamId,
        events.map((e) => ({
          type: e.type,
          data: e.data,
          metadata: {
            tenantId: envelope.tenantId,
            actor: envelope.actor,
            correlationId: envelope.correlationId,
            causationId: envelope.causationId,
            occurredAt,
            ...(envelope.subjectId ? { subjectId: envelope.subjectId } : {}),
            ...(envelope.idempotencyKey ? { idempotencyKey: envelope.idempotencyKey } : {}),
            ...(envelope.idempotencyKey && envelope.requestHash ? { requestHash: envelope.requestHash } : {}),
          },
        })),
        { expectedRevision: revision === -1n ? 'no_stream' : revision },
      );
      return { streamId, revision: result.nextExpectedRevision, position: result.position, events, replayed: false };
    } catch (e) {
      // A take-back that fails itself must not hide why the append failed; what it leaves behind is a
      // pending reservation that expires on its own (contact/email-claims.ts, rule 2).
      await reservation?.abort().catch(() => undefined);
      if (!(e instanceof WrongExpectedRevisionError)) throw e;
      if (envelope.expectedRevision !== undefined) throw staleRevision(streamId, envelope.expectedRevision, e.actual === 'no_stream' ? -1n : e.actual);
      if (attempt >= maxAttempts) {
        throw new DomainError(StreamErrorCode.Contended, `stream ${streamId} kept changing; ${attempt} attempts failed`, 'conflict');
      }
    }
  }
}

/**
 * For commands that create an aggregate: the id a retried create must reuse. The first call with a given
 * (tenant, key) claims `proposedId`; every later call gets that same id back, so the retry lands on the
 * same stream, where `handleCommand` finds the key and appends nothing.
 */
export async function claimIdempotentId(
  store: EventStore,
  envelope: CommandEnvelope,
  streamIdOf: (id: string) => string,
  proposedId: string,
  commandType: string,
  now: Date,
): Promise<string> {
  if (!envelope.idempotencyKey) return proposedId;
  const claimStream = idempotencyStream(envelope.tenantId, envelope.idempotencyKey);
  const claimed = async () => {
    // Before the unambiguous names, claims lived under `legacyIdempotencyStream`; a claim found there
    // counts only when its tenant is ours: given the tenant, `<tenant>:<key>` names exactly one key.
    const [claim] = await store.readStream(claimStream, { toRevision: 0n });
    const [legacy] = claim ? [] : await store.readStream(legacyIdempotencyStream(envelope.tenantId, envelope.idempotencyKey!), { toRevision: 0n });
    const found = claim ?? (legacy?.tenantId === envelope.tenantId ? legacy : undefined);
    if (found?.type !== 'IdempotencyKeyClaimed') return undefined;
    assertSameRequest(envelope, found.data.requestHash);
    return found.data.streamId;
  };
  const existing = await claimed();
  if (existing) return idOf(existing);
  try {
    await store.append(
      claimStream,
      [
        {
          type: 'IdempotencyKeyClaimed',
          data: { streamId: streamIdOf(proposedId), commandType, ...(envelope.requestHash ? { requestHash: envelope.requestHash } : {}) },
          metadata: { tenantId: envelope.tenantId, actor: envelope.actor, correlationId: envelope.correlationId, causationId: envelope.causationId, occurredAt: now.toISOString() },
        },
      ],
      { expectedRevision: 'no_stream' },
    );
    return proposedId;
  } catch (e) {
    if (!(e instanceof WrongExpectedRevisionError)) throw e;
    const winner = await claimed();
    if (!winner) throw e;
    return idOf(winner);
  }
}

/** The stream where a create's idempotency key claims the new aggregate's id: one per (tenant, key). */
export function idempotencyStream(tenantId: string, idempotencyKey: string): string {
  return hashedStreamName('idempotency', [tenantId, idempotencyKey]);
}

/**
 * The ambiguous name used before (tenant `acme` + key `x:k1` = tenant `acme:x` + key `k1`); read, never
 * written, so a retry that spans the upgrade still finds its first handling.
 * TODO(1.0): drop once no deployment holds claims older than the upgrade (retries span minutes).
 */
function legacyIdempotencyStream(tenantId: string, idempotencyKey: string): string {
  return `idempotency-${createHash('sha256').update(`${tenantId}:${idempotencyKey}`).digest('hex')}`;
}

function idOf(streamId: string): string {
  return streamId.slice(streamId.indexOf('-') + 1);
}

/** The facade's tenant-scoped read calls this for a stream of another tenant; the route logs the security event. */
function otherTenant(streamId: string): never {
  throw new DomainError(TenantErrorCode.NotFound, `${streamId} was not found`, 'not-found', { crossTenant: true });
}

function staleRevision(streamId: string, expected: bigint, actual: bigint): DomainError {
  return new DomainError(StreamErrorCode.RevisionMismatch, `${streamId} is at revision ${actual}, If-Match said ${expected}`, 'conflict', {
    expectedRevision: expected.toString(),
    actualRevision: actual.toString(),
  });
}

/**
 * An idempotency key names one request. Reusing it for a different one (another body or path) is a
 * client bug that a replayed answer would hide, so it is refused (422), as the IETF Idempotency-Key
 * draft asks. Records written without a hash (process managers, older events) match anything.
 */
function assertSameRequest(envelope: CommandEnvelope, earlierHash: string | undefined): void {
  if (envelope.requestHash && earlierHash && envelope.requestHash !== earlierHash) {
    throw new DomainError(
      IdempotencyErrorCode.KeyReused,
      `Idempotency-Key "${envelope.idempotencyKey}" was already used for a different request (another body or path); use a new key for a new request`,
      'invariant',
      { idempotencyKey: envelope.idempotencyKey },
    );
  }
}

import { createHash } from 'node:crypto';
import type { Actor } from '../../schemas/events/envelope.js';
import type { EventEnvelope } from '../../schemas/events/registry.js';
import type { EventStore } from '../../platform/event-store/event-store.js';
import { WrongExpectedRevisionError } from '../../platform/event-store/port.js';
import type { Command, Decider, DomainEvent } from './decider.js';
import { DomainError } from './errors.js';

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

export interface HandleOptions {
  /** Attempts on a concurrency conflict when no `If-Match` was given (reload, decide again). */
  readonly maxAttempts?: number;
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
 */
export async function handleCommand<C extends Command, S, E extends DomainEvent>(
  store: EventStore,
  decider: Decider<C, S, E>,
  streamId: string,
  command: C,
  envelope: CommandEnvelope,
  options: HandleOptions = {},
): Promise<CommandResult<E>> {
  const maxAttempts = options.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const history = await store.readStream(streamId);
    assertSameTenant(history, envelope.tenantId, streamId);
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
      throw staleRevision(streamId, envelope.expectedRevision, revision);
    }

    const state = history.reduce((s, e) => decider.evolve(s, { type: e.type, data: e.data } as unknown as E), decider.initialState());
    const events = decider.decide(command, state);
    if (events.length === 0) {
      return { streamId, revision, position: history.at(-1)?.position, events, replayed: false };
    }

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
      if (!(e instanceof WrongExpectedRevisionError)) throw e;
      if (envelope.expectedRevision !== undefined) throw staleRevision(streamId, envelope.expectedRevision, e.actual === 'no_stream' ? -1n : e.actual);
      if (attempt >= maxAttempts) {
        throw new DomainError('STREAM_ERR_CONTENDED', `stream ${streamId} kept changing; ${attempt} attempts failed`, 'conflict');
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
  const claimStream = `idempotency-${createHash('sha256').update(`${envelope.tenantId}:${envelope.idempotencyKey}`).digest('hex')}`;
  const claimed = async () => {
    const [claim] = await store.readStream(claimStream, { toRevision: 0n });
    if (claim?.type !== 'IdempotencyKeyClaimed') return undefined;
    assertSameRequest(envelope, claim.data.requestHash);
    return claim.data.streamId;
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

function idOf(streamId: string): string {
  return streamId.slice(streamId.indexOf('-') + 1);
}

function assertSameTenant(history: readonly EventEnvelope[], tenantId: string, streamId: string): void {
  const first = history[0];
  if (first && first.tenantId !== tenantId) {
    throw new DomainError('TENANT_ERR_NOT_FOUND', `${streamId} was not found`, 'not-found', { crossTenant: true });
  }
}

function staleRevision(streamId: string, expected: bigint, actual: bigint): DomainError {
  return new DomainError('STREAM_ERR_REVISION_MISMATCH', `${streamId} is at revision ${actual}, If-Match said ${expected}`, 'conflict', {
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
      'IDEMPOTENCY_ERR_KEY_REUSED',
      `Idempotency-Key "${envelope.idempotencyKey}" was already used for a different request (another body or path); use a new key for a new request`,
      'invariant',
      { idempotencyKey: envelope.idempotencyKey },
    );
  }
}

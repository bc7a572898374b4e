import { defineErrors } from '../../platform/errors/catalogue.js';
import type { EventEnvelope } from '../../schemas/events/registry.js';

/**
 * The projection runtime's error codes. Internal (no API answers with them): they travel in dead-letter
 * headers, logs and `annals replay status`. A failing event's code carries the store's own code in
 * parentheses when it has one (`PROJECTION_ERR_EVENT(22021)`), so a dead letter says what the store refused.
 */
export const ProjectionErrorCode = defineErrors('PROJECTION', {
  Event: 'PROJECTION_ERR_EVENT',
  NulInLiteral: 'PROJECTION_ERR_NUL_IN_LITERAL',
  NotRegistered: 'PROJECTION_ERR_NOT_REGISTERED',
  GenerationLive: 'PROJECTION_ERR_GENERATION_LIVE',
  BatchSize: 'PROJECTION_ERR_BATCH_SIZE',
});

/**
 * One event's projection failed; any target throws it to name the event (`index`: its index in the list
 * the target was given). `deterministic` is false only when the cause is the store being unreachable (a
 * lost connection: failures.ts, or the target's `isTransient`): that is waited out; anything else is
 * retried a bounded number of times and then the event is dead-lettered.
 */
export class ProjectionEventError extends Error {
  readonly code: string;
  constructor(
    readonly projection: string,
    readonly event: Pick<EventEnvelope, 'eventId' | 'type' | 'streamId' | 'streamRevision' | 'position'>,
    override readonly cause: unknown,
    readonly deterministic: boolean,
    /** Index of the event in the list the target was given. */
    readonly index: number,
  ) {
    super(
      `${projection}: ${event.type} at stream ${JSON.stringify(event.streamId)} revision ${event.streamRevision} position ${event.position} failed: ${(cause as Error)?.message ?? String(cause)}`,
    );
    this.name = 'ProjectionEventError';
    const c = (cause as { code?: unknown })?.code;
    this.code = typeof c === 'string' ? `${ProjectionErrorCode.Event}(${c})` : ProjectionErrorCode.Event;
  }
}

/** Thrown by an apply in probe mode once its work succeeded, so its checkpoint (and, where possible, its data) is not committed. */
export class ProbeRollback extends Error {
  constructor() {
    super('probe: rolled back on purpose');
    this.name = 'ProbeRollback';
  }
}

import type { Logger } from 'pino';
import { backoffDelay, sleep, type BackoffPolicy } from '../../platform/bus/backoff.js';
import { ProjectionEventError } from './apply.js';

export interface RetryPolicy {
  /** Attempts of a failing event before it is dead-lettered (default 5). */
  readonly maxAttempts: number;
  readonly backoff: BackoffPolicy;
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 5, backoff: { initialMs: 50, maxMs: 5_000, factor: 2 } };

/**
 * Runs one batch transaction until it commits, isolating poison events:
 * - an event failing deterministically is retried (whole batch, with backoff) up to `maxAttempts`, then
 *   handed to `onPoison` (dead-letter it) and excluded, and the batch runs again without it: a poison
 *   event never blocks the events behind it on its partition;
 * - any other failure (database down, deadlock) is retried with backoff for as long as it takes.
 * `attempt` receives the event ids to exclude; it must roll everything back when it throws (a transaction).
 */
export async function runIsolated<T>(args: {
  attempt: (excluded: ReadonlySet<string>) => Promise<T>;
  onPoison: (error: ProjectionEventError, attempts: number) => Promise<void>;
  policy: RetryPolicy;
  signal?: AbortSignal | undefined;
  log: Logger;
  /** Ids excluded from the start (dead-lettered earlier in this batch). */
  excluded?: Set<string>;
}): Promise<T> {
  const excluded = args.excluded ?? new Set<string>();
  const attempts = new Map<string, number>();
  let transient = 0;
  for (;;) {
    try {
      return await args.attempt(excluded);
    } catch (err) {
      if (args.signal?.aborted) throw err;
      if (err instanceof ProjectionEventError && err.deterministic) {
        const n = (attempts.get(err.event.eventId) ?? 0) + 1;
        attempts.set(err.event.eventId, n);
        const at = { streamId: err.event.streamId, streamRevision: err.event.streamRevision.toString(), position: err.event.position.toString(), type: err.event.type };
        if (n >= args.policy.maxAttempts) {
          args.log.error({ err, ...at, attempts: n }, 'projector: poison event; dead-lettering it and moving on');
          await args.onPoison(err, n);
          excluded.add(err.event.eventId);
          continue;
        }
        args.log.warn({ err, ...at, attempt: n }, 'projector: event failed; retrying');
        await sleep(backoffDelay(args.policy.backoff, n, Math.random()), args.signal);
      } else {
        transient++;
        const delay = backoffDelay(args.policy.backoff, transient, Math.random());
        args.log.warn({ err, attempt: transient, retryInMs: delay }, 'projector: batch failed (transient); retrying');
        await sleep(delay, args.signal);
      }
      if (args.signal?.aborted) throw err;
    }
  }
}

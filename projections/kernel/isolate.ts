import type { Logger } from 'pino';
import { backoffDelay, sleep, type BackoffPolicy } from '../../platform/bus/backoff.js';
import type { EventEnvelope } from '../../schemas/events/registry.js';
import { ProjectionEventError, ProbeRollback } from './errors.js';
import { describeFailure, isConnectionError as isReadDbConnectionError } from './failures.js';

export { ProbeRollback } from './errors.js';

export interface RetryPolicy {
  /** Attempts of a failing event before it is dead-lettered (default 5). */
  readonly maxAttempts: number;
  readonly backoff: BackoffPolicy;
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 5, backoff: { initialMs: 50, maxMs: 5_000, factor: 2 } };


/** How a failed attempt was classified (for the caller's stats and the stall detector). */
export type FailureKind = 'connection' | 'event' | 'batch';

/**
 * Runs one batch transaction until it commits, so that no event can hold the batch forever:
 * - a lost connection (failures.ts, or what the target's `isTransient` names) is retried with backoff for as long as it takes, never counted
 *   against an event: a database outage must not empty a read model into the DLQ;
 * - an event named by the failure (`ProjectionEventError`: apply.ts bisects a failing script down to it)
 *   is retried (whole batch, with backoff) up to `maxAttempts`, then handed to `onPoison` (dead-letter it)
 *   and excluded, and the batch runs again without it: a poison event never blocks the events behind it;
 * - any other failure (whatever its SQLSTATE, or none) that REPEATS on the same batch is bisected: the
 *   batch runs as rolled-back probes on prefixes of `events` (O(log n) transactions) to find the first event
 *   whose inclusion makes it fail, which then counts its attempts as above. A failure that happens even with
 *   no event (prefix 0: the bookkeeping itself) cannot be blamed on one and is retried with backoff; the
 *   stall detector reports it.
 * The fast path (the first attempt commits) costs nothing more than the attempt.
 *
 * `attempt(excluded, probe)` must apply `events` minus `excluded`, in one transaction that rolls back when
 * it throws, and, when `probe` is true, throw `ProbeRollback` at the end instead of committing.
 */
export async function runIsolated<T>(args: {
  /** The read model's name (for the errors). */
  name: string;
  /** The batch's events in the order they are applied: what a bisection splits. */
  events: readonly EventEnvelope[];
  attempt: (excluded: ReadonlySet<string>, probe: boolean) => Promise<T>;
  onPoison: (error: ProjectionEventError, attempts: number) => Promise<void>;
  onFailure?: (error: unknown, kind: FailureKind) => void;
  policy: RetryPolicy;
  signal?: AbortSignal | undefined;
  log: Logger;
  /**
   * false: a lost connection is thrown instead of waited out, for attempts nested in a transaction the
   * caller owns (a rebuild's last events, inside the swap): that transaction is gone with the connection.
   */
  waitOutConnectionLoss?: boolean;
  /**
   * Failures of the store to wait out like a lost connection (the target's `isTransient`); a lost connection
   * to the read database (failures.ts) always is one.
   */
  isTransient?: ((error: unknown) => boolean) | undefined;
}): Promise<T> {
  const { log, policy } = args;
  const isConnectionError = (e: unknown) => isReadDbConnectionError(e) || args.isTransient?.(e) === true;
  const excluded = new Set<string>();
  const attempts = new Map<string, number>();
  const byId = new Map(args.events.map((e, i) => [e.eventId, { event: e, index: i }]));
  let connection = 0;
  let batch = 0;
  const wait = async (n: number) => sleep(backoffDelay(policy.backoff, n, Math.random()), args.signal);

  /** undefined: the probe succeeded (and rolled back); else its error. */
  const probe = async (prefix: number): Promise<unknown> => {
    const without = new Set(excluded);
    for (const e of args.events.slice(prefix)) without.add(e.eventId);
    try {
      await args.attempt(without, true);
      return new Error('probe: the attempt committed instead of throwing ProbeRollback');
    } catch (e) {
      return e instanceof ProbeRollback ? undefined : e;
    }
  };

  /** The event whose inclusion first makes the batch fail, with that failure; undefined if none does. */
  const bisect = async (): Promise<{ culprit?: ProjectionEventError; connectionError?: unknown }> => {
    const candidates = args.events.filter((e) => !excluded.has(e.eventId));
    const order = args.events.map((e) => e.eventId);
    const prefixOf = (i: number) => order.indexOf(candidates[i]!.eventId) + 1; // events up to and including candidate i
    let lo = 0; // candidates[0, lo) pass (assumed for 0; checked below when it matters)
    let hi = candidates.length; // candidates[0, hi) fail
    let failure: unknown;
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      const e = await probe(prefixOf(mid - 1));
      if (e !== undefined && isConnectionError(e)) return { connectionError: e };
      if (e === undefined) lo = mid;
      else {
        hi = mid;
        failure = e;
      }
    }
    if (hi === 0) return {};
    const first = hi === 1 ? await probe(0) : undefined; // does it fail with no event at all?
    if (first !== undefined) return isConnectionError(first) ? { connectionError: first } : {};
    failure ??= await probe(prefixOf(hi - 1));
    if (failure === undefined) return {}; // it went away
    if (isConnectionError(failure)) return { connectionError: failure };
    const { event, index } = byId.get(candidates[hi - 1]!.eventId)!;
    return { culprit: failure instanceof ProjectionEventError ? failure : new ProjectionEventError(args.name, event, failure, true, index) };
  };

  for (;;) {
    let err: unknown;
    try {
      return await args.attempt(excluded, false);
    } catch (e) {
      err = e;
    }
    if (args.signal?.aborted) throw err;
    if (isConnectionError(err)) {
      if (args.waitOutConnectionLoss === false) throw err;
      connection++;
      args.onFailure?.(err, 'connection');
      log.warn({ err, attempt: connection }, 'projector: store unreachable; retrying until it is back');
      await wait(connection);
      continue;
    }
    connection = 0;
    let culprit = err instanceof ProjectionEventError ? err : undefined;
    if (!culprit) {
      batch++;
      args.onFailure?.(err, 'batch');
      if (batch >= 2) {
        const found = await bisect();
        if (found.connectionError !== undefined) {
          if (args.waitOutConnectionLoss === false) throw found.connectionError;
          args.onFailure?.(found.connectionError, 'connection');
          log.warn({ err: found.connectionError }, 'projector: store unreachable while isolating a failure; retrying');
          await wait(++connection);
          continue;
        }
        culprit = found.culprit;
      }
      if (!culprit) {
        log.warn({ err, attempt: batch, blamed: batch >= 2 ? 'no single event' : 'not yet' }, 'projector: batch failed; retrying');
        await wait(batch);
        if (args.signal?.aborted) throw err;
        continue;
      }
      // Every failed attempt of the batch contained it.
      attempts.set(culprit.event.eventId, Math.max(attempts.get(culprit.event.eventId) ?? 0, batch - 1));
    } else args.onFailure?.(err, 'event');
    const id = culprit.event.eventId;
    const n = (attempts.get(id) ?? 0) + 1;
    attempts.set(id, n);
    const at = { streamId: culprit.event.streamId, streamRevision: culprit.event.streamRevision.toString(), position: culprit.event.position.toString(), type: culprit.event.type };
    if (n >= policy.maxAttempts) {
      log.error({ err: culprit, ...at, attempts: n, cause: describeFailure(culprit.cause) }, 'projector: poison event; dead-lettering it and moving on');
      await args.onPoison(culprit, n);
      excluded.add(id);
      batch = 0;
      continue;
    }
    log.warn({ err: culprit, ...at, attempt: n }, 'projector: event failed; retrying');
    await wait(n);
    if (args.signal?.aborted) throw err;
  }
}

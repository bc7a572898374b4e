/**
 * Exponential backoff with full jitter, shared by the relay and the projectors (both retry bus and
 * database operations). Pure: `backoffDelay` takes the random number, so it is testable.
 */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor?: number;
}

export const defaultBackoff: BackoffPolicy = { initialMs: 100, maxMs: 5_000, factor: 2 };

/** Delay before retry number `attempt` (1-based): uniform in [cap/2, cap], cap = min(max, initial·factor^(attempt-1)). */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: number): number {
  const cap = Math.min(policy.maxMs, policy.initialMs * (policy.factor ?? 2) ** Math.max(0, attempt - 1));
  return Math.round(cap / 2 + (cap / 2) * random);
}

/** Sleeps `ms`, or less if `signal` aborts (then resolves; the caller checks `signal.aborted`). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

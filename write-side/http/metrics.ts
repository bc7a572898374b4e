import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics of one app instance. A registry per app (never prom-client's global one), so two
 * apps in one test process, or the one-process start with several services, never share counters.
 */
export interface CommandMetrics {
  readonly registry: Registry;
  readonly commands: Counter<'command' | 'outcome'>;
  readonly latency: Histogram<'command' | 'outcome'>;
}

/** Outcomes, by status code: what an operator alerts on. */
export function outcomeOf(status: number, replayed: boolean): string {
  if (status < 300) return replayed ? 'replayed' : 'accepted';
  switch (status) {
    case 400:
    case 413:
    case 415:
      return 'invalid';
    case 401:
      return 'unauthenticated';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 409:
      return 'conflict';
    case 422:
      return 'rejected';
    case 429:
      return 'rate_limited';
    default:
      return status >= 500 ? 'error' : 'other';
  }
}

export function createCommandMetrics(options: { defaultMetrics?: boolean } = {}): CommandMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'annals_write_' });
  return {
    registry,
    commands: new Counter({
      name: 'annals_commands_total',
      help: 'Commands handled by the command API, by command type and outcome',
      labelNames: ['command', 'outcome'] as const,
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'annals_command_duration_seconds',
      help: 'Command latency from request to response, by command type and outcome',
      labelNames: ['command', 'outcome'] as const,
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
}

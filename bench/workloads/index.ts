import type { CaseResult, ServiceSystem } from '../lib/types.js';
import type { SystemDriver } from '../lib/system.js';

type Params = Readonly<Record<string, number | string | boolean>>;

/** A measurement run inside a fresh case process against one event store, through its driver. */
export interface StoreWorkload {
  readonly kind: 'store';
  /** Connections the system's pool should have for these parameters. */
  poolSize(params: Params): number;
  /** Warms up, then measures; the case runner adds the peak RSS. */
  run(driver: SystemDriver, params: Params): Promise<Omit<CaseResult, 'maxRssBytes'>>;
}

/**
 * A measurement of a whole service (an HTTP app, the one-process start, a script) that the workload
 * starts itself. When the service runs in child processes the workload measures their peak RSS and
 * returns it; otherwise the case runner adds its own.
 */
export interface ServiceWorkload {
  readonly kind: 'service';
  run(system: ServiceSystem, params: Params): Promise<Omit<CaseResult, 'maxRssBytes'> & { maxRssBytes?: number; settings?: Record<string, string> }>;
}

export type Workload = StoreWorkload | ServiceWorkload;

export const workloads: Record<string, () => Promise<Workload>> = {
  append: async () => (await import('./append.js')).append,
  read: async () => (await import('./read.js')).read,
  'command-api': async () => (await import('./command-api.js')).commandApi,
  'one-process': async () => (await import('./one-process.js')).oneProcess,
  projection: async () => (await import('./projection.js')).projection,
};

import type { CaseResult } from '../lib/types.js';
import type { SystemDriver } from '../lib/system.js';

type Params = Readonly<Record<string, number | string | boolean>>;

/** A measurement run inside a fresh case process against one system. */
export interface Workload {
  /** Connections the system's pool should have for these parameters. */
  poolSize(params: Params): number;
  /** Warms up, then measures; the case runner adds the peak RSS. */
  run(driver: SystemDriver, params: Params): Promise<Omit<CaseResult, 'maxRssBytes'>>;
}

export const workloads: Record<string, () => Promise<Workload>> = {
  append: async () => (await import('./append.js')).append,
  read: async () => (await import('./read.js')).read,
};

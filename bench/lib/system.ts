import type { BenchEvent } from './events.js';
import type { StoreSystem, SystemName } from './types.js';

/**
 * What a workload needs from a store. Each implementation lives in bench/systems/ and is imported
 * only by the case process that measures it, so no two systems ever share a process (emmett, once
 * loaded, changes pg's type parsing for the whole process).
 */
export interface SystemDriver {
  /** Empties the system's tables, so every case starts from the same state. */
  reset(): Promise<void>;
  /**
   * Appends `events` to `streamId`, which already holds `existing` events (0: a new stream), with
   * the optimistic-concurrency check the system offers for that situation.
   */
  append(streamId: string, events: readonly BenchEvent[], existing: number): Promise<void>;
  /** Reads a whole stream into usable objects; returns how many events it read. */
  readStream(streamId: string): Promise<number>;
  /** Free-form facts recorded in the results (server settings, versions). */
  describe(): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export interface SystemOptions {
  /** Connection pool size; the workload sets it to its concurrency. */
  readonly poolSize: number;
}

export const systems: Record<StoreSystem, () => Promise<{ open(options: SystemOptions): Promise<SystemDriver> }>> = {
  'ours-pg': () => import('../systems/ours-pg.js'),
  'ours-pg-pii': () => import('../systems/ours-pg-pii.js'),
  'emmett-pg': () => import('../baselines/emmett/system.js'),
  'raw-pg': () => import('../systems/raw-pg.js'),
  'ours-pglite': () => import('../systems/ours-pglite.js'),
  'raw-pglite': () => import('../systems/raw-pglite.js'),
};

/** The database each server-backed system uses: one per system, so their tables never collide. */
export const databaseOf: Partial<Record<SystemName | 'ours-pg-pii-keys', string>> = {
  'ours-pg': 'annals_bench_ours',
  // The codec-on store shares the codec-off one's database (each case truncates it first); its keys have their own.
  'ours-pg-pii': 'annals_bench_ours',
  'ours-pg-pii-keys': 'annals_bench_keys',
  'emmett-pg': 'annals_bench_emmett',
  'raw-pg': 'annals_bench_raw',
  // The projection script's read models; its event store is ours-pg's database (the append cases truncate it).
  'projection-script': 'annals_bench_read',
};

/** The bench's fixed master key (32 bytes, base64url), for every system that runs the GDPR codec. */
export const BENCH_PII_MASTER_KEY = 'YmVuY2gtcGlpLW1hc3Rlci1rZXktMzItYnl0ZXMtMDA';

/** The server URL, handed down by bench/run.ts; `database` replaces the path. */
export function serverUrl(database?: string): string {
  const base = process.env.ANNALS_BENCH_PG_URL;
  if (!base) throw new Error('ANNALS_BENCH_PG_URL is not set (bench/run.ts sets it from `annals stack env`)');
  if (!database) return base;
  const u = new URL(base);
  u.pathname = `/${database}`;
  return u.toString();
}

export function urlFor(system: keyof typeof databaseOf): string {
  const db = databaseOf[system];
  if (!db) throw new Error(`${system} has no database`);
  return serverUrl(db);
}

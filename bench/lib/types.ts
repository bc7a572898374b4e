/**
 * The vocabulary of the harness. A *case* is one workload run against one system in one fresh
 * process; a *row* compares our case with one baseline case. Rows live in bench/rows/*.ts and are
 * collected by bench/rows/index.ts, so a later feature adds a file, not a branch in the runner.
 */

/** Which event store (or plain-SQL floor) a case runs against; each maps to a module in bench/systems/. */
export type StoreSystem = 'ours-pg' | 'ours-pg-pii' | 'emmett-pg' | 'raw-pg' | 'ours-pglite' | 'raw-pglite';

/**
 * What a *service* workload runs (bench/workloads/index.ts): a server or a whole program, started by
 * the workload itself rather than opened as a store driver.
 * - `ours-http-pg`: write-side/build-app.ts on our event store on the PostgreSQL server;
 * - `bare-http-pg`: one bare fastify route doing the same append (bench/systems/bare-http-pg.ts);
 * - `annals-start`: the one-process start (`npm start`) on its embedded adapters, as child processes;
 * - `projection-script`: bench/projection-catchup.ts in a child process.
 */
export type ServiceSystem = 'ours-http-pg' | 'bare-http-pg' | 'annals-start' | 'projection-script';

export type SystemName = StoreSystem | ServiceSystem;

/** What a case process is told to do. JSON-serialisable: it crosses the fork boundary. */
export interface CaseSpec {
  readonly workload: string;
  readonly system: SystemName;
  readonly params: Readonly<Record<string, number | string | boolean>>;
}

/** What a case process reports back. */
export interface CaseResult {
  /** The figure the row compares, in the row's unit. */
  readonly value: number;
  /**
   * Peak resident set size of the service under test, in bytes: the case process's own maxRSS, unless
   * the workload ran the service in child processes and measured their peak itself (bench/lib/rss.ts).
   */
  readonly maxRssBytes: number;
  /** Measured wall time, in ms, for the record. */
  readonly elapsedMs: number;
  readonly detail?: Readonly<Record<string, number | string>>;
}

export interface Row {
  /** Stable id, used by `--only`. */
  readonly id: string;
  readonly title: string;
  /** e.g. `events/s`. */
  readonly unit: string;
  /** Whether a bigger figure is better; the ratio is always ours / baseline. */
  readonly higherIsBetter: boolean;
  readonly ours: CaseSpec;
  /**
   * The case to compare with; absent for a row judged against an absolute target only (memory, lag).
   * It may be the very spec of `ours` when one case yields both figures (see `metric`): it then runs once.
   */
  readonly baseline?: CaseSpec;
  /** Short name of the baseline for the table, e.g. `emmett 0.42` or `raw INSERT`. */
  readonly baselineLabel?: string;
  /**
   * Which figure of each case the row reads: a key of `CaseResult.detail`, or `value` (the default). Lets
   * one case serve several rows (commands/s and p95 latency; catch-up rate next to the raw INSERT rate).
   */
  readonly metric?: { readonly ours?: string; readonly baseline?: string };
  /**
   * The compass: a ratio to the baseline (e.g. 0.5 for "≥ 50% of raw INSERT"), or an absolute bound on
   * our figure (e.g. 512 for "under 512 MB"), met in the direction of `higherIsBetter`.
   */
  readonly target?: { readonly ratio: number; readonly label: string } | { readonly value: number; readonly label: string };
  /** Skip in `--quick` (the CI smoke run) to keep it near two minutes. */
  readonly fullOnly?: boolean;
  /** In `--quick`, run this row's cases in this many rounds at most (slow rows: one round proves they work). */
  readonly quickRounds?: number;
}

/** A row the run does not measure, listed in the table with the reason. */
export interface PendingRow {
  readonly id: string;
  readonly title: string;
  /** Shown in place of the figures, e.g. `not yet measured (waiting for query-api)`. */
  readonly status: string;
}

export interface RowModule {
  readonly rows: (opts: { quick: boolean }) => readonly Row[];
  /** Rows this module cannot measure in this run, and why (e.g. no Kafka configured). */
  readonly pending?: (opts: { quick: boolean }) => readonly PendingRow[];
}

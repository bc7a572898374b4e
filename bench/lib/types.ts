/**
 * The vocabulary of the harness. A *case* is one workload run against one system in one fresh
 * process; a *row* compares our case with one baseline case. Rows live in bench/rows/*.ts and are
 * collected by bench/rows/index.ts, so a later feature adds a file, not a branch in the runner.
 */

/** Which event store (or plain-SQL floor) a case runs against; each maps to a module in bench/systems/. */
export type SystemName = 'ours-pg' | 'emmett-pg' | 'raw-pg' | 'ours-pglite' | 'raw-pglite';

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
  /** Peak resident set size of the case process, in bytes (process.resourceUsage().maxRSS). */
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
  readonly baseline: CaseSpec;
  /** Short name of the baseline for the table, e.g. `emmett 0.42` or `raw INSERT`. */
  readonly baselineLabel: string;
  /** The compass: the ratio we aim for, e.g. 0.5 for "≥ 50% of raw INSERT". */
  readonly target?: { readonly ratio: number; readonly label: string };
  /** Skip in `--quick` (the CI smoke run) to keep it near two minutes. */
  readonly fullOnly?: boolean;
}

/** A row whose feature has not landed: listed in latest.md as "not yet measured". */
export interface PendingRow {
  readonly id: string;
  readonly title: string;
  readonly waitingFor: string;
}

export interface RowModule {
  readonly rows: (opts: { quick: boolean }) => readonly Row[];
  readonly pending?: readonly PendingRow[];
}

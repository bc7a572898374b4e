import type { PendingRow, Row, RowModule } from '../lib/types.js';
import * as append from './append.js';
import * as commandApi from './command-api.js';
import * as memory from './memory.js';
import * as pending from './pending.js';
import * as projection from './projection.js';
import * as read from './read.js';

/** Every row module; a new benchmark adds a file in this folder and a line here. */
const modules: readonly RowModule[] = [append, read, commandApi, memory, projection];

export function allRows(opts: { quick: boolean }): Row[] {
  return modules.flatMap((m) => m.rows(opts)).filter((r) => !(opts.quick && r.fullOnly));
}

/** The rows not written yet, then the rows a module cannot measure in this run (with the reason). */
export function pendingRows(opts: { quick: boolean }): PendingRow[] {
  return [...pending.pending, ...modules.flatMap((m) => m.pending?.(opts) ?? [])];
}

import type { PendingRow, Row } from '../lib/types.js';
import * as append from './append.js';
import * as pending from './pending.js';
import * as read from './read.js';

/** Every row module; a new benchmark adds a file in this folder and a line here. */
const modules = [append, read];

export function allRows(opts: { quick: boolean }): Row[] {
  return modules.flatMap((m) => m.rows(opts)).filter((r) => !(opts.quick && r.fullOnly));
}

export const pendingRows: readonly PendingRow[] = pending.pending;

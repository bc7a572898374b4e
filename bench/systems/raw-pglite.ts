import { openPglite } from '../../platform/sql/client.js';
import type { SystemDriver, SystemOptions } from '../lib/system.js';
import { rawDriver } from './raw-common.js';

/** Plain `INSERT`/`SELECT` on PGlite, in memory and fresh per case (as ours-pglite.ts). */
export async function open(_options: SystemOptions): Promise<SystemDriver> {
  const db = await openPglite();
  return rawDriver(async (sql, params) => ({ rows: (await db.query<Record<string, unknown>>(sql, params)).rows }), 'pglite', () => db.close());
}

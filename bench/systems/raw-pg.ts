import pg from 'pg';
import type { SystemDriver, SystemOptions } from '../lib/system.js';
import { urlFor } from '../lib/system.js';
import { rawDriver } from './raw-common.js';

/** Plain `INSERT`/`SELECT` through pg on the PostgreSQL server. */
export async function open({ poolSize }: SystemOptions): Promise<SystemDriver> {
  const pool = new pg.Pool({ connectionString: urlFor('raw-pg'), max: poolSize, application_name: 'annals-bench' });
  return rawDriver(
    async (sql, params) => ({ rows: (await pool.query(sql, params)).rows as Record<string, unknown>[] }),
    'postgres',
    () => pool.end(),
  );
}

import pg from 'pg';
import type { SystemDriver, SystemOptions } from '../lib/system.js';
import { urlFor } from '../lib/system.js';
import { rawDriver } from './raw-common.js';

/** Plain `INSERT`/`SELECT` through pg on the PostgreSQL server. */
export async function open({ poolSize }: SystemOptions): Promise<SystemDriver> {
  const pool = new pg.Pool({ connectionString: urlFor('raw-pg'), max: poolSize, application_name: 'annals-bench' });
  return rawDriver(
    async (sql, params, prepare) => ({ rows: (await pool.query(prepare ? { name: 'bench_raw_insert', text: sql, values: params } : { text: sql, values: params })).rows as Record<string, unknown>[] }),
    'postgres',
    () => pool.end(),
  );
}

import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { databaseOf } from './system.js';

/**
 * The PostgreSQL server URL: EVENTSTORE_URL when set, else what `annals stack env` prints. The bench
 * never starts or stops servers; if this one is down, `node scripts/cli/annals.mjs stack up postgres`.
 */
export function resolveServerUrl(): string {
  if (process.env.ANNALS_BENCH_PG_URL) return process.env.ANNALS_BENCH_PG_URL;
  if (process.env.EVENTSTORE_URL) return process.env.EVENTSTORE_URL;
  const env = execFileSync(process.execPath, ['scripts/cli/annals.mjs', 'stack', 'env'], { encoding: 'utf8' });
  const m = /EVENTSTORE_URL='?([^'\n]+)'?/.exec(env);
  if (!m?.[1]) throw new Error('cannot find EVENTSTORE_URL in `annals stack env`');
  return m[1];
}

/** Creates one database per server-backed system (if missing), so their tables never collide. */
export async function ensureDatabases(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, application_name: 'annals-bench' });
  try {
    await client.connect();
  } catch (e) {
    throw new Error(`PostgreSQL at ${new URL(url).host} is not reachable (${(e as Error).message}); start it with: node scripts/cli/annals.mjs stack up postgres`);
  }
  try {
    for (const db of Object.values(databaseOf)) {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [db]);
      if (!rowCount) await client.query(`CREATE DATABASE ${db}`);
    }
  } finally {
    await client.end();
  }
}

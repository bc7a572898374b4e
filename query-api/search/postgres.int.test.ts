import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { pgClient } from '../../platform/sql/client.js';
import { requireEnv } from '../../platform/testing/require-env.js';
import { postgresSearch } from './postgres.js';
import { loadPostgresDocuments, otherTenantOf, searchSuite, suiteDocuments } from './testing.js';

// The embedded adapter's SQL on a PostgreSQL 15 server (READ_DB_URL with pg_trgm), in a database of its
// own created for the run and dropped after it: the same suite as PGlite and Elasticsearch.
searchSuite('PostgreSQL full-text + pg_trgm (PostgreSQL server)', async () => {
  const admin = requireEnv('READ_DB_URL');
  const name = `annals_search_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const url = new URL(admin);
  const withDb = (db: string) => {
    const u = new URL(admin);
    u.pathname = `/${db}`;
    return u.toString();
  };
  const adminClient = new pg.Client({ connectionString: withDb(url.pathname.slice(1) || 'postgres') });
  await adminClient.connect();
  await adminClient.query(`CREATE DATABASE ${name}`);
  const sql = pgClient(withDb(name), { max: 2 });
  const tenant = `tenant-${name}`;
  await loadPostgresDocuments(sql, suiteDocuments(tenant, otherTenantOf(tenant)));
  return {
    port: postgresSearch(sql),
    tenant,
    close: async () => {
      await sql.close();
      await adminClient.query(`DROP DATABASE IF EXISTS ${name}`);
      await adminClient.end();
    },
  };
});

import { postgresSearch } from './postgres.js';
import { openSuitePglite, searchSuite } from './testing.js';

// The embedded adapter on PGlite (real PostgreSQL + pg_trgm, in-process): the same suite as Elasticsearch.
searchSuite('PostgreSQL full-text + pg_trgm (PGlite)', async () => {
  const tenant = 'tenant-search-suite';
  const sql = await openSuitePglite(tenant);
  return { port: postgresSearch(sql), tenant, close: () => sql.close() };
});

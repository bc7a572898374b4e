import { openPglite, pgliteClient } from '../../platform/sql/client.js';
import { pgSearchProjection } from '../../projections/postgres/search/projection.js';
import { postgresReadModelTarget } from '../../projections/postgres/target.js';
import { postgresSearch } from '../../query-api/search/postgres.js';
import { searchPipelineSuite } from './testing.js';

searchPipelineSuite('embedded (PGlite: search table + full-text + pg_trgm)', async () => {
  const sql = pgliteClient(await openPglite());
  return { target: postgresReadModelTarget(sql, pgSearchProjection), port: postgresSearch(sql), visible: async () => undefined, close: () => sql.close() };
});

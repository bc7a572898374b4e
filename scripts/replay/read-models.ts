import type { SqlClient } from '../../platform/sql/client.js';
import type { ReadModelTarget } from '../../projections/kernel/target.js';
import { postgresReadModels } from '../../projections/main.js';
import { postgresReadModelTargets } from '../../projections/postgres/target.js';

/**
 * The read models the operations commands (`replay status`, `dlq retry`, `replay rebuild/verify`) act on,
 * as targets on the read database. The PostgreSQL models always; the Elasticsearch and ClickHouse models
 * join here when the composition root builds their targets from ELASTICSEARCH_URL / CLICKHOUSE_URL (their
 * checkpoints are in the same control tables, so `replay status` lists them already, by name, from there).
 */
export function readModelTargets(readSql: SqlClient): ReadModelTarget[] {
  return postgresReadModelTargets(readSql, postgresReadModels);
}

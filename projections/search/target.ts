import type { Logger } from 'pino';
import { openElasticsearch, type ElasticsearchClient } from '../../platform/elasticsearch/client.js';
import type { SqlClient } from '../../platform/sql/client.js';
import { controlledTarget } from '../kernel/controlled.js';
import type { ReadModelTarget } from '../kernel/target.js';
import { elasticsearchModel } from '../elasticsearch/model.js';
import { pgSearchProjection } from '../postgres/search/projection.js';
import { postgresReadModelTarget } from '../postgres/target.js';

/**
 * The search read model's target as configuration picks it (the projections side of the choice; the query
 * side is the search port): ELASTICSEARCH_URL set → `search_es` on Elasticsearch, its bookkeeping in the
 * read database's control tables; unset → `search`, a table in the read database. Used by the standalone
 * projections service; `npm start` builds the same through scripts/cli/commands/start-search.ts.
 */
export function searchTarget(
  readSql: SqlClient,
  options: { elasticsearchUrl?: string | undefined; indexPrefix?: string | undefined; log: Logger; /** Shared with the caller (who closes it). */ client?: ElasticsearchClient },
): { target: ReadModelTarget; close(): Promise<void> } {
  if (!options.elasticsearchUrl) return { target: postgresReadModelTarget(readSql, pgSearchProjection), close: async () => undefined };
  const client = options.client ?? openElasticsearch(options.elasticsearchUrl);
  // No refresh=wait_for on the writes: the controlled target holds its control transaction while a batch is
  // written (with an embedded read database, its only connection), and wait_for would hold it up to a
  // refresh interval. Read-your-writes refreshes at read time instead (the search port's `fresh`).
  const model = elasticsearchModel({ client, prefix: options.indexPrefix ?? '', log: options.log.child({ component: 'search' }) });
  return { target: controlledTarget(readSql, model), close: async () => (options.client ? undefined : client.close()) };
}

import type { Logger } from 'pino';
import { openElasticsearch } from '../../../platform/elasticsearch/client.js';
import type { PersonalDataScanner } from '../../../platform/pii/scanner.js';
import type { SqlClient } from '../../../platform/sql/client.js';
import type { ReadModelTarget } from '../../../projections/kernel/target.js';
import { searchTarget } from '../../../projections/search/target.js';
import { elasticsearchSearch } from '../../../query-api/search/elasticsearch.js';
import type { SearchPort } from '../../../query-api/search/port.js';
import { postgresSearch } from '../../../query-api/search/postgres.js';

/**
 * The search side of the composition root (issue 12 §2-3), chosen by configuration only (SPEC "Shape"):
 * ELASTICSEARCH_URL set → the Elasticsearch model `search_es` (its bookkeeping in the read database's
 * control tables) and the Elasticsearch search adapter; unset → the embedded model `search` (a table in the
 * read database, PGlite or PostgreSQL, with pg_trgm and tsvector indexes) and the PostgreSQL adapter. The
 * projector (a target of the store-neutral runtime), the query API's search port and the erasure scanner
 * come from the same choice, so a deployment never projects into one store and searches another.
 */
export interface SearchWiring {
  readonly adapter: 'elasticsearch' | 'postgres';
  /** The projector's target, for `startProjections({ targets })`. */
  readonly target: ReadModelTarget;
  /** The erasure certificate's scanner for the search store. */
  readonly scanner: PersonalDataScanner;
  /** For the query API (`services.search`). */
  readonly port: SearchPort;
  /** The read model names a search reads (for read-your-writes): the search model and the entity models it joins. */
  readonly models: readonly string[];
  close(): Promise<void>;
}

export function openSearch(options: { readSql: SqlClient; elasticsearchUrl?: string | undefined; indexPrefix?: string | undefined; log: Logger }): SearchWiring {
  const models = (name: string) => [name, 'contacts', 'leads', 'deals'];
  if (options.elasticsearchUrl) {
    const client = openElasticsearch(options.elasticsearchUrl);
    const { target } = searchTarget(options.readSql, { ...options, client });
    return {
      adapter: 'elasticsearch',
      target,
      scanner: target.scanner,
      port: elasticsearchSearch(client, { prefix: options.indexPrefix ?? '' }),
      models: models(target.name),
      close: () => client.close(),
    };
  }
  const { target } = searchTarget(options.readSql, options);
  return { adapter: 'postgres', target, scanner: target.scanner, port: postgresSearch(options.readSql), models: models(target.name), close: async () => undefined };
}

import { z } from 'zod';
import { AnalyticsEnv } from '../../../platform/analytics/config.js';
import { ConfigError, EX_CONFIG, parseEnv, type Env } from '../../../platform/config/env.js';
import { ElasticsearchEnv } from '../../../platform/elasticsearch/client.js';
import { createLogger } from '../../../platform/logging/logger.js';
import type { SqlClient } from '../../../platform/sql/client.js';
import type { ReadModelTarget } from '../../../projections/kernel/target.js';
import { analyticsEventsModel } from '../../../projections/clickhouse/events/model.js';
import { readModelTargets } from '../../replay/read-models.js';
import { clickhouseComparator } from '../../replay/verify-clickhouse.js';
import { elasticsearchComparator } from '../../replay/verify-elasticsearch.js';
import type { Comparator } from '../../replay/verify.js';
import { openElasticsearch } from '../../../platform/elasticsearch/client.js';
import { CliFailure } from './ops-env.js';
import { openAnalyticsWiring } from './start-analytics.js';
import { openSearch } from './start-search.js';

/**
 * Every read model of every store, as the composition root (`npm start`) builds them, for the operations
 * commands: the PostgreSQL models; search (Elasticsearch when ELASTICSEARCH_URL is set, else the embedded
 * `search` table); analytics (`analytics_events` on the ClickHouse server when CLICKHOUSE_URL is set, else
 * chDB under DATA_DIR; ANALYTICS=off leaves it out). The same choices as `npm start`, so a rebuild or a
 * retry always writes the store the service reads.
 *
 * The analytics engine is opened only when a command acts on that model (chDB is a child process of about
 * 200 MB): `replay status` needs names and versions only.
 */
export const OpsModelsEnv = z.object({ ...ElasticsearchEnv, ...AnalyticsEnv });
export type OpsModelsEnv = z.output<typeof OpsModelsEnv>;

export interface OpsModels {
  /** Every target; opening the analytics engine if `names` asks for it (or is `all`). */
  targets(names?: readonly string[]): Promise<ReadModelTarget[]>;
  /**
   * `replay verify` comparators of the models whose rows are not PostgreSQL tables (Elasticsearch; the
   * ClickHouse fact table joins once `targets` has opened its engine).
   */
  readonly comparators: ReadonlyMap<string, Comparator>;
  /** Names and versions of every model, without opening any store. */
  readonly catalogue: ReadonlyArray<{ readonly name: string; readonly version: number; readonly store: ReadModelTarget['store'] }>;
  close(): Promise<void>;
}

/** Name, version and store of the analytics model, read from the model itself (built over an engine it never calls). */
function analyticsModelInfo(): { name: string; version: number; store: ReadModelTarget['store'] } {
  const unopened = (): never => {
    throw new Error('analytics engine not opened');
  };
  const m = analyticsEventsModel({ kind: 'embedded', database: '-', command: unopened, query: unopened, insert: unopened, insertJsonLines: unopened, ping: unopened, close: unopened });
  return { name: m.name, version: m.version, store: m.store };
}

export function parseOpsModelsEnv(env: Env): OpsModelsEnv {
  try {
    return parseEnv(OpsModelsEnv, env);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliFailure(err.message.replace(/\n/g, '; '), EX_CONFIG);
    throw err;
  }
}

export function opsModels(readSql: SqlClient, env: OpsModelsEnv & { readonly DATA_DIR: string }): OpsModels {
  const log = createLogger({ level: 'warn', name: 'annals-ops' });
  const search = openSearch({ readSql, elasticsearchUrl: env.ELASTICSEARCH_URL, indexPrefix: env.ELASTICSEARCH_INDEX_PREFIX, log });
  const postgres = readModelTargets(readSql);
  let analytics: Awaited<ReturnType<typeof openAnalyticsWiring>> | undefined;
  const analyticsInfo = analyticsModelInfo();
  const catalogue = [...postgres, search.target, ...(env.ANALYTICS === 'on' ? [analyticsInfo] : [])].map((t) => ({ name: t.name, version: t.version, store: t.store }));
  // Its own client: the search wiring keeps its client to itself.
  const esClient = env.ELASTICSEARCH_URL ? openElasticsearch(env.ELASTICSEARCH_URL) : undefined;
  const comparators = new Map<string, Comparator>(esClient ? [[search.target.name, elasticsearchComparator(esClient, env.ELASTICSEARCH_INDEX_PREFIX ?? '')]] : []);
  return {
    catalogue,
    comparators,
    async targets(names) {
      const wantsAnalytics = env.ANALYTICS === 'on' && (names === undefined || names.includes('all') || names.includes(analyticsInfo.name));
      if (wantsAnalytics && !analytics) {
        analytics = await openAnalyticsWiring({
          readSql,
          dataDir: env.DATA_DIR,
          settings: { ANALYTICS: env.ANALYTICS, CLICKHOUSE_URL: env.CLICKHOUSE_URL, CLICKHOUSE_DATABASE: env.CLICKHOUSE_DATABASE, CLICKHOUSE_USER: env.CLICKHOUSE_USER, CLICKHOUSE_PASSWORD: env.CLICKHOUSE_PASSWORD },
          log,
        });
        if (analytics) comparators.set(analytics.target.name, clickhouseComparator(analytics.engine));
      }
      return [...postgres, search.target, ...(analytics ? [analytics.target] : [])];
    },
    async close() {
      await analytics?.close().catch(() => undefined);
      await search.close().catch(() => undefined);
      await esClient?.close().catch(() => undefined);
    },
  };
}

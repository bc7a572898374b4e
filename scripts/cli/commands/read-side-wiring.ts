import type { Logger } from 'pino';
import { z } from 'zod';
import { AnalyticsEnv } from '../../../platform/analytics/config.js';
import type { HistoryReader } from '../../../platform/audit/history.js';
import { ElasticsearchEnv } from '../../../platform/elasticsearch/client.js';
import type { PersonalDataScanner } from '../../../platform/pii/scanner.js';
import type { SqlClient, SqlExecutor } from '../../../platform/sql/client.js';
import type { ReadModelTarget } from '../../../projections/kernel/target.js';
import { postgresProjections } from '../../../projections/postgres/index.js';
import { postgresReadModelTargets } from '../../../projections/postgres/target.js';
import { createConsistencyGate, sqlProgress, type ConsistencyGate } from '../../../query-api/consistency/gate.js';
import type { QueryServices } from '../../../query-api/context.js';
import { openAnalyticsWiring, type AnalyticsWiring } from './start-analytics.js';
import { openSearch, type SearchWiring } from './start-search.js';

/**
 * The read side of EVERY deployable, in one place: `npm start` (one process), `annals write-side`,
 * `annals projections` and `annals query-api` (separate processes) all open their read-model stores, list
 * their projector targets and build the query API's services and read-your-writes sources here, so a store
 * added later is wired once and no deployable lags behind another (a projections service that never
 * projects into Elasticsearch while the query API searches it, a query API that cannot wait for a model).
 *
 * The choice is by configuration only (SPEC "Shape"): ELASTICSEARCH_URL → Elasticsearch, else the embedded
 * search table in the read database; CLICKHOUSE_URL → the ClickHouse server, else chDB — but chDB is a
 * directory one process owns, so only the one-process root (`embeddedAnalytics: true`) opens it; separate
 * services run analytics on a ClickHouse server or not at all. ANALYTICS=off runs neither.
 */
export const ReadSideEnv = z.object({ ...ElasticsearchEnv, ...AnalyticsEnv });
export type ReadSideEnv = z.output<typeof ReadSideEnv>;

export interface ReadSide {
  readonly search: SearchWiring;
  readonly analytics: AnalyticsWiring | undefined;
  /** Every read model of every store as a projector target (PostgreSQL models, search, analytics), for `startProjections`. */
  readonly targets: readonly ReadModelTarget[];
  /** The targets beyond the PostgreSQL models (the write side's erasure waits for their projectors too). */
  readonly otherTargets: readonly ReadModelTarget[];
  /** The erasure scanners of the stores beyond the PostgreSQL read database. */
  readonly scanners: readonly PersonalDataScanner[];
  /** The name of every read model (X-Consistent-With may wait for any of them). */
  readonly models: readonly string[];
  close(): Promise<void>;
}

export interface ReadSideOptions {
  /** The read database: PostgreSQL models, the embedded search table and every target's control tables. */
  readonly readSql: SqlClient;
  readonly dataDir: string;
  readonly settings: ReadSideEnv;
  readonly log: Logger;
  /** Whether this process may open chDB when CLICKHOUSE_URL is unset (only the one-process `npm start`). */
  readonly embeddedAnalytics: boolean;
}

export async function openReadSide(o: ReadSideOptions): Promise<ReadSide> {
  const search = openSearch({ readSql: o.readSql, elasticsearchUrl: o.settings.ELASTICSEARCH_URL, indexPrefix: o.settings.ELASTICSEARCH_INDEX_PREFIX, log: o.log });
  let analytics: AnalyticsWiring | undefined;
  try {
    analytics =
      o.embeddedAnalytics || o.settings.CLICKHOUSE_URL
        ? await openAnalyticsWiring({ readSql: o.readSql, dataDir: o.dataDir, settings: o.settings, log: o.log.child({ component: 'analytics' }) })
        : undefined;
  } catch (err) {
    await search.close();
    throw err;
  }
  const otherTargets = [search.target, ...(analytics ? [analytics.target] : [])];
  const targets = [...postgresReadModelTargets(o.readSql, postgresProjections), ...otherTargets];
  return {
    search,
    analytics,
    targets,
    otherTargets,
    scanners: [search.scanner, ...(analytics ? [analytics.scanner] : [])],
    models: targets.map((t) => t.name),
    async close() {
      await search.close();
      await analytics?.close();
    },
  };
}

/** What the query API needs from the read side, wherever it is hosted: its services and the read-your-writes gate. */
export function queryApiReadSide(
  rs: ReadSide,
  o: {
    readonly readSql: SqlExecutor;
    /** Where the relay records its offsets (its checkpoint database). */
    readonly relaySql: SqlExecutor;
    readonly relayName?: string | undefined;
    readonly history: HistoryReader;
    readonly maxWaitMs?: number | undefined;
  },
): { services: QueryServices; consistency: ConsistencyGate } {
  return {
    services: { search: rs.search.port, history: o.history, ...(rs.analytics ? { analytics: rs.analytics.engine } : {}) },
    // Every target of every store keeps its consumed offsets in the read database's control tables.
    consistency: createConsistencyGate({
      relaySql: o.relaySql,
      ...(o.relayName !== undefined ? { relayName: o.relayName } : {}),
      sources: [sqlProgress(o.readSql, rs.models)],
      ...(o.maxWaitMs !== undefined ? { maxWaitMs: o.maxWaitMs } : {}),
    }),
  };
}

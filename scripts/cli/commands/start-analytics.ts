import type { Logger } from 'pino';
import { openAnalytics } from '../../../platform/analytics/open.js';
import type { AnalyticsEngine } from '../../../platform/analytics/port.js';
import type { PersonalDataScanner } from '../../../platform/pii/scanner.js';
import type { SqlClient } from '../../../platform/sql/client.js';
import { analyticsEventsModel } from '../../../projections/clickhouse/events/model.js';
import { controlledTarget } from '../../../projections/kernel/controlled.js';
import type { ReadModelTarget } from '../../../projections/kernel/target.js';

/**
 * The analytics side of the composition root (issue 12 §4), chosen by configuration only (SPEC "Shape"):
 * CLICKHOUSE_URL set → the ClickHouse server over HTTP; unset → chDB under DATA_DIR/analytics, in its own
 * child process (chDB maps ~210 MB of engine into the process that loads it; `npm start` stays within its
 * 512 MB budget and the engine has its own). ANALYTICS=off runs neither.
 * The projector (`analytics_events`, a controlled target: its bookkeeping in the read database's control
 * tables), the query API's engine and the erasure scanner come from the same choice.
 */
export interface AnalyticsWiring {
  readonly adapter: 'clickhouse' | 'chdb';
  readonly engine: AnalyticsEngine;
  readonly target: ReadModelTarget;
  readonly scanner: PersonalDataScanner;
  /** The read models GraphQL `analytics` reads (read-your-writes). */
  readonly models: readonly string[];
  close(): Promise<void>;
}

export interface AnalyticsSettings {
  readonly ANALYTICS: 'on' | 'off';
  readonly CLICKHOUSE_URL?: string | undefined;
  readonly CLICKHOUSE_DATABASE: string;
  readonly CLICKHOUSE_USER?: string | undefined;
  readonly CLICKHOUSE_PASSWORD?: string | undefined;
}

export async function openAnalyticsWiring(options: { readSql: SqlClient; dataDir: string; settings: AnalyticsSettings; log: Logger }): Promise<AnalyticsWiring | undefined> {
  const s = options.settings;
  if (s.ANALYTICS === 'off') return undefined;
  const engine = await openAnalytics({ clickhouseUrl: s.CLICKHOUSE_URL, dataDir: options.dataDir, database: s.CLICKHOUSE_DATABASE, username: s.CLICKHOUSE_USER, password: s.CLICKHOUSE_PASSWORD });
  const model = analyticsEventsModel(engine);
  const target = controlledTarget(options.readSql, model);
  options.log.info({ adapter: s.CLICKHOUSE_URL ? 'clickhouse' : 'chdb', database: engine.database }, 'analytics: fact table engine open');
  return {
    adapter: s.CLICKHOUSE_URL ? 'clickhouse' : 'chdb',
    engine,
    target,
    scanner: target.scanner,
    models: [model.name],
    close: () => engine.close(),
  };
}

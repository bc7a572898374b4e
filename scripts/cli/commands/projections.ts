import { createServer } from 'node:http';
import { join } from 'node:path';
import { createBus } from '../../../platform/bus/create-bus.js';
import { ConfigError, EX_CONFIG, parseEnvs, type Env } from '../../../platform/config/env.js';
import { eventStoreConfig, openEventStore } from '../../../platform/event-store/open.js';
import { onShutdownSignal } from '../../../platform/lifecycle/shutdown.js';
import { createLogger } from '../../../platform/logging/logger.js';
import { openKeyStoreSql, openPii } from '../../../platform/pii/open.js';
import { openPglite, pgClient, pgliteClient } from '../../../platform/sql/client.js';
import { opsHandler, ProjectionsConfig, retryPolicyOf, startProjections, type ProjectionsHandle } from '../../../projections/main.js';
import { openReadSide, ReadSideEnv, type ReadSide } from './read-side-wiring.js';

/**
 * `annals projections` / `npm run projections`: the projectors as a service of their own (compose runs it
 * beside the write side, the relay and the query API). Its targets come from the read side every deployable
 * shares (read-side-wiring.ts): the PostgreSQL models, search (ELASTICSEARCH_URL → Elasticsearch, else the
 * embedded table) and analytics (CLICKHOUSE_URL → the ClickHouse server; chDB belongs to `npm start`
 * alone), so it projects into exactly the stores the query API reads.
 */
export function parseProjectionsServiceConfig(env: Env): { config: ProjectionsConfig; readSide: ReadSideEnv } {
  const [config, readSide] = parseEnvs(env, [ProjectionsConfig, ReadSideEnv]);
  return { config, readSide };
}

export async function run(args: string[]): Promise<number> {
  if (args.includes('--help')) {
    process.stdout.write(
      'usage: annals projections — the projectors as their own service: READ_DB_URL, EVENTSTORE_URL, KAFKA_BROKERS, PII_MASTER_KEY (KEYSTORE_URL), search on ELASTICSEARCH_URL (ELASTICSEARCH_INDEX_PREFIX), analytics on CLICKHOUSE_URL (CLICKHOUSE_DATABASE, ANALYTICS); /metrics and /readyz on PROJECTIONS_METRICS_PORT (9464)\n',
    );
    return 0;
  }
  let config: ProjectionsConfig;
  let readSideEnv: ReadSideEnv;
  try {
    ({ config, readSide: readSideEnv } = parseProjectionsServiceConfig(process.env));
    if (config.PII_ENCRYPTION === 'on' && config.PII_MASTER_KEY === undefined) {
      throw new ConfigError([{ variable: 'PII_MASTER_KEY', message: 'is required (PII_ENCRYPTION is on: the projectors decrypt personal fields)' }]);
    }
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`annals projections: ${err.message}\n`);
    return EX_CONFIG;
  }
  // The redacting logger of every service (platform/logging): no personal field reaches a log line.
  const log = createLogger({ level: config.LOG_LEVEL, name: 'projections' });
  if (!config.KAFKA_BROKERS) {
    // A standalone service with the in-process bus would never receive anything: the relay is elsewhere.
    log.warn('KAFKA_BROKERS is unset: the embedded bus only carries events published in this process (use `npm start` for the one-process mode)');
  }
  const readSql = config.READ_DB_URL ? pgClient(config.READ_DB_URL, { applicationName: 'annals-projections' }) : pgliteClient(await openPglite(join(config.DATA_DIR, 'read')));
  const closers: { name: string; run: () => Promise<void> }[] = [{ name: 'read database', run: () => readSql.close() }];
  const closeAll = async () => {
    for (const c of closers.reverse()) await c.run().catch(() => undefined);
  };
  let readSide: ReadSide;
  let projectors: ProjectionsHandle;
  try {
    // GDPR: the key tables on KEYSTORE_URL, else in the read database.
    const keySql = config.KEYSTORE_URL ? await openKeyStoreSql(config.KEYSTORE_URL, join(config.DATA_DIR, 'read'), 'annals-projections-keystore') : readSql;
    if (keySql !== readSql) closers.push({ name: 'key store', run: () => keySql.close() });
    const codec =
      config.PII_ENCRYPTION === 'on'
        ? (
            await openPii(keySql, {
              masterKey: config.PII_MASTER_KEY!,
              previousMasterKeys: config.PII_PREVIOUS_MASTER_KEYS,
              cacheTtlMs: config.PII_KEY_CACHE_TTL_MS,
              cacheSize: config.PII_KEY_CACHE_SIZE,
            })
          ).codec
        : undefined;
    const store = await openEventStore(eventStoreConfig(config.EVENTSTORE_URL, config.DATA_DIR), { applicationName: 'annals-projections', maxConnections: 2, encryption: { codec } });
    closers.push({ name: 'event store', run: () => store.close() });
    const bus = createBus({ kafkaBrokers: config.KAFKA_BROKERS, dataDir: config.DATA_DIR, clientId: 'annals-projections', sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS, log });
    closers.push({ name: 'bus', run: () => bus.close() });
    const rs = await openReadSide({ readSql, dataDir: config.DATA_DIR, settings: readSideEnv, log, embeddedAnalytics: false });
    readSide = rs;
    closers.push({ name: 'search and analytics', run: () => rs.close() });
    projectors = await startProjections({ readSql, store, bus, log, targets: rs.targets, retry: retryPolicyOf(config), stallMs: config.PROJECTOR_STALL_MS });
  } catch (err) {
    process.stderr.write(`annals projections: ${(err as Error).message.split('\n')[0]}\n`);
    await closeAll();
    return 1;
  }
  log.info({ projectors: projectors.projectors.map((p) => p.name), search: readSide.search.adapter, analytics: readSide.analytics?.adapter ?? 'off' }, 'projections: running');
  // /metrics (Prometheus text) with every projector's checkpoint and lag, read from the database at scrape time.
  const metricsServer = createServer(opsHandler(projectors, log)).listen(config.PROJECTIONS_METRICS_PORT);
  const stopped = await onShutdownSignal({
    logger: log,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    steps: [
      {
        name: 'metrics server',
        run: () =>
          new Promise<void>((resolve) => {
            metricsServer.close(() => resolve());
            metricsServer.closeAllConnections(); // a scraper's keep-alive connection must not hold the stop
          }),
      },
      { name: 'projectors', run: () => projectors.stop() },
      ...closers.reverse(),
    ],
  });
  // Exit explicitly once everything is closed: a client library's stray timer must not keep a stopped service alive.
  process.exit(stopped);
}

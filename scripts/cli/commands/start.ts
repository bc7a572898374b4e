import { onShutdownSignal } from '../../../platform/lifecycle/shutdown.js';
import { createLogger } from '../../../platform/logging/logger.js';
import { createBus } from '../../../platform/bus/create-bus.js';
import { z } from 'zod';
import { ConfigError, EX_CONFIG, parseEnvs, SharedEnv, type Env } from '../../../platform/config/env.js';
import { ConfigEnv, loadConfig, type LoadedConfig } from '../../../write-side/config.js';
import { createWriteSide } from '../../../write-side/service.js';
import { sqlRelayCheckpoint } from '../../../write-side/relay/checkpoint.js';
import { startRelay } from '../../../write-side/relay/main.js';
import { ProjectorRuntimeConfig, retryPolicyOf, startProjections } from '../../../projections/main.js';
import { parseRetentionEnv } from '../../../write-side/gdpr/retention.js';
import { createGdprWiring, openWriteStores } from './gdpr-wiring.js';
import { createTokenVerifier } from '../../../platform/auth/verify.js';
import { QueryLimitsEnv, queryLimitsOf, type QueryLimits } from '../../../query-api/config.js';
import { registerQueryApi } from '../../../query-api/service.js';
import { createHistoryReader } from '../../../platform/audit/history.js';
import { auditFolds } from '../../../write-side/audit-folds.js';
import { openReadSide, queryApiReadSide, ReadSideEnv, type ReadSide } from './read-side-wiring.js';

/**
 * `annals start` / `npm start`: the whole product in ONE process — the single composition root where
 * write-side, relay and projections (which never import one another) are wired together.
 *
 * With nothing configured it runs on the embedded adapters under DATA_DIR: PGlite event store
 * (DATA_DIR/eventstore), PGlite read models (DATA_DIR/read) and the in-process bus, so a fresh machine
 * needs no server. Each adapter switches to its server by configuration only: EVENTSTORE_URL,
 * READ_DB_URL, KAFKA_BROKERS.
 */
/** What this root reads beyond the write side's variables: the projector runtime's and the bus's. */
export const StartEnv = z.object({
  ...ProjectorRuntimeConfig.shape,
  KAFKA_BROKERS: SharedEnv.KAFKA_BROKERS,
  KAFKA_SESSION_TIMEOUT_MS: SharedEnv.KAFKA_SESSION_TIMEOUT_MS,
  ...ReadSideEnv.shape,
});
export type StartEnv = z.output<typeof StartEnv>;

/**
 * Every variable `npm start` reads, parsed by the one parser (platform/config) in one go: a failure is ONE
 * ConfigError listing every bad variable of the write side, the projector runtime and the bus.
 */
export async function loadStartConfig(env: Env): Promise<{ loaded: LoadedConfig; runtime: StartEnv; queryLimits: QueryLimits }> {
  const [, runtime, query] = parseEnvs(env, [ConfigEnv, StartEnv, QueryLimitsEnv]);
  return { loaded: await loadConfig(env), runtime, queryLimits: queryLimitsOf(query) };
}

export async function run(_args: string[]): Promise<number> {
  let loaded: LoadedConfig;
  let runtime: StartEnv;
  let queryLimits: QueryLimits;
  try {
    ({ loaded, runtime, queryLimits } = await loadStartConfig(process.env));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`annals start: ${err.message}\n`);
      return EX_CONFIG;
    }
    throw err;
  }
  const retention = parseRetentionEnv(process.env);
  if (retention.issues.length > 0) {
    process.stderr.write(`annals start: invalid configuration:\n${retention.issues.map((i) => `  ${i}`).join('\n')}\n`);
    return EX_CONFIG;
  }
  const { config, warnings } = loaded;
  const logger = createLogger({ level: config.logLevel, name: 'annals' });
  for (const w of warnings) logger.warn(w);

  const readDbUrl = config.readDbUrl;
  // GDPR: the key tables live on KEYSTORE_URL, else in the read database (this process's client is shared).
  let stores;
  try {
    stores = await openWriteStores(config, 'annals');
  } catch (err) {
    process.stderr.write(`annals start: ${(err as Error).message}\n`);
    return 78;
  }
  const { readSql, keySql, eventStore, keyStore } = stores;
  const bus = createBus({
    kafkaBrokers: runtime.KAFKA_BROKERS,
    sessionTimeoutMs: runtime.KAFKA_SESSION_TIMEOUT_MS,
    dataDir: config.dataDir,
    clientId: 'annals',
    log: logger,
  });

  // The read side every deployable shares (read-side-wiring.ts): search on Elasticsearch when ELASTICSEARCH_URL
  // is set, else full-text + pg_trgm in the read database; analytics on the ClickHouse server when CLICKHOUSE_URL
  // is set, else chDB under DATA_DIR in its own child process (it maps ~210 MB; npm start stays within 512 MB),
  // which only this one-process root may own; ANALYTICS=off runs neither.
  let readSide: ReadSide;
  try {
    readSide = await openReadSide({ readSql, dataDir: config.dataDir, settings: runtime, log: logger, embeddedAnalytics: true });
  } catch (err) {
    process.stderr.write(`annals start: analytics engine: ${(err as Error).message}\n`);
    await eventStore.close();
    if (keySql !== readSql) await keySql.close();
    await readSql.close();
    return 1;
  }
  // The relay is the only publisher; in one process it and the projectors share this bus instance.
  const relay = startRelay({ store: eventStore, bus, checkpoint: await sqlRelayCheckpoint(readSql), log: logger });
  const projections = await startProjections({
    readSql,
    store: eventStore,
    bus,
    log: logger.child({ component: 'projections' }),
    targets: readSide.targets,
    retry: retryPolicyOf(runtime),
    stallMs: runtime.PROJECTOR_STALL_MS,
  });
  // The write side cannot import projections/: the stall detector reaches /readyz through this root.
  // GDPR (issue 10): the erasure workflow gets every store's scanner and the projectors' wait from here,
  // so the write side never imports projections/ or the bus.
  // One GDPR wiring for both roots that serve erasure (gdpr-wiring.ts; the standalone write side is the other).
  const gdpr = await createGdprWiring({
    config,
    logger,
    eventStore,
    keyStore,
    keySql,
    readSql,
    bus,
    extraScanners: readSide.scanners,
    projectorStatus: () => projections.status(),
    retention: retention.settings,
  });
  const writeSide = await createWriteSide({ config, logger, eventStore, gdpr: gdpr.deps, extraMetrics: () => projections.metrics(), extraReadiness: () => projections.readiness() });
  // auditTrail / …AsOf fold with the write side's own deciders (the query API may not import them: injected here).
  const history = createHistoryReader({ store: eventStore, folds: auditFolds });
  // The query API (GraphQL) on the same port: /graphql and /graphiql, reading the read models this process projects.
  await registerQueryApi(writeSide.app, {
    readSql,
    verifier: createTokenVerifier({ keys: config.auth.keys, issuer: config.auth.issuer, audience: config.auth.audience }),
    logger: logger.child({ component: 'query-api' }),
    limits: queryLimits,
    // Read-your-writes: the relay records its offsets beside its checkpoint, here in the read database.
    ...queryApiReadSide(readSide, { readSql, relaySql: readSql, history, maxWaitMs: queryLimits.consistencyMaxWaitMs }),
  });
  // Erasures a crash interrupted continue in the background; the retention schedule starts.
  gdpr.start();

  const stopped = onShutdownSignal({
    logger,
    timeoutMs: config.shutdownTimeoutMs,
    steps: [
      { name: 'gdpr retention', run: () => gdpr.stop() },
      { name: 'write side', run: () => writeSide.stop() },
      { name: 'relay', run: () => relay.stop() },
      { name: 'projections', run: () => projections.stop() },
      { name: 'search and analytics', run: () => readSide.close() },
      { name: 'bus', run: () => bus.close() },
      { name: 'read database', run: () => readSql.close() },
      ...(keySql !== readSql ? [{ name: 'key store', run: () => keySql.close() }] : []),
      { name: 'event store', run: () => eventStore.close() },
    ],
  });

  const address = await writeSide.app.listen({ port: config.port, host: config.host });
  logger.info(
    { url: address, docs: `${address}/docs`, graphql: `${address}/graphql`, eventStore: config.eventStore.kind, readDb: readDbUrl ? 'postgres' : 'pglite', bus: runtime.KAFKA_BROKERS ? 'kafka' : 'embedded' },
    'annals listening (write-side, relay, projections, query API in one process)',
  );
  return stopped;
}

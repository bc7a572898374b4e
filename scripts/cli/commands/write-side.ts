import type { Logger } from 'pino';
import { z } from 'zod';
import { createBus } from '../../../platform/bus/create-bus.js';
import type { Bus } from '../../../platform/bus/port.js';
import { ConfigError, EX_CONFIG, parseEnvs, SharedEnv } from '../../../platform/config/env.js';
import type { EventStore } from '../../../platform/event-store/event-store.js';
import { onShutdownSignal } from '../../../platform/lifecycle/shutdown.js';
import { createLogger } from '../../../platform/logging/logger.js';
import type { KeyStore } from '../../../platform/pii/key-store.js';
import type { PersonalDataScanner } from '../../../platform/pii/scanner.js';
import type { SqlClient } from '../../../platform/sql/client.js';
import { projectionStatus, type StatusSubject } from '../../../projections/kernel/status.js';
import { postgresProjections } from '../../../projections/postgres/index.js';
import { ConfigEnv, loadConfig, type LoadedConfig, type WriteSideConfig } from '../../../write-side/config.js';
import { parseRetentionEnv, type RetentionSettings } from '../../../write-side/gdpr/retention.js';
import { createWriteSide, type WriteSide } from '../../../write-side/service.js';
import { createGdprWiring, openWriteStores, type GdprWiring } from './gdpr-wiring.js';
import { openReadSide, ReadSideEnv, type ReadSide } from './read-side-wiring.js';

/**
 * `annals write-side` / `npm run write-side`: the command API as a service of its own (compose runs it
 * beside the relay, the projections and the query API), WITH the GDPR erasure workflow.
 *
 * write-side/ may not import projections/ or the bus (GUIDE: dependency rules), and its own main.ts only
 * wires what write-side/ owns — so there erasure answers 501. This root, like `annals start`, may wire
 * across deployables: it gives the write side the same GDPR wiring (gdpr-wiring.ts) with every store's
 * scanner and a wait that reads the projectors' durable checkpoints from the read database, since the
 * projectors run in another process.
 */
export const WriteSideServiceEnv = z.object({
  KAFKA_BROKERS: SharedEnv.KAFKA_BROKERS,
  KAFKA_SESSION_TIMEOUT_MS: SharedEnv.KAFKA_SESSION_TIMEOUT_MS,
  ...ReadSideEnv.shape,
});
export type WriteSideServiceEnv = z.output<typeof WriteSideServiceEnv>;

export interface WriteSideServiceDeps {
  readonly config: WriteSideConfig;
  readonly logger: Logger;
  readonly eventStore: EventStore;
  readonly keyStore: KeyStore;
  readonly keySql: SqlClient;
  /** The read database the projections service writes (read models and their control tables). */
  readonly readSql: SqlClient;
  /** The bus the relay publishes to. */
  readonly bus: Bus;
  /**
   * The read models of this deployment beyond the PostgreSQL ones (search, analytics: chosen by
   * configuration): their projectors are waited for and their stores scanned.
   */
  readonly readModels?: { readonly subjects: readonly StatusSubject[]; readonly scanners: readonly PersonalDataScanner[] };
  readonly retention: RetentionSettings;
  readonly projectorTimeoutMs?: number;
}

export interface WriteSideService {
  readonly writeSide: WriteSide;
  readonly gdpr: GdprWiring;
  /** Stops the retention schedule and the write side (the caller closes the clients). */
  stop(): Promise<void>;
}

/**
 * The projectors' status from the read database: checkpoints, offsets, generations (what `annals replay
 * status` shows), whichever process applies them. A read model no projector has ever registered in this
 * read database holds nothing yet, so it is not waited for (its store is still scanned).
 */
export function durableProjectorStatus(deps: { readSql: SqlClient; eventStore: EventStore; bus: Bus; subjects: readonly StatusSubject[] }) {
  return async () =>
    (await projectionStatus({ sql: deps.readSql, projections: deps.subjects, headPosition: () => deps.eventStore.headPosition(), bus: deps.bus })).filter(
      (s) => s.liveGeneration !== undefined,
    );
}

/** The standalone write side with GDPR, built from clients (the process entry `run` opens them; tests pass their own). */
export async function createWriteSideService(d: WriteSideServiceDeps): Promise<WriteSideService> {
  const subjects = [...postgresProjections, ...(d.readModels?.subjects ?? [])];
  const gdpr = await createGdprWiring({
    config: d.config,
    logger: d.logger,
    eventStore: d.eventStore,
    keyStore: d.keyStore,
    keySql: d.keySql,
    readSql: d.readSql,
    bus: d.bus,
    extraScanners: d.readModels?.scanners ?? [],
    projectorStatus: durableProjectorStatus({ readSql: d.readSql, eventStore: d.eventStore, bus: d.bus, subjects }),
    retention: d.retention,
    ...(d.projectorTimeoutMs !== undefined ? { projectorTimeoutMs: d.projectorTimeoutMs } : {}),
  });
  const writeSide = await createWriteSide({ config: d.config, logger: d.logger, eventStore: d.eventStore, gdpr: gdpr.deps });
  gdpr.start();
  return {
    writeSide,
    gdpr,
    async stop() {
      await gdpr.stop();
      await writeSide.stop();
    },
  };
}

export async function run(_args: string[]): Promise<number> {
  let loaded: LoadedConfig;
  let env: WriteSideServiceEnv;
  try {
    [, env] = parseEnvs(process.env, [ConfigEnv, WriteSideServiceEnv]);
    loaded = await loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`annals write-side: ${err.message}\n`);
      return EX_CONFIG;
    }
    throw err;
  }
  const retention = parseRetentionEnv(process.env);
  if (retention.issues.length > 0) {
    process.stderr.write(`annals write-side: invalid configuration:\n${retention.issues.map((i) => `  ${i}`).join('\n')}\n`);
    return EX_CONFIG;
  }
  const { config, warnings } = loaded;
  if (config.pii.encryption && config.eventStore.kind !== 'pglite' && config.pii.keyStoreUrl === undefined) {
    // Instances must share one key per subject: a local key table would give each its own keys.
    process.stderr.write('annals write-side: invalid configuration:\n  KEYSTORE_URL: KEYSTORE_URL or READ_DB_URL is required when EVENTSTORE_URL is set (the PII key tables must be shared)\n');
    return EX_CONFIG;
  }
  const logger = createLogger({ level: config.logLevel, name: 'write-side' });
  for (const w of warnings) logger.warn(w);

  let stores;
  try {
    stores = await openWriteStores(config, 'annals-write-side');
  } catch (err) {
    process.stderr.write(`annals write-side: ${(err as Error).message}\n`);
    return EX_CONFIG;
  }
  const { readSql, keySql, eventStore, keyStore, closeSql } = stores;
  const bus = createBus({ kafkaBrokers: env.KAFKA_BROKERS, sessionTimeoutMs: env.KAFKA_SESSION_TIMEOUT_MS, dataDir: config.dataDir, clientId: 'annals-write-side', log: logger });
  // The stores the projections service writes beside PostgreSQL, from the read side every deployable shares
  // (read-side-wiring.ts): scanned, and their projectors waited for. Analytics only on a ClickHouse server:
  // chDB is embedded in `npm start` alone.
  let readSide: ReadSide;
  try {
    readSide = await openReadSide({ readSql, dataDir: config.dataDir, settings: env, log: logger, embeddedAnalytics: false });
  } catch (err) {
    process.stderr.write(`annals write-side: analytics engine: ${(err as Error).message}\n`);
    await bus.close();
    await eventStore.close();
    await closeSql();
    return 1;
  }
  const service = await createWriteSideService({
    config,
    logger,
    eventStore,
    keyStore,
    keySql,
    readSql,
    bus,
    readModels: { subjects: readSide.otherTargets, scanners: readSide.scanners },
    retention: retention.settings,
  });
  const stopped = onShutdownSignal({
    logger,
    timeoutMs: config.shutdownTimeoutMs,
    steps: [
      { name: 'write side', run: () => service.stop() },
      { name: 'search and analytics', run: () => readSide.close() },
      { name: 'bus', run: () => bus.close() },
      { name: 'event store', run: () => eventStore.close() },
      { name: 'read database', run: closeSql },
    ],
  });
  const address = await service.writeSide.app.listen({ port: config.port, host: config.host });
  logger.info(
    { url: address, docs: `${address}/docs`, eventStore: config.eventStore.kind, readDb: config.readDbUrl ? 'postgres' : 'pglite', bus: env.KAFKA_BROKERS ? 'kafka' : 'embedded', search: readSide.search.adapter, analytics: readSide.analytics?.adapter ?? 'off' },
    'write-side listening (command API with GDPR erasure)',
  );
  return stopped;
}

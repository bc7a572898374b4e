import { join } from 'node:path';
import { openKeyStoreSql, openPii } from '../platform/pii/open.js';
import { onShutdownSignal } from '../platform/lifecycle/shutdown.js';
import { createLogger } from '../platform/logging/logger.js';
import { ConfigError, loadConfig } from './config.js';
import { openEventStore } from './event-store.js';
import { createWriteSide } from './service.js';

/**
 * The write side's composition root (GUIDE rule 5): config → logger → clients → app → listen. Nothing
 * else in the service reads the environment or creates a client. SIGINT/SIGTERM close gracefully:
 * stop accepting, finish in-flight requests (bounded by SHUTDOWN_TIMEOUT_MS), stop the process
 * manager, close the event store.
 */
async function main(): Promise<void> {
  let loaded;
  try {
    loaded = await loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`annals write-side: ${err.message}\n`);
      process.exitCode = 78; // EX_CONFIG
      return;
    }
    throw err;
  }
  const { config, warnings } = loaded;
  const logger = createLogger({ level: config.logLevel, name: 'write-side' });
  for (const w of warnings) logger.warn(w);

  // GDPR: the key tables on KEYSTORE_URL, else READ_DB_URL, else the embedded read PGlite (DATA_DIR/read).
  if (config.pii.encryption && config.eventStore.kind !== 'pglite' && config.pii.keyStoreUrl === undefined) {
    // Instances of a standalone write side must share one key per subject: a local key table would give
    // each instance its own keys (and erasure would miss the others').
    process.stderr.write('annals write-side: invalid configuration:\n  KEYSTORE_URL: KEYSTORE_URL or READ_DB_URL is required when EVENTSTORE_URL is set (the PII key tables must be shared)\n');
    process.exitCode = 78;
    return;
  }
  const keySql = await openKeyStoreSql(config.pii.keyStoreUrl, join(config.dataDir, 'read'), 'annals-write-side-keystore');
  let eventStore;
  try {
    const { codec } = await openPii(keySql, {
      masterKey: config.piiMasterKey,
      previousMasterKeys: config.pii.previousMasterKeys,
      cacheTtlMs: config.pii.cacheTtlMs,
      cacheSize: config.pii.cacheSize,
    });
    // Refuses a store holding the other form of personal data (plaintext written before, or ciphertext with PII_ENCRYPTION=off).
    eventStore = await openEventStore(config.eventStore, { encryption: { codec: config.pii.encryption ? codec : undefined } });
  } catch (err) {
    process.stderr.write(`annals write-side: ${(err as Error).message}\n`);
    await keySql.close();
    process.exitCode = 78;
    return;
  }
  const writeSide = await createWriteSide({ config, logger, eventStore });
  const stopped = onShutdownSignal({
    logger,
    timeoutMs: config.shutdownTimeoutMs,
    steps: [
      { name: 'write side', run: () => writeSide.stop() },
      { name: 'event store', run: () => eventStore.close() },
      { name: 'key store', run: () => keySql.close() },
    ],
  });

  const address = await writeSide.app.listen({ port: config.port, host: config.host });
  logger.info({ url: address, eventStore: config.eventStore.kind, docs: `${address}/docs` }, 'write-side listening');
  process.exitCode = await stopped;
}

await main();

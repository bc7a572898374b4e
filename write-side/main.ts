import { createLogger } from '../platform/logging/logger.js';
import { buildApp } from './build-app.js';
import { ConfigError, loadConfig } from './config.js';
import { openEventStore } from './event-store.js';
import { startLeadConversionProcess } from './lead/conversion-process.js';

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

  const eventStore = await openEventStore(config.eventStore);
  const app = await buildApp({ config, logger, eventStore });
  const processes = new AbortController();
  const conversion = config.conversionProcess
    ? startLeadConversionProcess({
        store: eventStore,
        logger: logger.child({ process: 'lead-conversion' }),
        clock: () => new Date(),
        emailHashKey: config.piiMasterKey,
        signal: processes.signal,
      })
    : undefined;

  let closing = false;
  const close = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'graceful shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    try {
      await app.close();
      processes.abort();
      await conversion?.catch((err: unknown) => logger.error({ err }, 'lead-conversion process failed'));
      await eventStore.close();
      logger.info('stopped');
    } catch (err) {
      logger.error({ err }, 'error during shutdown');
      process.exitCode = 1;
    }
  };
  process.once('SIGINT', () => void close('SIGINT'));
  process.once('SIGTERM', () => void close('SIGTERM'));

  const address = await app.listen({ port: config.port, host: config.host });
  logger.info({ url: address, eventStore: config.eventStore.kind, docs: `${address}/docs` }, 'write-side listening');
}

await main();

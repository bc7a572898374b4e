import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDeps } from './build-app.js';
import { startLeadConversionProcess } from './lead/conversion-process.js';

export interface WriteSide {
  readonly app: FastifyInstance;
  /** Stops accepting requests, finishes in-flight ones, then stops the process managers. */
  stop(): Promise<void>;
}

/**
 * The write side as a unit that a composition root (its own `main.ts`, or the one-process `annals start`)
 * starts and stops: the command API plus the lead-conversion process manager when configured.
 * The caller owns the event store and closes it after `stop`.
 */
export async function createWriteSide(deps: AppDeps): Promise<WriteSide> {
  const { config, logger, eventStore } = deps;
  const processes = new AbortController();
  const conversion = config.conversionProcess
    ? startLeadConversionProcess({
        store: eventStore,
        logger: logger.child({ process: 'lead-conversion' }),
        clock: () => new Date(),
        emailHashKey: config.emailHashKey,
        legacyEmailHashKey: config.piiMasterKey,
        signal: processes.signal,
      })
    : undefined;
  const app = await buildApp(deps);
  return {
    app,
    async stop() {
      await app.close();
      processes.abort();
      await conversion;
    },
  };
}

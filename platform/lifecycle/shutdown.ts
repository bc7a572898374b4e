import type { Logger } from '../logging/logger.js';

export interface ShutdownStep {
  /** Shown in the log when the step fails. */
  readonly name: string;
  readonly run: () => Promise<unknown>;
}

export interface ShutdownOptions {
  readonly logger: Logger;
  /** Past this, the process exits with 1 whatever is still running. */
  readonly timeoutMs: number;
  /** In order: stop accepting work first, close clients last. */
  readonly steps: readonly ShutdownStep[];
  readonly signals?: readonly NodeJS.Signals[];
}

/**
 * Graceful shutdown for every composition root: on the first SIGINT/SIGTERM, run the steps in order,
 * bounded by `timeoutMs`. A failing step is logged and the later ones still run (a broken bus must not
 * keep the database pool open). Resolves with the exit code: 0, or 1 when a step failed.
 */
export function onShutdownSignal({ logger, timeoutMs, steps, signals = ['SIGINT', 'SIGTERM'] }: ShutdownOptions): Promise<number> {
  return new Promise<number>((resolve) => {
    let closing = false;
    const close = async (signal: string) => {
      if (closing) return;
      closing = true;
      logger.info({ signal }, 'shutting down');
      const timer = setTimeout(() => {
        logger.error({ timeoutMs }, 'graceful shutdown timed out; exiting');
        process.exit(1);
      }, timeoutMs);
      timer.unref();
      resolve(await runShutdownSteps(steps, logger));
      clearTimeout(timer);
    };
    for (const s of signals) process.once(s, () => void close(s));
  });
}

/** Runs every step in order; returns 1 if any failed (each failure is logged), else 0. */
export async function runShutdownSteps(steps: readonly ShutdownStep[], logger: Logger): Promise<number> {
  let code = 0;
  for (const step of steps) {
    try {
      await step.run();
    } catch (err) {
      logger.error({ err, step: step.name }, 'error during shutdown');
      code = 1;
    }
  }
  if (code === 0) logger.info('stopped');
  return code;
}

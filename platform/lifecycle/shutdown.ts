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
  /**
   * After the steps, how long the process may still be held open by handles a library did not release
   * (a timer, a socket) before it exits anyway; those handles are logged. Default 2 s.
   */
  readonly lingerMs?: number;
}

/**
 * Graceful shutdown for every composition root: on the first SIGINT/SIGTERM, run the steps in order,
 * bounded by `timeoutMs`. A failing step is logged and the later ones still run (a broken bus must not
 * keep the database pool open). Resolves with the exit code: 0, or 1 when a step failed. If something still
 * holds the process open `lingerMs` after the steps, it exits with that code, naming what was left open.
 */
export function onShutdownSignal({ logger, timeoutMs, steps, signals = ['SIGINT', 'SIGTERM'], lingerMs = 2_000 }: ShutdownOptions): Promise<number> {
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
      const code = await runShutdownSteps(steps, logger);
      clearTimeout(timer);
      // Everything is closed: a stopped service must not stay up because some handle was left behind. Unref'd,
      // so a clean process exits at once, with its output flushed, and never waits for this.
      setTimeout(() => {
        logger.warn({ open: process.getActiveResourcesInfo(), lingerMs }, 'still held open after shutdown; exiting');
        process.exit(code);
      }, lingerMs).unref();
      resolve(code);
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

import type { Logger } from 'pino';
import { lagging, type Projector } from './projector.js';
import type { Gauge } from './status.js';

/**
 * The stall detector: a projector with work it has not applied (messages handed over, or a partition
 * behind its end) and no progress for `stallMs` is STALLED. The isolation in isolate.ts means an event can
 * no longer hold a projector, so what is left to stall one is what it must wait out (the read database
 * unreachable) or what no event can be blamed for (a dropped table): an operator has to look.
 *
 * A stall turns readiness degraded (naming the projector and the last failure), sets the gauge
 * `annals_projector_stalled{projector}` to 1, and is logged ONCE at error when it starts and once at info
 * when the projector moves again: a stall lasting an hour is one incident, not 3 600 log lines.
 */
export interface StallDetectorOptions {
  readonly projectors: readonly Projector[];
  /** No progress for this long while lagging = stalled (PROJECTOR_STALL_MS). */
  readonly stallMs: number;
  readonly log: Logger;
  /** Epoch ms; the projectors' `clock` must be the same one. */
  readonly clock?: () => number;
  /** How often `start()` checks (default: a quarter of `stallMs`, at most 5 s). */
  readonly intervalMs?: number;
}

export interface StallState {
  readonly projector: string;
  readonly stalled: boolean;
  /** Since the last progress (or since work arrived at an idle projector), in ms. */
  readonly idleMs: number;
  /** Messages handed over and not yet committed. */
  readonly inFlight: number;
  /** The last failure seen (code and message), if any. */
  readonly cause: string | undefined;
}

export interface StallDetector {
  /** Evaluates every projector now (logging a change of state once). */
  check(): StallState[];
  /** Readiness entries: `projectors: ok`, or one `projector:<name>` entry per stalled projector saying why. */
  readiness(): Record<string, string>;
  /** `annals_projector_stalled{projector}` 0/1. */
  gauges(): Gauge[];
  /** Checks every `intervalMs` until `stop()` (so the error line is written even when nobody asks). */
  start(): void;
  stop(): void;
}

export function createStallDetector(options: StallDetectorOptions): StallDetector {
  const clock = options.clock ?? Date.now;
  const stalled = new Set<string>();
  let timer: NodeJS.Timeout | undefined;

  const check = (): StallState[] =>
    options.projectors.map((p) => {
      const idleMs = Math.max(0, clock() - p.stats.progressAt);
      const state: StallState = {
        projector: p.name,
        stalled: lagging(p.stats) && idleMs >= options.stallMs,
        idleMs,
        inFlight: p.stats.inFlight,
        cause: p.stats.lastError,
      };
      const log = options.log.child({ projector: p.name });
      if (state.stalled && !stalled.has(p.name)) {
        stalled.add(p.name);
        log.error({ idleMs, inFlight: state.inFlight, cause: state.cause ?? 'none recorded', stallMs: options.stallMs }, 'projector: stalled (lagging with no progress)');
      } else if (!state.stalled && stalled.has(p.name)) {
        stalled.delete(p.name);
        log.info({ idleMs }, 'projector: moving again after a stall');
      }
      return state;
    });

  return {
    check,
    readiness() {
      const out: Record<string, string> = {};
      for (const s of check()) {
        if (!s.stalled) continue;
        out[`projector:${s.projector}`] = `stalled: no progress for ${Math.round(s.idleMs / 1000)} s with ${s.inFlight} messages waiting; cause: ${s.cause ?? 'none recorded'}`;
      }
      return Object.keys(out).length === 0 ? { projectors: 'ok' } : out;
    },
    gauges() {
      return [
        {
          name: 'annals_projector_stalled',
          help: `1 when the projector has unapplied messages and made no progress for PROJECTOR_STALL_MS (${options.stallMs} ms).`,
          samples: check().map((s) => ({ labels: { projector: s.projector }, value: s.stalled ? 1 : 0 })),
        },
      ];
    },
    start() {
      if (timer) return;
      timer = setInterval(check, options.intervalMs ?? Math.min(5_000, Math.max(50, Math.floor(options.stallMs / 4))));
      timer.unref(); // never what keeps a stopping process alive
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

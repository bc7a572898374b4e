import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { urlFor } from '../lib/system.js';
import { watchTree } from '../lib/rss.js';
import type { ServiceWorkload } from './index.js';

const here = dirname(fileURLToPath(import.meta.url));
const SCRIPT_TIMEOUT_MS = 5 * 60_000;

interface CatchUp {
  readonly projectorEventsPerSec: number;
  readonly rawRowsPerSec: number;
  readonly ratio: number;
}

/** What bench/projection-catchup.ts writes (the fields the rows read). */
interface ScriptResult {
  /** One entry per round of the script (the harness asks for one): the codec off, and with BENCH_PII=both on. */
  readonly catchUp: ReadonlyArray<{ readonly off?: CatchUp; readonly on?: CatchUp }>;
  readonly lag: { readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number; readonly achievedRate: number };
}

/**
 * bench/projection-catchup.ts (`npm run bench:projection`) in a child process: catch-up
 * of `events` events from Kafka into a PostgreSQL read model next to a raw multi-row INSERT of the same
 * rows, then the end-to-end lag at `rate` appends/s for `seconds`. The harness runs its own rounds, so it
 * asks the script for one, and depends only on its environment variables and the per-round JSON it writes to
 * bench/results/projection-catchup(-pii).json. Its event store is ours-pg's bench database, its read models
 * annals_bench_read; Kafka is the one in KAFKA_BROKERS, with the run's own topics (bench/lib/kafka-topics.ts).
 */
export const projection: ServiceWorkload = {
  kind: 'service',
  async run(system, p) {
    if (system !== 'projection-script') throw new Error(`the projection workload runs projection-script, not ${system}`);
    const brokers = process.env.KAFKA_BROKERS;
    if (!brokers) throw new Error('KAFKA_BROKERS is not set');
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, '..', 'projection-catchup.ts')], {
      env: {
        ...process.env,
        EVENTSTORE_URL: urlFor('ours-pg'),
        READ_DB_URL: urlFor('projection-script'),
        KAFKA_BROKERS: brokers,
        BENCH_EVENTS: String(p.events),
        BENCH_RATE: String(p.rate),
        BENCH_SECONDS: String(p.seconds),
        // The harness runs its own interleaved rounds: one round of the script each time.
        BENCH_ROUNDS: '1',
        // The catch-up twice, codec off then on (personal fields encrypted: the default configuration).
        BENCH_PII: p.pii === 'both' ? 'both' : 'off',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const watch = watchTree(child.pid!);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), SCRIPT_TIMEOUT_MS);
    // Sampled until the child exits: its own high-water mark is read on every sample, so the peak is kept.
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearTimeout(timer);
    const rss = watch.stop();
    if (code !== 0) throw new Error(`bench/projection-catchup.ts exited with ${code}: ${stderr.trim().split('\n').pop() ?? ''}`);
    const r = JSON.parse(await readFile(join(here, '..', 'results', p.pii === 'both' ? 'projection-catchup-pii.json' : 'projection-catchup.json'), 'utf8')) as ScriptResult;
    const { off, on: enc } = r.catchUp[0] ?? {};
    if (!off || (p.pii === 'both' && !enc)) throw new Error(`bench/projection-catchup.ts wrote no catch-up figures: ${JSON.stringify(r.catchUp)}`);
    return {
      value: off.projectorEventsPerSec,
      maxRssBytes: rss.sumOfPeaks,
      elapsedMs: performance.now() - started,
      detail: {
        rawRowsPerSec: off.rawRowsPerSec,
        catchUpRatio: off.ratio,
        ...(enc
          ? { encryptedEventsPerSec: enc.projectorEventsPerSec, encryptedRawRowsPerSec: enc.rawRowsPerSec, encryptedCatchUpRatio: enc.ratio }
          : {}),
        lagP50Ms: r.lag.p50Ms,
        lagP99Ms: r.lag.p99Ms,
        lagMaxMs: r.lag.maxMs,
        lagAchievedRate: r.lag.achievedRate,
      },
    };
  },
};

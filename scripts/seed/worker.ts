import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../../platform/logging/logger.js';
import { openSeedTarget } from './open.js';
import { seed, type SeedProgress } from './seed.js';
import type { SeedWorkerData, SeedWorkerMessage } from './workers.js';

/** One worker thread of `seedInWorkers`: its shard of the seed, on stores of its own. */
const { config, options, shard } = workerData as SeedWorkerData;
const post = (m: SeedWorkerMessage) => parentPort!.postMessage(m);
const target = await openSeedTarget(config, options.concurrency ?? 8, { applicationName: `annals-seed-${shard.index}` });
try {
  // Progress at most every 100 ms: a message per person would cost the coordinator more than the bar is worth.
  let sent = 0;
  const progress = (p: SeedProgress) => {
    const now = performance.now();
    if (now - sent < 100) return;
    sent = now;
    post({ kind: 'progress', progress: p });
  };
  const report = await seed(
    { config, logger: createLogger({ level: 'warn', name: `seed-${shard.index}` }), eventStore: target.eventStore },
    { contacts: options.contacts, tenant: options.tenant, seed: options.seed, concurrency: options.concurrency, anchor: new Date(options.anchorMs), shard, onProgress: progress },
  );
  post({ kind: 'progress', progress: report });
  post({ kind: 'done', report });
} catch (err) {
  post({ kind: 'failed', message: (err as Error).message });
} finally {
  await target.close();
}

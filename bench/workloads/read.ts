import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { leadEvents } from '../lib/events.js';
import type { Workload } from './index.js';

/** Reads one stream of `length` events `reads` times, one read after another, into usable objects. */
export const read: Workload = {
  kind: 'store',
  poolSize: () => 2,
  async run(driver, p) {
    const length = Number(p.length);
    const reads = Number(p.reads);
    await driver.reset();
    const leadId = randomUUID();
    const streamId = `lead-${leadId}`;
    for (let at = 0; at < length; at += 100) await driver.append(streamId, leadEvents(leadId, at, Math.min(100, length - at)), at);
    for (let i = 0; i < 5; i++) await driver.readStream(streamId);
    const times: number[] = [];
    const started = performance.now();
    for (let i = 0; i < reads; i++) {
      const t = performance.now();
      const n = await driver.readStream(streamId);
      times.push(performance.now() - t);
      if (n !== length) throw new Error(`read ${n} events, expected ${length}`);
    }
    const elapsedMs = performance.now() - started;
    times.sort((a, b) => a - b);
    return {
      value: (length * reads) / (elapsedMs / 1000),
      elapsedMs,
      detail: { medianReadMs: Number(times[Math.floor(times.length / 2)]!.toFixed(2)) },
    };
  },
};

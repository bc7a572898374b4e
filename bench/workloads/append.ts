import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { leadEvents, type BenchEvent } from '../lib/events.js';
import type { SystemDriver } from '../lib/system.js';
import type { Workload } from './index.js';

interface Job {
  readonly streamId: string;
  readonly existing: number;
  readonly events: readonly BenchEvent[];
}

/**
 * `concurrency` writers, each owning its streams (so optimistic checks never conflict), append
 * `events` events in batches of `batch`; a stream takes `appendsPerStream` appends, then the writer
 * starts a new lead. Events are built before the clock starts: we time the store, not the fixture.
 */
function plan(writers: number, events: number, batch: number, appendsPerStream: number): Job[][] {
  const appends = Math.ceil(events / batch);
  const perWriter: Job[][] = Array.from({ length: writers }, () => []);
  const state = perWriter.map(() => ({ streamId: '', leadId: '', existing: 0, appends: appendsPerStream }));
  for (let k = 0; k < appends; k++) {
    const w = k % writers;
    const s = state[w]!;
    if (s.appends === appendsPerStream) {
      s.leadId = randomUUID();
      s.streamId = `lead-${s.leadId}`;
      s.existing = 0;
      s.appends = 0;
    }
    perWriter[w]!.push({ streamId: s.streamId, existing: s.existing, events: leadEvents(s.leadId, s.existing, batch) });
    s.existing += batch;
    s.appends++;
  }
  return perWriter;
}

async function drive(driver: SystemDriver, perWriter: Job[][]): Promise<number> {
  const started = performance.now();
  await Promise.all(
    perWriter.map(async (jobs) => {
      for (const j of jobs) await driver.append(j.streamId, j.events, j.existing);
    }),
  );
  return performance.now() - started;
}

export const append: Workload = {
  kind: 'store',
  poolSize: (p) => Number(p.concurrency),
  async run(driver, p) {
    const concurrency = Number(p.concurrency);
    const batch = Number(p.batch);
    const events = Number(p.events);
    const appendsPerStream = Number(p.appendsPerStream ?? 10);
    await driver.reset();
    // Warm-up: JIT, connections, the function's plan cache, the first pages of each index.
    await drive(driver, plan(concurrency, Math.max(200, Math.round(events / 10)), batch, appendsPerStream));
    const jobs = plan(concurrency, events, batch, appendsPerStream);
    const elapsedMs = await drive(driver, jobs);
    const appended = jobs.reduce((n, js) => n + js.reduce((m, j) => m + j.events.length, 0), 0);
    return { value: appended / (elapsedMs / 1000), elapsedMs, detail: { events: appended, appendsPerSec: Math.round((appended / batch / elapsedMs) * 1000) } };
  },
};

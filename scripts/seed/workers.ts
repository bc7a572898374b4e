import { Worker } from 'node:worker_threads';
import type { WriteSideConfig } from '../../write-side/config.js';
import type { EventStore } from '../../platform/event-store/event-store.js';
import { conversionCheckpoint, type SeedOptions, type SeedProgress, type SeedReport } from './seed.js';

/** What the coordinator hands one worker thread (structured-cloned: plain data only). */
export interface SeedWorkerData {
  readonly config: WriteSideConfig;
  readonly options: Omit<SeedOptions, 'onProgress' | 'anchor'> & { readonly anchorMs: number };
  readonly shard: { readonly index: number; readonly count: number };
}

/** Messages from a worker thread to the coordinator. */
export type SeedWorkerMessage = { readonly kind: 'progress'; readonly progress: SeedProgress } | { readonly kind: 'done'; readonly report: SeedReport } | { readonly kind: 'failed'; readonly message: string };

/**
 * The worker is TypeScript like the rest of the CLI: the thread registers tsx's loader itself and then
 * imports it, whichever way the parent was started (a worker does not inherit tsx's hooks, and `--import`
 * in a worker's execArgv is not honoured on Node 20).
 */
const BOOT = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./worker.ts', import.meta.url).href)}); });`;

const DEFAULT_ANCHOR = Date.parse('2026-11-01T00:00:00.000Z');

/**
 * `annals seed --workers W` against a server: W worker threads, each with its own write side and its own
 * pools, seed the persons and budgets whose number is its index modulo W (SeedOptions.shard). The seed
 * is bound by one thread's CPU (the command API's validation, deciders, codec, driver) while the server
 * has cores to spare; threads put the other cores to work. The data is the same as one thread's: every
 * choice and id is named after its person or budget.
 *
 * The persons in flight (`concurrency`) are shared out between the workers. The coordinator (on `store`,
 * the caller's) takes the conversion checkpoint's state before any worker writes and moves it after all
 * are done; the first
 * failure stops every worker. PGlite opens a data directory in one thread only: embedded, W must be 1
 * (`seed` in-process).
 */
export async function seedInWorkers(config: WriteSideConfig, store: EventStore, options: SeedOptions, workers: number): Promise<SeedReport> {
  if (config.eventStore.kind === 'pglite') throw new Error('seed: an embedded data directory opens in one thread only; use --workers 1');
  const started = performance.now();
  const anchorMs = options.anchor?.getTime() ?? DEFAULT_ANCHOR;
  const perWorker = Math.max(1, Math.ceil((options.concurrency ?? 32) / workers));
  const checkpoint = await conversionCheckpoint(store);
  const latest: SeedProgress[] = Array.from({ length: workers }, () => ({ contacts: 0, total: 0, events: 0, commands: 0 }));
  const sum = (xs: readonly SeedProgress[]): SeedProgress => ({
    contacts: xs.reduce((a, p) => a + p.contacts, 0),
    total: options.contacts,
    events: xs.reduce((a, p) => a + p.events, 0),
    commands: xs.reduce((a, p) => a + p.commands, 0),
  });
  const threads: Worker[] = [];
  const runs = Array.from({ length: workers }, (_, index) => {
    const data: SeedWorkerData = {
      config,
      options: { contacts: options.contacts, tenant: options.tenant, seed: options.seed, concurrency: perWorker, anchorMs },
      shard: { index, count: workers },
    };
    const thread = new Worker(BOOT, { eval: true, workerData: data });
    threads.push(thread);
    return new Promise<SeedReport>((resolve, reject) => {
      let report: SeedReport | undefined;
      thread.on('message', (m: SeedWorkerMessage) => {
        if (m.kind === 'progress') {
          latest[index] = m.progress;
          options.onProgress?.(sum(latest));
        } else if (m.kind === 'done') report = m.report;
        else reject(new Error(m.message));
      });
      thread.on('error', reject);
      thread.on('exit', (code) => (report ? resolve(report) : reject(new Error(`seed: worker ${index} exited with code ${code} before it was done`))));
    });
  });
  let reports: SeedReport[];
  try {
    reports = await Promise.all(runs);
  } catch (err) {
    // The first failure stops every worker: nothing keeps writing on behalf of a seed that failed.
    await Promise.allSettled(threads.map((t) => t.terminate()));
    await Promise.allSettled(runs);
    throw err;
  }
  await checkpoint.advance(new Date(anchorMs));
  const total = sum(reports);
  return {
    ...total,
    leads: reports.reduce((a, r) => a + r.leads, 0),
    deals: reports.reduce((a, r) => a + r.deals, 0),
    budgets: reports.reduce((a, r) => a + r.budgets, 0),
    elapsedMs: Math.round(performance.now() - started),
  };
}

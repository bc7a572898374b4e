import type { Logger } from 'pino';
import type { EventStore } from '../../platform/event-store/event-store.js';
import type { StoredRecord } from '../../platform/event-store/port.js';
import type { EventReader } from '../../platform/event-store/read-events.js';
import type { ProjectionEventError } from './errors.js';
import { replayBatchSize } from './batching.js';
import { defaultRetryPolicy, runIsolated, type RetryPolicy } from './isolate.js';
import { targetOf, type TargetChoice } from './projector.js';
import type { ApplyOptions, ApplyResult, BatchItem, GenerationRef, ReadModelTarget, TargetBatch } from './target.js';

/** An event the replay could not apply: unreadable (parseEvent) or poison (its statements fail). */
export interface ReplayFailure {
  readonly streamId: string;
  readonly streamRevision: bigint;
  readonly position: bigint;
  readonly eventId: string;
  readonly type: string;
  readonly error: unknown;
}

export interface ReplayProgress {
  readonly events: number;
  readonly applied: number;
  readonly position: bigint | undefined;
  readonly head: bigint | undefined;
  readonly elapsedMs: number;
}

export type ReplayOptions = TargetChoice & ReplaySettings;

export interface ReplaySettings {
  readonly store: EventStore;
  /** Generation to fill (default: the live one; use the target's `createShadow` for a rebuild or a verification). */
  readonly generation?: number | GenerationRef;
  /** Records read and applied per batch. Default: the target's `preferredBatch` (target.ts), else 1 000; this setting wins over both. */
  readonly batchSize?: number;
  readonly retry?: RetryPolicy;
  readonly signal?: AbortSignal;
  readonly log: Logger;
  readonly onProgress?: (p: ReplayProgress) => void;
  /** Called for each event that could not be applied (e.g. to dead-letter it); it is skipped either way. */
  readonly onFailure?: (f: ReplayFailure) => Promise<void>;
}

export interface ReplayResult {
  readonly generation: number;
  readonly events: number;
  readonly applied: number;
  readonly duplicates: number;
  readonly failures: ReplayFailure[];
  readonly position: bigint | undefined;
  readonly elapsedMs: number;
}

/**
 * Applies a read model straight from the event store (`$all` from the generation's checkpoint), no bus.
 * Same mapping, same revision guard as the consumer runtime; the checkpoint is the global position,
 * committed with the data by the target (target.ts), so a replay can be interrupted and resumed. Stops at
 * the head it finds when it reaches it (events appended meanwhile are the live consumer's, or the next call's).
 */
export async function replayProjection(options: ReplayOptions): Promise<ReplayResult> {
  const { log } = options;
  const target = targetOf(options);
  const started = Date.now();
  const generation = await generationOf(target, options.generation);
  const totals = { events: 0, applied: 0, duplicates: 0, failures: [] as ReplayFailure[] };
  let position = await target.readPosition(generation);
  const head = await options.store.headPosition();
  const batchSize = replayBatchSize(target, options.batchSize);
  for (;;) {
    if (options.signal?.aborted) break;
    const records = await options.store.readAllRaw({ after: position, maxCount: batchSize });
    if (records.length === 0) break;
    const r = await applyRecords({ apply: (b, o) => target.apply(b, o), target, generation, reader: options.store.reader, after: position, records, retry: options.retry ?? defaultRetryPolicy, signal: options.signal, log, onFailure: options.onFailure });
    totals.events += records.length;
    totals.applied += r.applied;
    totals.duplicates += r.duplicates;
    totals.failures.push(...r.failures);
    position = records[records.length - 1]!.position;
    options.onProgress?.({ events: totals.events, applied: totals.applied, position, head, elapsedMs: Date.now() - started });
    if (head !== undefined && position >= head) break;
  }
  return { generation: generation.generation, ...totals, position, elapsedMs: Date.now() - started };
}

/** The generation a replay fills: the one given (by number or reference), else the live one. */
async function generationOf(target: ReadModelTarget, given: number | GenerationRef | undefined): Promise<GenerationRef> {
  if (typeof given === 'object') return given;
  if (given === undefined) {
    const live = await target.live();
    if (!live) throw new Error(`read model ${target.name} is not registered`);
    return live;
  }
  const info = (await target.generations()).find((g) => g.generation === given);
  if (!info) throw new Error(`generation ${given} of ${target.name} does not exist`);
  return { name: target.name, generation: info.generation, version: info.version };
}

/**
 * Applies one batch's items to `generation` under isolation (runIsolated: retries, bisection down to the
 * poison event, which `fail` records and which the next attempt excludes). The one path replay and the
 * rebuild of several models (scripts/replay/rebuild.ts) share.
 */
export async function applyItemsIsolated(args: {
  apply: (batch: TargetBatch, options?: ApplyOptions) => Promise<ApplyResult>;
  target: Pick<ReadModelTarget, 'name' | 'isTransient'>;
  generation: GenerationRef;
  items: readonly BatchItem[];
  /** The position the items follow in `$all` (undefined: its start): every record after it, in order (TargetBatch.history). */
  after: bigint | undefined;
  retry: RetryPolicy;
  waitOutConnectionLoss?: boolean | undefined;
  signal?: AbortSignal | undefined;
  log: Logger;
  fail: (f: ReplayFailure) => Promise<void>;
}): Promise<{ applied: number; duplicates: number }> {
  const { items, fail } = args;
  const events = items.flatMap((i) => (i.event ? [i.event] : []));
  const r = await runIsolated({
    name: args.target.name,
    events,
    policy: args.retry,
    waitOutConnectionLoss: args.waitOutConnectionLoss,
    isTransient: args.target.isTransient?.bind(args.target),
    signal: args.signal,
    log: args.log,
    onPoison: async (error: ProjectionEventError) => {
      const e = error.event;
      await fail({ streamId: e.streamId, streamRevision: e.streamRevision, position: e.position, eventId: e.eventId, type: e.type, error });
    },
    attempt: (excluded, probe) =>
      args.apply(
        {
          generation: args.generation,
          items: excluded.size === 0 ? items : items.map((i) => (i.event && excluded.has(i.event.eventId) ? { ...i, event: undefined } : i)),
          history: { after: args.after },
        },
        { probe, ...(args.signal ? { signal: args.signal } : {}) },
      ),
  });
  return { applied: r.applied, duplicates: r.duplicates };
}

/** One batch of raw records into `generation` with its position checkpoint, via `apply`. */
async function applyRecords(args: {
  apply: (batch: TargetBatch, options?: ApplyOptions) => Promise<ApplyResult>;
  target: ReadModelTarget;
  generation: GenerationRef;
  /** The event store's reader (decrypt, upcast, validate). */
  reader: EventReader;
  /** `records` are `$all`'s records after this position (undefined: its start). */
  after: bigint | undefined;
  records: readonly StoredRecord[];
  retry: RetryPolicy;
  /** false inside a hold someone else owns (a swap's catch-up; see runIsolated). */
  waitOutConnectionLoss?: boolean;
  signal?: AbortSignal | undefined;
  log: Logger;
  onFailure?: ((f: ReplayFailure) => Promise<void>) | undefined;
}): Promise<{ applied: number; duplicates: number; failures: ReplayFailure[] }> {
  const failures: ReplayFailure[] = [];
  const fail = async (f: ReplayFailure) => {
    failures.push(f);
    await args.onFailure?.(f);
  };
  // Decrypt (erased subjects read as "[erased]"), upcast, validate: the store's reader, one key-store statement per batch.
  const outcomes = await args.reader.read(args.records);
  // The checkpoint is the last record read, applied or not (unreadable and ignored events included): every record is an item.
  const items: BatchItem[] = [];
  for (const [i, record] of args.records.entries()) {
    const o = outcomes[i]!;
    if (o.ok) {
      items.push({ position: record.position, event: o.event });
      continue;
    }
    items.push({ position: record.position, event: undefined });
    const error = o.error;
    args.log.error({ err: error, streamId: record.streamId, position: record.position.toString() }, 'replay: event failed parseEvent; skipped');
    await fail({ streamId: record.streamId, streamRevision: record.streamRevision, position: record.position, eventId: record.eventId, type: record.type, error });
  }
  const r = await applyItemsIsolated({ ...args, items, fail });
  return { applied: r.applied, duplicates: r.duplicates, failures };
}

export interface RebuildResult extends ReplayResult {
  readonly previousGeneration: number | undefined;
}

export type RebuildOptions = TargetChoice & Omit<ReplaySettings, 'generation'>;

/**
 * Blue-green rebuild of one read model, any store: replay into a fresh generation while the live one keeps
 * serving, then, holding the live consumer off, apply the last events and swap (PostgreSQL: views, in one
 * transaction; Elasticsearch: the alias; ClickHouse: a table exchange). The live consumer then writes the
 * new generation; its revision guard (per generation) skips what the replay already applied. Keeps the
 * previous generation (rollback, `replay verify`) and drops older retired ones.
 */
export async function rebuildProjection(options: RebuildOptions): Promise<RebuildResult> {
  const { log } = options;
  const target = targetOf(options);
  const previous = (await target.live())?.generation;
  const batchSize = replayBatchSize(target, options.batchSize);
  const shadow = await target.createShadow();
  log.info({ projection: target.name, generation: shadow.generation }, 'rebuild: replaying into a new generation');
  const first = await replayProjection({ target, store: options.store, generation: shadow, ...settingsOf(options) });
  if (options.signal?.aborted) return { ...first, previousGeneration: previous };
  let tail = { events: 0, applied: 0, duplicates: 0, failures: [] as ReplayFailure[] };
  let position = first.position;
  await target.swap(shadow, {
    // Inside the swap's hold on the live consumer: whatever was appended since the replay stopped. The
    // target runs each apply so that a failing one does not fail the swap (PostgreSQL: a savepoint), so a
    // poison event is isolated here too instead of failing the swap, and with it every later rebuild; a lost
    // connection aborts the swap (retry the rebuild).
    catchUp: async (apply) => {
      // Inside one hold a retry sees the same data: one attempt, then bisect.
      const once: RetryPolicy = { maxAttempts: 1, backoff: { initialMs: 0, maxMs: 0 } };
      // Up to the head as the hold begins, not until the store stops growing (a chase that never ends under
      // writes faster than this apply): later events reach the new generation through the live consumer, held
      // until the switch, which skips what was applied here (by position).
      const until = await options.store.headPosition();
      while (until !== undefined && (position === undefined || position < until)) {
        const records = await options.store.readAllRaw({ after: position, maxCount: batchSize });
        if (records.length === 0) break;
        const r = await applyRecords({ apply, target, generation: shadow, reader: options.store.reader, after: position, records, retry: once, waitOutConnectionLoss: false, log, onFailure: options.onFailure });
        tail = { events: tail.events + records.length, applied: tail.applied + r.applied, duplicates: tail.duplicates + r.duplicates, failures: [...tail.failures, ...r.failures] };
        position = records[records.length - 1]!.position;
      }
    },
  });
  // Keep the previous generation (rollback, `replay verify`); drop older retired ones.
  for (const g of await target.generations()) if (g.status === 'retired' && g.generation !== previous) await target.drop(g);
  log.info({ projection: target.name, generation: shadow.generation, events: first.events + tail.events, elapsedMs: first.elapsedMs }, 'rebuild: swapped');
  return {
    generation: shadow.generation,
    previousGeneration: previous,
    events: first.events + tail.events,
    applied: first.applied + tail.applied,
    duplicates: first.duplicates + tail.duplicates,
    failures: [...first.failures, ...tail.failures],
    position,
    elapsedMs: first.elapsedMs,
  };
}

/** The replay settings of `options`, without the target choice (which the caller has resolved). */
function settingsOf(options: Omit<ReplaySettings, 'store' | 'generation'>): Omit<ReplaySettings, 'store' | 'generation'> {
  const { batchSize, retry, signal, log, onProgress, onFailure } = options;
  return { log, ...(batchSize !== undefined ? { batchSize } : {}), ...(retry ? { retry } : {}), ...(signal ? { signal } : {}), ...(onProgress ? { onProgress } : {}), ...(onFailure ? { onFailure } : {}) };
}

import type { Logger } from 'pino';
import type { EventStore } from '../../platform/event-store/event-store.js';
import type { StoredRecord } from '../../platform/event-store/port.js';
import type { ReadOutcome } from '../../platform/event-store/read-events.js';
import type { SqlClient } from '../../platform/sql/client.js';
import { defaultRetryPolicy, type RetryPolicy } from '../../projections/kernel/isolate.js';
import { applyItemsIsolated, type ReplayFailure } from '../../projections/kernel/replay.js';
import type { ApplyOptions, ApplyResult, BatchItem, GenerationRef, ReadModelTarget, TargetBatch } from '../../projections/kernel/target.js';

/**
 * `annals replay rebuild <model…|all>`: every chosen read model, of any store, rebuilt from ONE read of the
 * event store (not Kafka).
 *
 * 1. Each model gets a shadow generation (PostgreSQL tables behind the view, an Elasticsearch index behind
 *    the alias, a ClickHouse table) — or, when a previous run was killed, its unfinished shadow is taken up
 *    again: the shadow's position in the control tables is the rebuild's own checkpoint, committed with its
 *    data, so the next run continues from there.
 * 2. One pass over `$all` in bounded batches: each batch is read once and decoded once (through the GDPR
 *    seam: erased subjects stay erased, the rebuild never decides that), then applied to every shadow that
 *    has not got it yet, one short transaction per model and batch. Short matters: positions come from
 *    `pg_snapshot_xmin`, so a long transaction anywhere holds every reader back, the live pipeline included.
 *    The live models keep serving and keep consuming meanwhile.
 * 3. Catch-up passes, outside any hold, until the shadows are within one batch of the head.
 * 4. The switch, only once every shadow is caught up: each model in turn holds its live consumer off, applies
 *    the last few events and switches (view / alias / table exchange) — each switch is atomic in its store,
 *    and they follow one another within milliseconds. There is no transaction across stores, so "together"
 *    means: all or none of them start switching, after all of them are complete.
 * 5. The previous generation stays for a grace period (rollback, comparison); retired generations older
 *    than it are dropped at the next run (`--grace 0`: at once).
 */
export interface ShadowProgress {
  readonly events: number;
  readonly position: bigint | undefined;
  readonly from: bigint | undefined;
  readonly head: bigint | undefined;
  readonly elapsedMs: number;
}

export interface ModelRun {
  readonly target: ReadModelTarget;
  readonly shadow: GenerationRef;
  readonly previousGeneration: number | undefined;
  /** The shadow's checkpoint when this run took it up (a resumed rebuild), undefined for a fresh one. */
  readonly resumedFrom: bigint | undefined;
  position: bigint | undefined;
  applied: number;
  duplicates: number;
  /** Time spent writing this model's batches (the models are written side by side: their sum exceeds the wall time). */
  busyMs: number;
  /** Time its store was busy with the chosen models: per batch the longest of that store's models (they start together). */
  storeBusyMs: number;
  readonly failures: ReplayFailure[];
}

export interface FillOptions {
  readonly store: EventStore;
  readonly log: Logger;
  readonly batchSize?: number;
  readonly retry?: RetryPolicy;
  readonly signal?: AbortSignal | undefined;
  /** Stop once this position is passed (default: the head when the pass starts). */
  readonly until?: bigint | undefined;
  readonly onProgress?: ((p: ShadowProgress) => void) | undefined;
  readonly onFailure?: ((model: string, f: ReplayFailure) => Promise<void>) | undefined;
  /**
   * A ceiling on the events read per second (`--rate`), for a cluster with no headroom: the rebuild then
   * leaves CPU and I/O to the live pipeline. Unset: as fast as the stores allow.
   */
  readonly maxEventsPerSecond?: number | undefined;
  /** Clock and sleep of the rate ceiling (tests count the waits instead of waiting). */
  readonly clock?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const handles = (target: ReadModelTarget) => new Set<string>(target.eventTypes);

/**
 * Events per apply for one model of a multi-model rebuild. The read batch (`--batch`) bounds every
 * PostgreSQL transaction. A store that asks for larger batches (`preferredBatch`, target.ts: ClickHouse
 * pays ~0.2 s per INSERT whatever its size) gets up to that many, gathered from several reads: its apply
 * takes a transaction id only for the bookkeeping after its write (controlled.ts), so a large batch there
 * does not hold back the event store's readers.
 */
export function applyBatchOf(target: Pick<ReadModelTarget, 'store' | 'preferredBatch'>, readBatch: number): number {
  if (target.store === 'postgres') return readBatch;
  return Math.max(readBatch, target.preferredBatch?.maxEvents ?? readBatch);
}

/**
 * Events per read and per PostgreSQL transaction by default (`--batch`). 2,000: at 1,000 the per-batch
 * round trips and commits held a PostgreSQL rebuild at 0.32× its raw INSERT rate (0.36–0.38× at 2,000,
 * bench:rebuild), and a fill's transaction of 2,000 events lasts ~80 ms, far below what live lag allows.
 */
export const REBUILD_BATCH = 2_000;

/** Most records one read of the event store returns when no PostgreSQL model bounds it (memory: ~10 MB decoded). */
export const MAX_READ = 10_000;

/**
 * Records per read of the event store: the read batch (`--batch`) while a PostgreSQL model is among the
 * chosen (its transactions are that size), else up to the smallest store batch, at most `MAX_READ`: a
 * rebuild of Elasticsearch or ClickHouse alone then reads in a tenth of the round trips (ClickHouse alone
 * 0.32× → 0.37× of its raw INSERT rate in bench:rebuild).
 */
export function readSizeOf(laneSizes: readonly number[], readBatch: number): number {
  return Math.max(readBatch, Math.min(MAX_READ, ...laneSizes));
}

interface Lane {
  readonly run: ModelRun;
  readonly size: number;
  /** Gathered records with their decoding (undefined: a type no chosen model handles), in order. */
  buffer: Fetched[];
  /** The apply in flight (at most one per model: its checkpoint must commit in order). */
  inflight: Promise<void> | undefined;
}

/**
 * One pass over the event store feeding every shadow from its own checkpoint: starts at the lowest
 * checkpoint, skips for each model what it already has. Returns the records read.
 *
 * Each model is a lane: the records it has not got gather in its buffer until they fill its apply batch
 * (`applyBatchOf`), then go to the store as one apply while the reader goes on; one apply in flight per
 * model (checkpoints commit in order), and a full buffer waits for it (memory stays at about two batches
 * per model). So a slow store holds back the reading only once its next batch is ready, and the stores
 * work side by side instead of in lock step.
 */
export async function fillShadows(runs: readonly ModelRun[], options: FillOptions): Promise<{ events: number; position: bigint | undefined; head: bigint | undefined }> {
  const started = Date.now();
  const head = options.until ?? (await options.store.headPosition());
  let cursor = runs.some((r) => r.position === undefined) ? undefined : runs.reduce<bigint | undefined>((m, r) => (m === undefined || r.position! < m ? r.position : m), undefined);
  const from = cursor;
  const wanted = new Set(runs.flatMap((r) => [...handles(r.target)]));
  const readBatch = options.batchSize ?? REBUILD_BATCH;
  const readSize = readSizeOf(runs.map((r) => applyBatchOf(r.target, readBatch)), readBatch);
  let events = 0;
  const clock = options.clock ?? Date.now;
  const throttleStart = clock();
  // Read and decode batch n+1 while batch n is applied: the store and the read database work in parallel.
  const fetch = (after: bigint | undefined) => readDecoded(options.store, after, readSize, wanted);
  // A store is busy while any of its models has an apply in flight (its models overlap).
  const active = new Map<string, { n: number; since: number; total: number }>();
  const busy = (store: string) => active.get(store) ?? active.set(store, { n: 0, since: 0, total: 0 }).get(store)!;
  const lanes: Lane[] = runs.map((run) => ({ run, size: applyBatchOf(run.target, readBatch), buffer: [], inflight: undefined }));
  let failure: { error: unknown } | undefined;
  // Hands the lane's first `count` gathered records to its store, once its previous apply is done.
  const dispatch = async (lane: Lane, count: number) => {
    if (count === 0) return;
    await lane.inflight;
    if (failure) throw failure.error;
    const fetched = lane.buffer.slice(0, count);
    lane.buffer = lane.buffer.slice(count);
    const b = busy(lane.run.target.store);
    if (b.n++ === 0) b.since = performance.now();
    lane.inflight = applyToShadow(lane.run, fetched, { apply: (x, o) => lane.run.target.apply(x, o), retry: options.retry ?? defaultRetryPolicy, ...options })
      .catch((error: unknown) => {
        failure ??= { error };
      })
      .finally(() => {
        if (--b.n === 0) b.total += performance.now() - b.since;
      });
  };
  let next = head !== undefined && (cursor === undefined || cursor < head) ? fetch(cursor) : undefined;
  try {
    while (next) {
      if (options.signal?.aborted || failure) break;
      const fetched = await next;
      next = undefined;
      if (fetched.length === 0) break;
      const last = fetched[fetched.length - 1]!.record.position;
      const more = last < head!;
      if (more) {
        next = fetch(last);
        next.catch(() => undefined);
      }
      for (const lane of lanes) {
        const p = lane.run.position;
        for (const f of fetched) if (p === undefined || f.record.position > p) lane.buffer.push(f);
      }
      for (const lane of lanes) {
        // Full batches (never more than the lane's size: a store's preference is an upper bound), and at
        // the end of the pass whatever is left.
        while (lane.buffer.length >= lane.size) await dispatch(lane, lane.size);
        if (!more) await dispatch(lane, lane.buffer.length);
      }
      events += fetched.length;
      cursor = last;
      options.onProgress?.({ events, position: cursor, from, head, elapsedMs: Date.now() - started });
      if (options.maxEventsPerSecond !== undefined) {
        // Where the ceiling says this many events may be done, against where the clock is: wait the difference.
        const ahead = (events * 1000) / options.maxEventsPerSecond - (clock() - throttleStart);
        if (ahead > 0) await (options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))))(ahead);
      }
    }
    // What is gathered is applied (unless stopped: the checkpoints say where the next run resumes).
    if (!options.signal?.aborted && !failure) for (const lane of lanes) await dispatch(lane, lane.buffer.length);
  } finally {
    await Promise.all(lanes.map((l) => l.inflight));
    // An abandoned prefetch must not reject unobserved.
    await next?.catch(() => undefined);
  }
  for (const run of runs) run.storeBusyMs += active.get(run.target.store)?.total ?? 0;
  if (failure) throw failure.error;
  return { events, position: cursor, head };
}

/** A record read from the event store and its decoding (once for every model), or undefined if no chosen model handles its type. */
interface Fetched {
  readonly record: StoredRecord;
  readonly outcome: ReadOutcome | undefined;
}

/** The next records of `$all` after `after`, each with its decoding; types no model in `wanted` handles are not decrypted at all. */
async function readDecoded(store: EventStore, after: bigint | undefined, maxCount: number, wanted: ReadonlySet<string>): Promise<Fetched[]> {
  const records = await store.readAllRaw({ after, maxCount });
  const decode = records.filter((r) => wanted.has(r.type));
  const outcomes = await store.reader.read(decode);
  const fetched: Fetched[] = new Array(records.length);
  for (let i = 0, k = 0; i < records.length; i++) {
    const record = records[i]!;
    fetched[i] = { record, outcome: decode[k] === record ? outcomes[k++] : undefined };
  }
  return fetched;
}

async function applyToShadow(
  run: ModelRun,
  fetched: readonly Fetched[],
  args: {
    apply: (batch: TargetBatch, options?: ApplyOptions) => Promise<ApplyResult>;
    retry: RetryPolicy;
    waitOutConnectionLoss?: boolean;
    signal?: AbortSignal | undefined;
    log: Logger;
    onFailure?: ((model: string, f: ReplayFailure) => Promise<void>) | undefined;
  },
): Promise<void> {
  const mine = handles(run.target);
  const fail = async (f: ReplayFailure) => {
    run.failures.push(f);
    await args.onFailure?.(run.target.name, f);
  };
  // Every record is an item (it moves the checkpoint), handled or not, readable or not.
  const items: BatchItem[] = [];
  for (const { record: r, outcome } of fetched) {
    const o = mine.has(r.type) ? outcome : undefined;
    if (o && !o.ok) await fail({ streamId: r.streamId, streamRevision: r.streamRevision, position: r.position, eventId: r.eventId, type: r.type, error: o.error });
    items.push({ position: r.position, event: o?.ok ? o.event : undefined });
  }
  const t0 = performance.now();
  // The lane's records follow its checkpoint without a gap: a fill (guard.ts) when the shadow is a fresh one.
  const result = await applyItemsIsolated({ ...args, target: run.target, generation: run.shadow, items, after: run.position, fail });
  run.busyMs += performance.now() - t0;
  run.applied += result.applied;
  run.duplicates += result.duplicates;
  run.position = fetched[fetched.length - 1]!.record.position;
}

/** A shadow for each target: the unfinished one of a killed run at the code's version (resumed), else a fresh one. */
export async function openShadows(targets: readonly ReadModelTarget[], options: { resume: boolean }): Promise<ModelRun[]> {
  const runs: ModelRun[] = [];
  for (const target of targets) {
    const live = await target.live();
    const building = options.resume
      ? (await target.generations()).filter((g) => g.status === 'building' && g.version === target.version).sort((a, b) => b.generation - a.generation)[0]
      : undefined;
    const shadow = building ? { name: target.name, generation: building.generation, version: building.version } : await target.createShadow();
    const position = building ? await target.readPosition(shadow) : undefined;
    runs.push({ target, shadow, previousGeneration: live?.generation, resumedFrom: position, position, applied: 0, duplicates: 0, busyMs: 0, storeBusyMs: 0, failures: [] });
  }
  return runs;
}

export interface RebuildOptions extends Omit<FillOptions, 'until'> {
  /** The read database's control tables (retired generations' age). */
  readonly controlSql: SqlClient;
  /** How long a retired generation is kept before a run drops it (default 10 minutes; 0: at once). */
  readonly graceMs?: number;
  /**
   * Runs once every shadow is caught up, before the first switch (tests append here: events in that window
   * reach the old generation through the live consumer and must reach the new one through the switch's catch-up).
   */
  readonly beforeSwitch?: () => Promise<void>;
}

export interface RebuildReport {
  readonly models: ReadonlyArray<{
    readonly name: string;
    readonly store: string;
    readonly previousGeneration: number | undefined;
    readonly generation: number;
    readonly resumedFrom: bigint | undefined;
    readonly applied: number;
    readonly duplicates: number;
    /** Milliseconds spent writing this model's batches. */
    readonly busyMs: number;
    /** Milliseconds its store was busy writing the batches of the chosen models (models of one store overlap). */
    readonly storeBusyMs: number;
    readonly failures: readonly ReplayFailure[];
  }>;
  /** Records read from the event store (the bulk pass and the catch-ups, not counting the switch). */
  readonly events: number;
  readonly position: bigint | undefined;
  readonly elapsedMs: number;
  readonly switched: boolean;
  readonly dropped: ReadonlyArray<{ readonly name: string; readonly generation: number }>;
}

export async function rebuildModels(targets: readonly ReadModelTarget[], options: RebuildOptions): Promise<RebuildReport> {
  const started = Date.now();
  const graceMs = options.graceMs ?? 10 * 60_000;
  const dropped = await dropExpired(options.controlSql, targets, graceMs);
  const runs = await openShadows(targets, { resume: true });
  const batch = options.batchSize ?? REBUILD_BATCH;
  let events = 0;
  let position: bigint | undefined;
  // The bulk pass, then catch-up passes until one of them is short: what is left for the switch is small.
  for (let pass = 0; pass < 20; pass++) {
    const r = await fillShadows(runs, { ...options, until: undefined });
    events += r.events;
    position = r.position ?? position;
    if (options.signal?.aborted || r.events < batch) break;
  }
  const report = (switched: boolean, extra: ReadonlyArray<{ name: string; generation: number }> = []): RebuildReport => ({
    models: runs.map((r) => ({
      name: r.target.name,
      store: r.target.store,
      previousGeneration: r.previousGeneration,
      generation: r.shadow.generation,
      resumedFrom: r.resumedFrom,
      applied: r.applied,
      duplicates: r.duplicates,
      busyMs: Math.round(r.busyMs),
      storeBusyMs: Math.round(r.storeBusyMs),
      failures: r.failures,
    })),
    events,
    position,
    elapsedMs: Date.now() - started,
    switched,
    dropped: [...dropped, ...extra],
  });
  if (options.signal?.aborted) return report(false);

  await options.beforeSwitch?.();
  const once: RetryPolicy = { maxAttempts: 1, backoff: { initialMs: 0, maxMs: 0 } };
  for (const run of runs) {
    await run.target.swap(run.shadow, {
      // Inside the hold on this model's live consumer: the events appended since the last pass, up to the head
      // as the hold begins. Not until the store stops growing: under writes faster than this apply (a slow
      // machine, a busy store) that chase never ended. Later events reach the new generation through the live
      // consumer, held until the switch, which skips what this catch-up already applied (by position).
      catchUp: async (apply) => {
        const until = await options.store.headPosition();
        while (until !== undefined && (run.position === undefined || run.position < until)) {
          const fetched = await readDecoded(options.store, run.position, batch, handles(run.target));
          if (fetched.length === 0) break;
          await applyToShadow(run, fetched, { apply, retry: once, waitOutConnectionLoss: false, log: options.log, onFailure: options.onFailure });
        }
      },
    });
    if (run.position !== undefined && (position === undefined || run.position > position)) position = run.position;
  }
  const droppedNow: Array<{ name: string; generation: number }> = [];
  if (graceMs === 0) {
    for (const run of runs) {
      for (const g of await run.target.generations()) {
        if (g.status === 'retired') {
          await run.target.drop(g);
          droppedNow.push({ name: run.target.name, generation: g.generation });
        }
      }
    }
  }
  return report(true, droppedNow);
}

/** Drops retired generations whose retirement is older than the grace period. */
async function dropExpired(sql: SqlClient, targets: readonly ReadModelTarget[], graceMs: number): Promise<Array<{ name: string; generation: number }>> {
  const out: Array<{ name: string; generation: number }> = [];
  const exists = await sql.query<{ t: string | null }>(`SELECT to_regclass('annals_projection_generations')::text AS t`);
  if (exists.rows[0]?.t == null) return out;
  for (const target of targets) {
    const { rows } = await sql.query<{ generation: number; version: number }>(
      `SELECT generation, version FROM annals_projection_generations
        WHERE name = $1 AND status = 'retired' AND updated_at <= now() - ($2::bigint * interval '1 millisecond')`,
      [target.name, graceMs],
    );
    for (const g of rows) {
      await target.drop({ name: target.name, generation: g.generation, version: g.version });
      out.push({ name: target.name, generation: g.generation });
    }
  }
  return out;
}

import type { Logger } from 'pino';
import type { EventStore } from '../../platform/event-store/event-store.js';
import type { StoredRecord } from '../../platform/event-store/port.js';
import type { SqlClient, SqlExecutor } from '../../platform/sql/client.js';
import type { EventEnvelope } from '../../schemas/events/registry.js';
import type { EventReader } from '../../platform/event-store/read-events.js';
import { advanceGeneration, applyEvents, type ApplyTarget, type ProjectionEventError } from './apply.js';
import { createGeneration, dropGeneration, readLive, swapGeneration, tablesOf } from './generations.js';
import { defaultRetryPolicy, ProbeRollback, runIsolated, type RetryPolicy } from './isolate.js';
import type { PostgresProjection } from './projection.js';

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

export interface ReplayOptions {
  readonly sql: SqlClient;
  readonly store: EventStore;
  readonly projection: PostgresProjection;
  /** Generation to fill (default: the live one; use `createGeneration` for a rebuild or a verification). */
  readonly generation?: number;
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
 * Applies a projection straight from the event store (`$all` from the generation's checkpoint), no bus.
 * Same mapping, same revision guard as the consumer runtime; the checkpoint is the global position, in
 * the same transaction as the rows, so a replay can be interrupted and resumed. Stops at the head it
 * finds when it reaches it (events appended meanwhile are the live consumer's, or the next call's).
 */
export async function replayProjection(options: ReplayOptions): Promise<ReplayResult> {
  const { sql, projection, log } = options;
  const started = Date.now();
  const generation = options.generation ?? (await readLive(sql, projection.name, false))?.generation;
  if (generation === undefined) throw new Error(`read model ${projection.name} is not registered`);
  const target: ApplyTarget = { name: projection.name, generation, tables: tablesOf(projection, generation) };
  const totals = { events: 0, applied: 0, duplicates: 0, failures: [] as ReplayFailure[] };
  let position = await generationPosition(sql, target);
  const head = await options.store.headPosition();
  for (;;) {
    if (options.signal?.aborted) break;
    const records = await options.store.readAllRaw({ after: position, maxCount: options.batchSize ?? 1000 });
    if (records.length === 0) break;
    const r = await applyRecords({ run: (fn) => sql.transaction(fn), reader: options.store.reader, projection, target, records, retry: options.retry ?? defaultRetryPolicy, signal: options.signal, log, onFailure: options.onFailure });
    totals.events += records.length;
    totals.applied += r.applied;
    totals.duplicates += r.duplicates;
    totals.failures.push(...r.failures);
    position = records[records.length - 1]!.position;
    options.onProgress?.({ events: totals.events, applied: totals.applied, position, head, elapsedMs: Date.now() - started });
    if (head !== undefined && position >= head) break;
  }
  return { generation, ...totals, position, elapsedMs: Date.now() - started };
}

async function generationPosition(sql: SqlExecutor, target: ApplyTarget): Promise<bigint | undefined> {
  const { rows } = await sql.query<{ p: string | null }>(`SELECT position::text AS p FROM annals_projection_generations WHERE name = $1 AND generation = $2`, [
    target.name,
    target.generation,
  ]);
  if (!rows[0]) throw new Error(`generation ${target.generation} of ${target.name} does not exist`);
  return rows[0].p === null ? undefined : BigInt(rows[0].p);
}

/** One batch of raw records into `target` with its position checkpoint, via `run` (a transaction). */
async function applyRecords(args: {
  run: <T>(fn: (tx: SqlExecutor) => Promise<T>) => Promise<T>;
  /** The event store's reader (decrypt, upcast, validate). */
  reader: EventReader;
  projection: PostgresProjection;
  target: ApplyTarget;
  records: readonly StoredRecord[];
  retry: RetryPolicy;
  /** false inside a transaction someone else owns (see runIsolated). */
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
  const events: EventEnvelope[] = [];
  // Decrypt (erased subjects read as "[erased]"), upcast, validate: the store's reader, one key-store statement per batch.
  const outcomes = await args.reader.read(args.records);
  for (const [i, record] of args.records.entries()) {
    const o = outcomes[i]!;
    if (o.ok) {
      events.push(o.event);
      continue;
    }
    const error = o.error;
    args.log.error({ err: error, streamId: record.streamId, position: record.position.toString() }, 'replay: event failed parseEvent; skipped');
    await fail({ streamId: record.streamId, streamRevision: record.streamRevision, position: record.position, eventId: record.eventId, type: record.type, error });
  }
  const last = args.records[args.records.length - 1]!.position;
  const attempt = (excluded: ReadonlySet<string>, probe: boolean) =>
    args.run(async (tx) => {
      const res = await applyEvents(
        tx,
        args.projection,
        args.target,
        events.filter((e) => !excluded.has(e.eventId)),
      );
      // The checkpoint is the last record read, applied or not (unreadable and ignored events included).
      await advanceGeneration(tx, args.target, last, res.applied);
      if (probe) throw new ProbeRollback();
      return res;
    });
  const r = await runIsolated({
    name: args.projection.name,
    events,
    policy: args.retry,
    waitOutConnectionLoss: args.waitOutConnectionLoss,
    signal: args.signal,
    log: args.log,
    onPoison: async (error: ProjectionEventError) => {
      const e = error.event;
      await fail({ streamId: e.streamId, streamRevision: e.streamRevision, position: e.position, eventId: e.eventId, type: e.type, error });
    },
    attempt,
  });
  return { applied: r.applied, duplicates: r.duplicates, failures };
}

export interface RebuildResult extends ReplayResult {
  readonly previousGeneration: number | undefined;
}

/**
 * Blue-green rebuild: replay into a fresh generation while the live one keeps serving, then, holding the
 * live consumer off, apply the last events and swap the views in one transaction. The live consumer then
 * writes the new generation; its revision guard (per generation) skips what the replay already applied.
 * Keeps the previous generation (rollback, `replay verify`) and drops older retired ones.
 */
export async function rebuildProjection(options: Omit<ReplayOptions, 'generation'>): Promise<RebuildResult> {
  const { sql, projection, log } = options;
  const previous = (await readLive(sql, projection.name, false))?.generation;
  const { generation } = await createGeneration(sql, projection);
  log.info({ projection: projection.name, generation }, 'rebuild: replaying into a new generation');
  const first = await replayProjection({ ...options, generation });
  if (options.signal?.aborted) return { ...first, previousGeneration: previous };
  const target: ApplyTarget = { name: projection.name, generation, tables: tablesOf(projection, generation) };
  let tail = { events: 0, applied: 0, duplicates: 0, failures: [] as ReplayFailure[] };
  let position = first.position;
  await swapGeneration(sql, projection, generation, async (tx) => {
    // Inside the swap transaction: whatever was appended since the replay stopped. Each batch runs under a
    // savepoint, so a poison event is isolated here too (an attempt or a probe rolls back to it) instead of
    // failing the swap, and with it every later rebuild; a lost connection aborts the swap (retry the rebuild).
    const inSavepoint = async <T>(fn: (t: SqlExecutor) => Promise<T>): Promise<T> => {
      await tx.query('SAVEPOINT annals_rebuild_tail');
      try {
        const result = await fn(tx);
        await tx.query('RELEASE SAVEPOINT annals_rebuild_tail');
        return result;
      } catch (e) {
        await tx.query('ROLLBACK TO SAVEPOINT annals_rebuild_tail');
        throw e;
      }
    };
    // Inside one transaction a retry sees the same data: one attempt, then bisect.
    const once: RetryPolicy = { maxAttempts: 1, backoff: { initialMs: 0, maxMs: 0 } };
    for (;;) {
      const records = await options.store.readAllRaw({ after: position, maxCount: options.batchSize ?? 1000 });
      if (records.length === 0) break;
      const r = await applyRecords({ run: inSavepoint, reader: options.store.reader, projection, target, records, retry: once, waitOutConnectionLoss: false, log, onFailure: options.onFailure });
      tail = { events: tail.events + records.length, applied: tail.applied + r.applied, duplicates: tail.duplicates + r.duplicates, failures: [...tail.failures, ...r.failures] };
      position = records[records.length - 1]!.position;
    }
  });
  const { rows } = await sql.query<{ generation: number }>(
    `SELECT generation FROM annals_projection_generations WHERE name = $1 AND status = 'retired' AND generation <> $2 ORDER BY generation`,
    [projection.name, previous ?? -1],
  );
  for (const r of rows) await dropGeneration(sql, projection, r.generation);
  log.info({ projection: projection.name, generation, events: first.events + tail.events, elapsedMs: first.elapsedMs }, 'rebuild: swapped');
  return {
    generation,
    previousGeneration: previous,
    events: first.events + tail.events,
    applied: first.applied + tail.applied,
    duplicates: first.duplicates + tail.duplicates,
    failures: [...first.failures, ...tail.failures],
    position,
    elapsedMs: first.elapsedMs,
  };
}

import { CodedError } from '../../platform/errors/coded-error.js';
import { defineErrors } from '../../platform/errors/catalogue.js';
import { allEventsTopics } from '../../platform/bus/topics.js';
import { coveringBatches, recentBatches, type CoveringBatch } from '../../platform/bus/relay-offsets.js';
import type { SqlExecutor } from '../../platform/sql/client.js';

/**
 * Read-your-writes (issue 11 §3). A request carrying `X-Consistent-With: <position>` (the `position` a
 * command answered) is executed only once every read model it touches has applied every event at or below
 * that position, or after a bounded wait, when the answer says it is stale.
 *
 * "Applied everything ≤ P" is NOT "the model's position ≥ P": a model's position is a high-water mark, and
 * Kafka partitions advance independently (the model may have applied 900 on one partition and not yet 850
 * on another). The relay records, with the checkpoint of the batch that published P, the last offset it had
 * written on every partition (platform/bus/relay-offsets.ts); a model has applied everything ≤ P when its
 * committed next offset on each of those partitions (`annals_projection_offsets`, written in the same
 * transaction as its rows) is past that offset. This holds on Kafka and on the embedded bus alike.
 *
 * One poller serves every waiting request: each round is one statement on the relay's table (every waiting
 * position at once) and one per progress source (every waiting model at once), whatever the number of
 * requests waiting.
 */
export const ConsistencyErrorCode = defineErrors('CONSISTENCY', {
  /** `X-Consistent-With` is not a position a command returned (a decimal integer, at most 2^63 - 1). */
  BadPosition: 'CONSISTENCY_ERR_BAD_POSITION',
});

export const CONSISTENCY_HEADER = 'x-consistent-with';
const MAX_POSITION = 2n ** 63n - 1n;

export function parseConsistencyToken(value: unknown): bigint | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : value;
  if (typeof text !== 'string' || !/^\d{1,19}$/.test(text.trim()) || BigInt(text.trim()) > MAX_POSITION) {
    throw new CodedError(
      ConsistencyErrorCode.BadPosition,
      'X-Consistent-With must be the position a command returned: one decimal integer from 0 to 9223372036854775807',
      400,
      { field: 'X-Consistent-With' },
    );
  }
  return BigInt(text.trim());
}

/**
 * Where a kind of read model keeps its consumed offsets (next offset to read, per `tpKey`). The PostgreSQL
 * models keep theirs in `annals_projection_offsets` (sqlProgress); a store that keeps them elsewhere adds
 * its own source, and the gate asks each source for the models it owns.
 */
export interface ProgressSource {
  /** The models this source answers for (projector names: `contacts`, `deals`, …). */
  owns(model: string): boolean;
  /** Every model it answers for: what a root field that declares none waits for. */
  readonly models: readonly string[];
  /** Consumed next offsets per model (`tpKey` → next offset); a model with no row yet maps to an empty map. */
  nextOffsets(models: readonly string[]): Promise<Map<string, Map<string, bigint>>>;
  /** The topics a model consumes; only their partitions count (default: every aggregate topic). */
  topicsOf?(model: string): readonly string[];
}

/**
 * The read models' progress, by SQL on the projection runtime's control table (every target of every store
 * keeps its offsets there; no import of projections/). `models`: the model names, or model → projector name
 * when they differ (a test's uniquely named projector behind the `contacts` model).
 */
export function sqlProgress(sql: SqlExecutor, models: Iterable<string> | Readonly<Record<string, string>>): ProgressSource {
  const projectorOf = new Map<string, string>(Symbol.iterator in models ? [...(models as Iterable<string>)].map((m) => [m, m]) : Object.entries(models));
  return {
    owns: (m) => projectorOf.has(m),
    models: [...projectorOf.keys()],
    async nextOffsets(wanted) {
      const out = new Map<string, Map<string, bigint>>(wanted.map((m) => [m, new Map()]));
      if (wanted.length === 0) return out;
      const { rows } = await sql.query<{ name: string; topic: string; partition: number; o: string }>(
        `SELECT name, topic, partition, next_offset::text AS o FROM annals_projection_offsets WHERE name = ANY($1::text[])`,
        [wanted.map((m) => projectorOf.get(m)!)],
      );
      for (const m of wanted) {
        const p = projectorOf.get(m);
        for (const r of rows) if (r.name === p) out.get(m)!.set(`${r.topic}:${r.partition}`, BigInt(r.o));
      }
      return out;
    },
  };
}

export type ConsistencyOutcome =
  | { readonly stale: false; readonly requested: bigint; readonly waitedMs: number }
  | { readonly stale: true; readonly requested: bigint; readonly waitedMs: number; readonly reached: Readonly<Record<string, bigint | null>> };

export interface ConsistencyGateOptions {
  /** Where the relay records its batches (its checkpoint database: the read database under `npm start`). */
  readonly relaySql: SqlExecutor;
  readonly relayName?: string;
  readonly sources: readonly ProgressSource[];
  /** Longest wait before answering stale (default 5 000 ms). */
  readonly maxWaitMs?: number;
  /** Pause between two polls while requests wait (default 10 ms). */
  readonly pollIntervalMs?: number;
  readonly now?: () => number;
}

export interface ConsistencyGate {
  readonly maxWaitMs: number;
  /** Resolves once every model has applied everything ≤ position, or after the wait with `stale: true`. */
  waitFor(position: bigint, models: readonly string[], options?: { maxWaitMs?: number }): Promise<ConsistencyOutcome>;
  /** Whether `model` is one a source answers for (an unknown model can never be waited for). */
  knows(model: string): boolean;
  /** Every model a source answers for (a root field that declares no model waits for all of them). */
  readonly models: readonly string[];
}

interface Waiter {
  readonly position: bigint;
  readonly models: readonly string[];
  readonly started: number;
  readonly deadline: number;
  readonly resolve: (o: ConsistencyOutcome) => void;
}

/** Whether offsets `next` (consumed) cover the batch's last written offsets on the topics the model reads. */
export function covers(batch: CoveringBatch, next: ReadonlyMap<string, bigint>, topics: ReadonlySet<string>): boolean {
  for (const [tp, last] of batch.offsets) {
    const topic = tp.slice(0, tp.lastIndexOf(':'));
    if (!topics.has(topic)) continue;
    if ((next.get(tp) ?? 0n) <= last) return false;
  }
  return true;
}

/** A missing table (a relay that never ran here yet) reads as "nothing recorded", not as an error. */
const isUndefinedTable = (e: unknown) => (e as { code?: string }).code === '42P01';

export function createConsistencyGate(options: ConsistencyGateOptions): ConsistencyGate {
  const relayName = options.relayName ?? 'relay';
  const maxWaitMs = options.maxWaitMs ?? 5_000;
  const pollMs = options.pollIntervalMs ?? 10;
  const now = options.now ?? Date.now;
  const waiters = new Set<Waiter>();
  let polling = false;

  const sourceOf = (model: string) => options.sources.find((s) => s.owns(model));
  const topicsOf = (model: string): ReadonlySet<string> => new Set(sourceOf(model)?.topicsOf?.(model) ?? allEventsTopics);

  const offsetsOf = async (models: readonly string[]): Promise<Map<string, Map<string, bigint>>> => {
    const out = new Map<string, Map<string, bigint>>();
    for (const source of options.sources) {
      const mine = models.filter((m) => source.owns(m));
      if (mine.length > 0) for (const [m, o] of await source.nextOffsets(mine)) out.set(m, o);
    }
    return out;
  };

  const covering = async (positions: readonly bigint[]) => {
    try {
      return await coveringBatches(options.relaySql, relayName, positions);
    } catch (e) {
      if (isUndefinedTable(e)) return new Map<bigint, CoveringBatch | undefined>();
      throw e;
    }
  };

  /** How far each model got: the newest recorded batch it has fully applied (null: none of those retained). */
  const reachedOf = async (models: readonly string[]): Promise<Record<string, bigint | null>> => {
    const [batches, offsets] = await Promise.all([recentBatches(options.relaySql, relayName, 500).catch((e: unknown) => (isUndefinedTable(e) ? [] : Promise.reject(e))), offsetsOf(models)]);
    const out: Record<string, bigint | null> = {};
    for (const m of models) {
      const topics = topicsOf(m);
      out[m] = batches.find((b) => covers(b, offsets.get(m) ?? new Map(), topics))?.position ?? null;
    }
    return out;
  };

  const round = async (): Promise<void> => {
    const pending = [...waiters];
    const models = [...new Set(pending.flatMap((w) => w.models))];
    const [batches, offsets] = await Promise.all([covering(pending.map((w) => w.position)), offsetsOf(models)]);
    const t = now();
    for (const w of pending) {
      const batch = batches.get(w.position);
      const done = batch !== undefined && w.models.every((m) => covers(batch, offsets.get(m) ?? new Map(), topicsOf(m)));
      if (done) {
        waiters.delete(w);
        w.resolve({ stale: false, requested: w.position, waitedMs: t - w.started });
      } else if (t >= w.deadline) {
        waiters.delete(w);
        const reached = await reachedOf(w.models);
        w.resolve({ stale: true, requested: w.position, waitedMs: t - w.started, reached });
      }
    }
  };

  const poll = async (): Promise<void> => {
    if (polling) return;
    polling = true;
    try {
      while (waiters.size > 0) {
        try {
          await round();
        } catch {
          // A failed poll (database restarting) is retried until each waiter's deadline; then it answers stale.
          const t = now();
          for (const w of [...waiters]) {
            if (t < w.deadline) continue;
            waiters.delete(w);
            w.resolve({ stale: true, requested: w.position, waitedMs: t - w.started, reached: Object.fromEntries(w.models.map((m) => [m, null])) });
          }
        }
        if (waiters.size > 0) await new Promise((r) => setTimeout(r, pollMs));
      }
    } finally {
      polling = false;
    }
  };

  return {
    maxWaitMs,
    knows: (m) => sourceOf(m) !== undefined,
    models: [...new Set(options.sources.flatMap((s) => s.models))],
    waitFor(position, models, opts = {}) {
      const started = now();
      const unique = [...new Set(models)];
      if (unique.length === 0) return Promise.resolve({ stale: false, requested: position, waitedMs: 0 });
      return new Promise<ConsistencyOutcome>((resolve) => {
        waiters.add({ position, models: unique, started, deadline: started + (opts.maxWaitMs ?? maxWaitMs), resolve });
        void poll();
      });
    },
  };
}

/**
 * The gate of a deployment that wired none (a test, a deployment without the relay's table): it knows no
 * model, so a request with X-Consistent-With is answered at once with every touched model `unchecked`.
 */
export const noConsistencyGate: ConsistencyGate = {
  maxWaitMs: 0,
  knows: () => false,
  models: [],
  waitFor: async (position) => ({ stale: false, requested: position, waitedMs: 0 }),
};

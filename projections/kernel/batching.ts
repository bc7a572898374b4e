import { ProjectionErrorCode } from './errors.js';
import type { ReadModelTarget } from './target.js';

/**
 * How many events the runtime hands a target per apply, decided in one place for the live projector
 * (projector.ts), replay and rebuild (replay.ts) and the multi-model rebuild (scripts/replay/rebuild.ts):
 * the caller's explicit setting, else the target's `preferredBatch` (target.ts), else the runtime's default.
 */

/** The live projector's default group-commit bound: most messages in one transaction. */
export const DEFAULT_LIVE_BATCH = 5_000;
/** A replay's default: records read from the event store (and applied) per batch. */
export const DEFAULT_REPLAY_BATCH = 1_000;

/** Most events per live transaction: `explicit` (maxMessagesPerTransaction), else the target's hint, else 5,000. */
export function liveBatchSize(target: Pick<ReadModelTarget, 'name' | 'preferredBatch'>, explicit?: number): number {
  return checked(target.name, explicit ?? target.preferredBatch?.maxEvents ?? DEFAULT_LIVE_BATCH);
}

/** Records per replay batch: `explicit` (batchSize), else the target's hint, else 1,000. */
export function replayBatchSize(target: Pick<ReadModelTarget, 'name' | 'preferredBatch'>, explicit?: number): number {
  return checked(target.name, explicit ?? target.preferredBatch?.maxEvents ?? DEFAULT_REPLAY_BATCH);
}

/** A batch bound of 0, a fraction or NaN would make the runtime loop without progress: refused at start. */
function checked(name: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw Object.assign(new Error(`read model ${name}: batch size must be a positive integer, got ${String(n)}`), { code: ProjectionErrorCode.BatchSize });
  }
  return n;
}

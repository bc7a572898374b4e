import type { SqlExecutor } from '../../platform/sql/client.js';
import type { EventEnvelope } from '../../schemas/events/registry.js';
import { InlineLiteralError, scriptOf } from './coalesce.js';
import { isConnectionError } from './failures.js';
import { RevisionGuard } from './guard.js';
import type { PostgresProjection, SqlStatement, Tables } from './projection.js';
import { ProjectionEventError } from './errors.js';
import type { ApplyResult } from './target.js';

export { ProjectionEventError } from './errors.js';
export type { ApplyResult } from './target.js';

/**
 * Applying events to one generation, inside a transaction the caller owns (GUIDE rule 8: the caller adds
 * its checkpoint to the same transaction). The revision guard (guard.ts) makes the result independent of
 * duplicates: an event the generation already has is skipped.
 */
export interface ApplyTarget {
  readonly name: string;
  readonly generation: number;
  readonly tables: Tables;
}

/**
 * `fold`: the store's batch fold (projections/postgres/fold.ts), used for the FIRST attempt only: when its
 * script fails, the unfolded statements run as before, so a fold can cost a retry, never a different row.
 */
export interface ApplyEventsOptions {
  readonly fold?: ((statements: readonly SqlStatement[], tables: Tables) => SqlStatement[]) | undefined;
  /** false: a fill (guard.ts), every event is new and no guard row is read or written. Default true. */
  readonly guarded?: boolean;
}

export async function applyEvents(
  tx: SqlExecutor,
  projection: PostgresProjection,
  target: ApplyTarget,
  events: readonly EventEnvelope[],
  options: ApplyEventsOptions = {},
): Promise<ApplyResult> {
  const result: ApplyResult = { applied: 0, duplicates: 0, ignored: 0, maxPosition: undefined };
  if (events.length === 0) return result;
  const handled = new Set<string>(projection.eventTypes);
  const relevant = events.filter((e) => handled.has(e.type));
  for (const e of events) if (result.maxPosition === undefined || e.position > result.maxPosition) result.maxPosition = e.position;
  result.ignored = events.length - relevant.length;
  if (relevant.length === 0) return result;

  const guard = options.guarded === false ? undefined : await RevisionGuard.read(tx, target.name, target.generation, relevant);

  // Plan first (pure), then write. The statements of the whole batch go to the server as ONE script, with
  // their parameters inlined as escaped literals and runs of the same INSERT merged into multi-row INSERTs
  // (coalesce.ts): a batch of N events costs one round trip and a handful of statements instead of N×k.
  // If the merged script fails, the savepoint undoes it and the plain script runs (a merged ON CONFLICT DO
  // UPDATE may hit one row twice); if that fails too, the batch is bisected under savepoints to the first
  // event that fails on its own, which is thrown (for retries and the dead-letter topic).
  const planned: Planned[] = [];
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    if (!handled.has(event.type)) continue;
    if (guard && !guard.admit(event)) {
      result.duplicates++;
      continue;
    }
    try {
      planned.push({ event, index: i, statements: projection.project(event, target.tables) });
    } catch (e) {
      // The mapping is pure: the same event throws again.
      throw new ProjectionEventError(projection.name, event, e, true, i);
    }
    result.applied++;
  }

  const statements = planned.flatMap((p) => p.statements);
  if (statements.length > 0) {
    // The savepoint gets a round trip of its own. Set in the same script as the statements, it would not
    // exist when the server refuses the script as a whole (a parse error runs none of its statements), and
    // the ROLLBACK TO below would then fail (3B001) where the batch should have fallen back.
    await tx.query(`SAVEPOINT ${SAVEPOINT}`);
    const first = options.fold ? options.fold(statements, target.tables) : statements;
    let failure = await tryScript(tx, () => scriptOf(first, { merge: true }));
    if (failure !== undefined && !(failure instanceof InlineLiteralError)) {
      const plain = safely(() => scriptOf(statements, { merge: false }));
      if (plain !== safely(() => scriptOf(first, { merge: true }))) failure = await tryScript(tx, () => plain ?? scriptOf(statements, { merge: false }));
    }
    if (failure !== undefined) await isolateFailingEvent(tx, projection.name, planned);
  }

  const written = guard?.statement(target.name, target.generation);
  if (written) await tx.query(written.sql, written.params);
  return result;
}

/** Moves the generation's position (high-water mark) and its applied counter, in the caller's transaction. */
export async function advanceGeneration(tx: SqlExecutor, target: ApplyTarget, position: bigint | undefined, applied: number): Promise<void> {
  const s = advanceStatement(target, position, applied);
  if (s) await tx.query(s.sql, s.params);
}

/** The statement `advanceGeneration` runs, for a caller that sends it in one script with others. */
export function advanceStatement(target: ApplyTarget, position: bigint | undefined, applied: number): SqlStatement | undefined {
  if (position === undefined && applied === 0) return undefined;
  return {
    sql: `UPDATE annals_projection_generations
        SET position = GREATEST(coalesce(position, -1), coalesce($3::bigint, -1)), events_applied = events_applied + $4, updated_at = now()
      WHERE name = $1 AND generation = $2`,
    params: [target.name, target.generation, position?.toString() ?? null, applied],
  };
}

const SAVEPOINT = 'annals_apply_batch';

/** `fn()`, or undefined when it throws (comparing two scripts that may not be buildable). */
function safely(fn: () => string): string | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

/**
 * Runs the script `build()` returns after the savepoint `SAVEPOINT` (which the caller has set) and, when it
 * succeeds, keeps its effects (and a fresh savepoint for the next step); when it fails, rolls back to the
 * savepoint and returns the error. A script that cannot be built (a NUL in a literal) fails before anything
 * is sent.
 */
async function tryScript(tx: SqlExecutor, build: () => string): Promise<unknown> {
  try {
    await tx.exec(`${build()};\nRELEASE SAVEPOINT ${SAVEPOINT};\nSAVEPOINT ${SAVEPOINT}`);
    return undefined;
  } catch (error) {
    // Fails only when the transaction itself is gone (connection lost): that error is the one to report.
    await tx.query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
    return error;
  }
}

/** Each statement of `events` on its own with bound parameters, under the savepoint; the first error, or undefined. */
async function tryBound(tx: SqlExecutor, events: readonly Planned[]): Promise<unknown> {
  try {
    for (const { statements } of events) for (const s of statements) await tx.query(s.sql, s.params);
    await tx.exec(`RELEASE SAVEPOINT ${SAVEPOINT};\nSAVEPOINT ${SAVEPOINT}`);
    return undefined;
  } catch (error) {
    await tx.query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
    return error;
  }
}

interface Planned {
  readonly event: EventEnvelope;
  readonly index: number;
  readonly statements: readonly SqlStatement[];
}

/**
 * The slow path, after the whole batch failed: bisection under savepoints. The events before the culprit
 * are applied in O(log n) scripts (a half that succeeds is kept, a half that fails is split again), then
 * the culprit runs alone with bound parameters, so the error names it (a NUL is 22021 there, not a
 * refused message). If it succeeds alone, the failure did not come from one event: the rest goes on the
 * same way. Throws the ProjectionEventError of the first event that fails on its own.
 */
async function isolateFailingEvent(tx: SqlExecutor, projection: string, planned: readonly Planned[]): Promise<void> {
  let from = 0;
  let knownToFail = true; // the whole batch just did
  while (from < planned.length) {
    if (!knownToFail && (await tryScript(tx, () => scriptOf(segmentStatements(planned, from, planned.length), { merge: false }))) === undefined) return;
    let to = planned.length; // [from, to) holds a failure
    while (to - from > 1) {
      const mid = from + Math.ceil((to - from) / 2);
      if ((await tryScript(tx, () => scriptOf(segmentStatements(planned, from, mid), { merge: false }))) === undefined) from = mid;
      else to = mid;
    }
    const suspect = planned[from]!;
    const error = await tryBound(tx, [suspect]);
    if (error !== undefined) throw new ProjectionEventError(projection, suspect.event, error, !isConnectionError(error), suspect.index);
    from++;
    knownToFail = false;
  }
}

const segmentStatements = (planned: readonly Planned[], from: number, to: number): SqlStatement[] => planned.slice(from, to).flatMap((p) => p.statements);

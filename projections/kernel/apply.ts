import type { SqlExecutor } from '../../platform/sql/client.js';
import type { EventEnvelope } from '../../schemas/events/registry.js';
import { scriptOf } from './coalesce.js';
import type { PostgresProjection, SqlStatement, Tables } from './projection.js';

/**
 * Applying events to one generation, inside a transaction the caller owns (GUIDE rule 8: the caller adds
 * its checkpoint to the same transaction). The per-stream revision guard makes the result independent of
 * duplicates: an event whose stream revision is <= the last one applied to this generation is skipped.
 */
export interface ApplyTarget {
  readonly name: string;
  readonly generation: number;
  readonly tables: Tables;
}

export interface ApplyResult {
  applied: number;
  duplicates: number;
  /** Events of types the projection does not handle (they still move the position). */
  ignored: number;
  /** Highest global position among the events seen, handled or not. */
  maxPosition: bigint | undefined;
}

/** One event's projection failed. `deterministic` means retrying the same event cannot help (a poison event). */
export class ProjectionEventError extends Error {
  readonly code: string;
  constructor(
    readonly projection: string,
    readonly event: Pick<EventEnvelope, 'eventId' | 'type' | 'streamId' | 'streamRevision' | 'position'>,
    override readonly cause: unknown,
    readonly deterministic: boolean,
    /** Index of the event in the list given to `applyEvents`. */
    readonly index: number,
  ) {
    super(
      `${projection}: ${event.type} at stream ${event.streamId} revision ${event.streamRevision} position ${event.position} failed: ${(cause as Error)?.message ?? String(cause)}`,
    );
    this.name = 'ProjectionEventError';
    const c = (cause as { code?: unknown })?.code;
    this.code = typeof c === 'string' ? `PROJECTION_ERR_EVENT(${c})` : 'PROJECTION_ERR_EVENT';
  }
}

/**
 * SQLSTATE classes that mean "this statement is wrong for this data", which the same event will hit
 * again: 22 data exception, 23 integrity constraint, 42 syntax/undefined object, P0 raised by plpgsql.
 * Anything else (08 connection, 40 serialization/deadlock, 53 resources, 57 shutdown, no code = network)
 * is transient: retried forever with backoff, never dead-lettered (a database outage must not empty a
 * read model into the DLQ).
 */
export function isDeterministicSqlError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^(22|23|42|P0)/.test(code);
}

export async function applyEvents(
  tx: SqlExecutor,
  projection: PostgresProjection,
  target: ApplyTarget,
  events: readonly EventEnvelope[],
): Promise<ApplyResult> {
  const result: ApplyResult = { applied: 0, duplicates: 0, ignored: 0, maxPosition: undefined };
  if (events.length === 0) return result;
  const handled = new Set<string>(projection.eventTypes);
  const relevant = events.filter((e) => handled.has(e.type));
  for (const e of events) if (result.maxPosition === undefined || e.position > result.maxPosition) result.maxPosition = e.position;
  result.ignored = events.length - relevant.length;
  if (relevant.length === 0) return result;

  const streams = [...new Set(relevant.map((e) => e.streamId))];
  const { rows } = await tx.query<{ stream_id: string; revision: string }>(
    `SELECT stream_id, revision::text AS revision FROM annals_projection_streams WHERE name = $1 AND generation = $2 AND stream_id = ANY($3::text[])`,
    [target.name, target.generation, streams],
  );
  const guard = new Map(rows.map((r) => [r.stream_id, BigInt(r.revision)]));
  const touched = new Set<string>();

  // Plan first (pure), then write. The statements of the whole batch go to the server as ONE script, with
  // their parameters inlined as escaped literals and runs of the same INSERT merged into multi-row INSERTs
  // (coalesce.ts): a batch of N events costs one round trip and a handful of statements instead of N×k.
  // If the merged script fails, the savepoint undoes it and the plain script runs (a merged ON CONFLICT DO
  // UPDATE may hit one row twice); if that fails too, statement by statement, only to find which event
  // failed (for retries and the dead-letter topic).
  const planned: { event: EventEnvelope; index: number; statements: readonly SqlStatement[] }[] = [];
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    if (!handled.has(event.type)) continue;
    const last = guard.get(event.streamId);
    if (last !== undefined && event.streamRevision <= last) {
      result.duplicates++;
      continue;
    }
    try {
      planned.push({ event, index: i, statements: projection.project(event, target.tables) });
    } catch (e) {
      // The mapping is pure: the same event throws again.
      throw new ProjectionEventError(projection.name, event, e, true, i);
    }
    guard.set(event.streamId, event.streamRevision);
    touched.add(event.streamId);
    result.applied++;
  }

  const statements = planned.flatMap((p) => p.statements);
  if (statements.length > 0) {
    const merged = scriptOf(statements, { merge: true });
    // The savepoint is set by the same round trip as the script: a failing script leaves it in place.
    let done = await tryScript(tx, `SAVEPOINT annals_apply_batch;\n${merged}`);
    if (!done) {
      const plain = scriptOf(statements, { merge: false });
      if (plain !== merged) done = await tryScript(tx, plain);
    }
    if (!done) await applyOneByOne(tx, projection.name, planned);
  }

  if (touched.size > 0) {
    const ids = [...touched];
    await tx.query(
      `INSERT INTO annals_projection_streams(name, generation, stream_id, revision)
       SELECT $1, $2, s, r FROM unnest($3::text[], $4::bigint[]) AS t(s, r)
       ON CONFLICT (name, generation, stream_id) DO UPDATE SET revision = GREATEST(annals_projection_streams.revision, EXCLUDED.revision)`,
      [target.name, target.generation, ids, ids.map((id) => guard.get(id)!.toString())],
    );
  }
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

/** Runs a script inside the savepoint `annals_apply_batch`; on failure, rolls back to it and says so. */
async function tryScript(tx: SqlExecutor, script: string): Promise<boolean> {
  try {
    await tx.exec(`${script};\nRELEASE SAVEPOINT annals_apply_batch`);
    return true;
  } catch {
    await tx.query('ROLLBACK TO SAVEPOINT annals_apply_batch');
    return false;
  }
}

/** The slow path: each statement on its own, so a failure names its event. */
async function applyOneByOne(
  tx: SqlExecutor,
  projection: string,
  planned: readonly { event: EventEnvelope; index: number; statements: readonly SqlStatement[] }[],
): Promise<void> {
  for (const { event, index, statements } of planned) {
    for (const s of statements) {
      try {
        await tx.query(s.sql, s.params);
      } catch (e) {
        throw new ProjectionEventError(projection, event, e, isDeterministicSqlError(e), index);
      }
    }
  }
}

import type { SqlExecutor } from '../../platform/sql/client.js';
import type { EventEnvelope } from '../../schemas/events/registry.js';
import type { SqlStatement } from './projection.js';
import type { TargetBatch } from './target.js';

/**
 * THE REVISION GUARD, one for every target (PostgreSQL's apply.ts and the external stores' controlled.ts).
 *
 * An event is a duplicate of something the generation already has when
 * - its stream has a guard row (`annals_projection_streams`) and its revision is <= the row's; or
 * - its stream has none and its position is <= the generation's `history_through`: the generation was
 *   filled from the event store in position order up to there (a rebuild's shadow), which wrote no rows.
 * Revisions and positions grow together within a stream, so the two agree: a live event past
 * `history_through` is newer than anything the fill applied of its stream, and once applied its row decides.
 *
 * THE FILL. A replay batch (`TargetBatch.history`) into a `building` generation that holds exactly the
 * history up to the batch's `after` (a rebuild's or a verification's shadow) needs no guard at all: every
 * event in it is new to the generation, and a crash re-reads from the committed checkpoint. Reading and
 * upserting a guard row per stream per batch was a third of a PostgreSQL rebuild (bench:rebuild, 62 s →
 * 42 s on a million events). The checkpoint commits as a compare-and-set on position and
 * `history_through`; any batch that is not exactly the continuation (a retried commit, a second rebuild of
 * the same shadow) runs guarded, which the rows and `history_through` keep exact.
 */
export class RevisionGuard {
  private readonly admitted = new Set<string>();

  private constructor(
    private readonly revisions: Map<string, bigint>,
    private readonly historyThrough: bigint | undefined,
  ) {}

  /** The guard of `streams` in one generation: their rows and the generation's `history_through`, one round trip. */
  static async read(tx: SqlExecutor, name: string, generation: number, events: readonly EventEnvelope[]): Promise<RevisionGuard> {
    if (events.length === 0) return new RevisionGuard(new Map(), undefined);
    const streams = [...new Set(events.map((e) => e.streamId))];
    const { rows } = await tx.query<{ stream_id: string | null; revision: string | null }>(
      `SELECT stream_id, revision::text AS revision FROM annals_projection_streams WHERE name = $1 AND generation = $2 AND stream_id = ANY($3::text[])
       UNION ALL
       SELECT NULL, history_through::text FROM annals_projection_generations WHERE name = $1 AND generation = $2`,
      [name, generation, streams],
    );
    const revisions = new Map<string, bigint>();
    let historyThrough: bigint | undefined;
    for (const r of rows) {
      if (r.stream_id === null) historyThrough = r.revision === null ? undefined : BigInt(r.revision);
      else revisions.set(r.stream_id, BigInt(r.revision!));
    }
    return new RevisionGuard(revisions, historyThrough);
  }

  /** True when `event` is new to the generation; it then counts as applied for the rest of the batch. False: a duplicate. */
  admit(event: EventEnvelope): boolean {
    const last = this.revisions.get(event.streamId);
    if (last !== undefined ? event.streamRevision <= last : this.historyThrough !== undefined && event.position <= this.historyThrough) return false;
    this.revisions.set(event.streamId, event.streamRevision);
    this.admitted.add(event.streamId);
    return true;
  }

  /** The upsert of the admitted streams' rows (never lowering one), or undefined when none was admitted. */
  statement(name: string, generation: number): SqlStatement | undefined {
    if (this.admitted.size === 0) return undefined;
    return raiseGuards(name, generation, [...this.admitted].map((id) => [id, this.revisions.get(id)!] as const));
  }
}

/** The upsert that raises streams' guard rows to these revisions (a missing row is made), never lowering one. */
export function raiseGuards(name: string, generation: number, streams: ReadonlyArray<readonly [streamId: string, revision: bigint]>): SqlStatement {
  return {
    sql: `INSERT INTO annals_projection_streams(name, generation, stream_id, revision)
     SELECT $1, $2, s, r FROM unnest($3::text[], $4::bigint[]) AS t(s, r)
     ON CONFLICT (name, generation, stream_id) DO UPDATE SET revision = GREATEST(annals_projection_streams.revision, EXCLUDED.revision)`,
    params: [name, generation, streams.map(([id]) => id), streams.map(([, revision]) => revision.toString())],
  };
}

/**
 * Whether `batch` is a FILL (see above): a replay batch whose `history.after` is exactly what its `building`
 * generation holds (position and `history_through` both there). Anything else is guarded, and the guard
 * (rows, else `history_through`) keeps it exact: a bus batch, a live generation, a shadow begun before
 * this column, a fill batch whose commit went through but whose answer was lost (all duplicates now), and
 * a second rebuild filling the same shadow from an older checkpoint (its events up to `history_through`
 * are duplicates; past it, the guard rows it writes dedupe the first rebuild's next batches, which stop
 * being fills because the position moved).
 */
export async function isFill(tx: SqlExecutor, name: string, batch: TargetBatch): Promise<boolean> {
  if (batch.generation === 'live' || !batch.history) return false;
  const { rows } = await tx.query<{ status: string; position: string | null; history_through: string | null }>(
    `SELECT status, position::text AS position, history_through::text AS history_through FROM annals_projection_generations WHERE name = $1 AND generation = $2`,
    [name, batch.generation.generation],
  );
  const g = rows[0];
  const after = batch.history.after?.toString() ?? null;
  return g?.status === 'building' && g.history_through === after && g.position === after;
}

/**
 * A fill's checkpoint: position and `history_through` move together, if and only if nobody moved them since
 * `isFill` (compare-and-set, in the apply's transaction). When somebody did (a second rebuild of the same
 * shadow committed in between), the batch fails and its retry runs guarded.
 */
export async function commitFill(tx: SqlExecutor, name: string, generation: number, after: bigint | undefined, position: bigint | undefined, applied: number): Promise<void> {
  if (position === undefined) return;
  const { rows } = await tx.query(
    `UPDATE annals_projection_generations
        SET position = $3::bigint, history_through = $3::bigint, events_applied = events_applied + $4, updated_at = now()
      WHERE name = $1 AND generation = $2 AND status = 'building' AND history_through IS NOT DISTINCT FROM $5::bigint AND position IS NOT DISTINCT FROM $5::bigint
      RETURNING 1`,
    [name, generation, position.toString(), applied, after?.toString() ?? null],
  );
  if (rows.length !== 1) throw new Error(`generation ${generation} of ${name} moved while a fill batch after position ${after ?? 'start'} was applied (another rebuild of the same shadow?): retrying it guarded`);
}

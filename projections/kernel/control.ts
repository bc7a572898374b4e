import { tpKey } from '../../platform/bus/port.js';
import type { SqlExecutor } from '../../platform/sql/client.js';
import { advanceGeneration, advanceStatement } from './apply.js';
import { scriptOf } from './coalesce.js';
import { commitFill } from './guard.js';
import type { EventEnvelope } from '../../schemas/events/registry.js';
import { ProjectionErrorCode } from './errors.js';
import { readLive } from './generations.js';
import type { GenerationInfo, TargetBatch } from './target.js';

/**
 * Reads of the control tables (schema.ts) that every target shares: whatever the store, a read model's
 * offsets, positions and generations live in the read database (target.ts, "the control plane").
 */

/** Stored next offset per `topic:partition` of a read model. */
export async function readOffsets(sql: SqlExecutor, name: string): Promise<Map<string, bigint>> {
  const { rows } = await sql.query<{ topic: string; partition: number; o: string }>(
    `SELECT topic, partition, next_offset::text AS o FROM annals_projection_offsets WHERE name = $1`,
    [name],
  );
  return new Map(rows.map((r) => [tpKey(r.topic, r.partition), BigInt(r.o)]));
}

/** A generation's position high-water mark; throws when the generation does not exist. */
export async function readPosition(sql: SqlExecutor, name: string, generation: number): Promise<bigint | undefined> {
  const { rows } = await sql.query<{ p: string | null }>(`SELECT position::text AS p FROM annals_projection_generations WHERE name = $1 AND generation = $2`, [name, generation]);
  if (!rows[0]) throw new Error(`generation ${generation} of ${name} does not exist`);
  return rows[0].p === null ? undefined : BigInt(rows[0].p);
}

/** Every generation of a read model, oldest first (empty before the control tables exist). */
export async function readGenerations(sql: SqlExecutor, name: string): Promise<GenerationInfo[]> {
  const exists = await sql.query<{ t: string | null }>(`SELECT to_regclass('annals_projection_generations')::text AS t`);
  if (exists.rows[0]?.t == null) return [];
  const { rows } = await sql.query<{ generation: number; version: number; status: GenerationInfo['status']; position: string | null; events_applied: string }>(
    `SELECT generation, version, status, position::text AS position, events_applied::text AS events_applied
       FROM annals_projection_generations WHERE name = $1 ORDER BY generation`,
    [name],
  );
  return rows.map((g) => ({
    name,
    generation: g.generation,
    version: g.version,
    status: g.status,
    position: g.position === null ? undefined : BigInt(g.position),
    eventsApplied: BigInt(g.events_applied),
  }));
}

/** What a batch comes to once its checkpoint is read: the generation it writes, the events past the stored offsets, the position to store. */
export interface ResolvedBatch {
  readonly generation: number;
  /** In batch order; unhandled, unreadable and excluded items are not here (they still moved `position`). */
  readonly events: EventEnvelope[];
  readonly position: bigint | undefined;
}

/**
 * The first half of every target's apply, inside its transaction on the read database (TargetBatch's
 * contract): the live generation read FOR SHARE (a swap waits for the batch, the batch for a swap), the
 * stored offsets of the batch's partitions read FOR UPDATE (a concurrent member of a stale consumer
 * generation waits, then skips what this one applied), the items below them dropped.
 */
export async function resolveBatch(tx: SqlExecutor, name: string, batch: TargetBatch, options: { rowLocks?: boolean } = {}): Promise<ResolvedBatch> {
  // rowLocks false: the caller serialises with advisory locks instead (controlled.ts), which take no transaction id.
  const rowLocks = options.rowLocks ?? true;
  let generation: number;
  if (batch.generation === 'live') {
    const live = await readLive(tx, name, rowLocks);
    if (!live) throw Object.assign(new Error(`read model ${name} is not registered (call register first)`), { code: ProjectionErrorCode.NotRegistered });
    generation = live.generation;
  } else generation = batch.generation.generation;
  const offsets = batch.offsets ?? [];
  let stored: Map<string, bigint> | undefined;
  if (offsets.length > 0) {
    const { rows } = await tx.query<{ topic: string; partition: number; o: string }>(
      `SELECT topic, partition, next_offset::text AS o FROM annals_projection_offsets
        WHERE name = $1 AND (topic, partition) IN (SELECT * FROM unnest($2::text[], $3::int[]))${rowLocks ? ' FOR UPDATE' : ''}`,
      [name, offsets.map((p) => p.topic), offsets.map((p) => p.partition)],
    );
    stored = new Map(rows.map((r) => [tpKey(r.topic, r.partition), BigInt(r.o)]));
  }
  const events: EventEnvelope[] = [];
  let position: bigint | undefined;
  for (const item of batch.items) {
    if (item.position === undefined) continue;
    if (item.source && stored) {
      const next = stored.get(tpKey(item.source.topic, item.source.partition));
      if (next !== undefined && item.source.offset < next) continue;
    }
    if (position === undefined || item.position > position) position = item.position;
    if (item.event) events.push(item.event);
  }
  return { generation, events, position };
}

/** The offsets upsert (never moving an offset backwards). */
export const offsetsStatement = (name: string, offsets: NonNullable<TargetBatch['offsets']>) => ({
  sql: `INSERT INTO annals_projection_offsets(name, topic, partition, next_offset)
        SELECT $1, t, p, o FROM unnest($2::text[], $3::int[], $4::bigint[]) AS x(t, p, o)
        ON CONFLICT (name, topic, partition) DO UPDATE SET next_offset = GREATEST(annals_projection_offsets.next_offset, EXCLUDED.next_offset), updated_at = now()`,
  params: [name, offsets.map((p) => p.topic), offsets.map((p) => p.partition), offsets.map((p) => p.nextOffset.toString())] as readonly unknown[],
});

/**
 * The checkpoint of an apply, in its transaction, whatever the store: a fill's compare-and-set (guard.ts),
 * else the generation's position with the bus offsets (one round trip when there are both).
 */
export async function commitCheckpoint(
  tx: SqlExecutor,
  args: { name: string; generation: number; batch: TargetBatch; fill: boolean; position: bigint | undefined; applied: number },
): Promise<void> {
  const { name, generation, batch, position, applied } = args;
  if (args.fill) return commitFill(tx, name, generation, batch.history?.after, position, applied);
  const row = { name, generation, tables: {} };
  const offsets = batch.offsets ?? [];
  if (offsets.length > 0) await tx.exec(scriptOf([advanceStatement(row, position, applied), offsetsStatement(name, offsets)].filter((x) => x !== undefined), { merge: false }));
  else await advanceGeneration(tx, row, position, applied);
}

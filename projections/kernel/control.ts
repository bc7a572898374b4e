import { tpKey } from '../../platform/bus/port.js';
import type { SqlExecutor } from '../../platform/sql/client.js';
import type { GenerationInfo } from './target.js';

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

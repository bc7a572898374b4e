import type { Migration } from '../sql/migrate.js';
import type { SqlExecutor } from '../sql/client.js';
import { tpKey } from './port.js';

/**
 * What the relay published up to a global position, per partition: the seam of read-your-writes (issue 11
 * §3). A command answers with the position of its last event; a read model's own "position" is a
 * high-water mark (partitions advance independently, so having applied position 900 on one partition says
 * nothing about 850 on another). What does say it: for the relay batch that published P, the last offset it
 * had written on EVERY partition (cumulative, not only the partitions that batch touched). A consumer whose
 * committed next offset is past each of those offsets has applied every event at or below P, whatever the
 * interleaving. The relay writes a row per batch, in the same statement as its checkpoint; the query API
 * reads them (relay and query API never import each other: both use this file).
 *
 * Rows are kept for the last RETAINED_BATCHES batches. A position older than the oldest row is covered by
 * the oldest row (its offsets are at or past everything published before it): a conservative answer that
 * never says "applied" too early.
 */
export const RELAY_OFFSETS_TABLE = 'annals_relay_offsets';
export const RETAINED_BATCHES = 5_000;

export const relayOffsetsMigration: Migration = {
  name: 'relay/002-published-offsets',
  sql: `CREATE TABLE IF NOT EXISTS annals_relay_offsets (
  name       text        NOT NULL,
  position   bigint      NOT NULL,
  offsets    jsonb       NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (name, position)
);`,
};

/** `tpKey(topic, partition)` → the last offset written there (inclusive), as of some relay batch. */
export type PartitionOffsets = ReadonlyMap<string, bigint>;

export function encodeOffsets(offsets: PartitionOffsets): string {
  const o: Record<string, string> = {};
  for (const [k, v] of [...offsets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) o[k] = v.toString();
  return JSON.stringify(o);
}

export function decodeOffsets(json: unknown): Map<string, bigint> {
  const o = (typeof json === 'string' ? JSON.parse(json) : json) as Record<string, string> | null;
  const out = new Map<string, bigint>();
  for (const [k, v] of Object.entries(o ?? {})) if (typeof v === 'string' && /^\d{1,20}$/.test(v)) out.set(k, BigInt(v));
  return out;
}

/**
 * Folds the end offsets read after a publish into the cumulative map (kept in the relay's memory): for each
 * partition of the topic the last written offset is `end - 1`. The end offset read after the ack is the
 * truth for that partition (it covers every message acknowledged so far, a second relay's included), so it
 * replaces the remembered value rather than being maxed with it: a bus whose log was reset (a deleted
 * embedded DATA_DIR/bus) must not leave offsets behind that no consumer can ever pass.
 */
export function advanceOffsets(current: PartitionOffsets, topic: string, ends: ReadonlyMap<number, bigint>): Map<string, bigint> {
  const next = new Map(current);
  for (const [partition, end] of ends) {
    const k = tpKey(topic, partition);
    if (end <= 0n) next.delete(k);
    else next.set(k, end - 1n);
  }
  return next;
}

/** Keeps the newest RETAINED_BATCHES rows of one relay (run now and then, not per batch). */
export async function pruneRelayOffsets(sql: SqlExecutor, name: string, keep = RETAINED_BATCHES): Promise<void> {
  await sql.query(
    `DELETE FROM annals_relay_offsets WHERE name = $1 AND position < (
       SELECT position FROM annals_relay_offsets WHERE name = $1 ORDER BY position DESC OFFSET $2 LIMIT 1)`,
    [name, keep],
  );
}

/** The relay's cumulative map at its last recorded batch (where a restarted relay continues from). */
export async function latestRelayOffsets(sql: SqlExecutor, name: string): Promise<Map<string, bigint>> {
  const { rows } = await sql.query<{ offsets: unknown }>(`SELECT offsets FROM annals_relay_offsets WHERE name = $1 ORDER BY position DESC LIMIT 1`, [name]);
  return rows[0] ? decodeOffsets(rows[0].offsets) : new Map();
}

export interface CoveringBatch {
  /** The position of the relay batch (its last event); at or above the requested one. */
  readonly position: bigint;
  readonly offsets: Map<string, bigint>;
}

/**
 * For each requested position, the first recorded batch at or above it (undefined: the relay has not
 * published that far yet). ONE statement for every waiting request.
 */
export async function coveringBatches(sql: SqlExecutor, name: string, positions: readonly bigint[]): Promise<Map<bigint, CoveringBatch | undefined>> {
  const distinct = [...new Set(positions)];
  const out = new Map<bigint, CoveringBatch | undefined>();
  if (distinct.length === 0) return out;
  const { rows } = await sql.query<{ req: string; position: string | null; offsets: unknown }>(
    `SELECT p.req::text AS req, r.position::text AS position, r.offsets
       FROM unnest($2::bigint[]) AS p(req)
       LEFT JOIN LATERAL (
         SELECT position, offsets FROM annals_relay_offsets WHERE name = $1 AND position >= p.req ORDER BY position LIMIT 1
       ) r ON true`,
    [name, distinct.map(String)],
  );
  for (const r of rows) out.set(BigInt(r.req), r.position === null ? undefined : { position: BigInt(r.position), offsets: decodeOffsets(r.offsets) });
  return out;
}

/** The newest recorded batches, newest first (to say how far a stale model got). */
export async function recentBatches(sql: SqlExecutor, name: string, limit: number): Promise<CoveringBatch[]> {
  const { rows } = await sql.query<{ position: string; offsets: unknown }>(
    // Ordered by the bigint column, not by the text alias (an ORDER BY name resolves to the output column first).
    `SELECT position::text AS position, offsets FROM annals_relay_offsets r WHERE name = $1 ORDER BY r.position DESC LIMIT $2`,
    [name, limit],
  );
  return rows.map((r) => ({ position: BigInt(r.position), offsets: decodeOffsets(r.offsets) }));
}

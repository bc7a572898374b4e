import type { SqlClient } from '../../platform/sql/client.js';
import { migrate, type Migration } from '../../platform/sql/migrate.js';
import type { Position } from '../../schemas/events/envelope.js';
import { encodeOffsets, latestRelayOffsets, pruneRelayOffsets, relayOffsetsMigration, type PartitionOffsets } from '../../platform/bus/relay-offsets.js';

/** Where the relay resumes: the global position of the last event whose publication the broker acknowledged. */
export interface RelayCheckpointStore {
  load(): Promise<Position | undefined>;
  /**
   * `offsets`: the last offset written on every partition once this batch was acknowledged (cumulative),
   * recorded with the checkpoint for read-your-writes (platform/bus/relay-offsets.ts).
   */
  save(position: Position, offsets?: PartitionOffsets): Promise<void>;
  /** The cumulative offsets of the last recorded batch (a restarted relay goes on from them). */
  loadOffsets?(): Promise<Map<string, bigint>>;
}

export const relayMigrations: readonly Migration[] = [
  {
    name: 'relay/001-checkpoint',
    sql: `CREATE TABLE IF NOT EXISTS annals_relay_checkpoint (
  name       text        PRIMARY KEY,
  position   bigint      NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);`,
  },
  relayOffsetsMigration,
];

/** Prune the recorded offsets every this many saves (a cheap indexed DELETE; rows are small). */
const PRUNE_EVERY = 500;

/**
 * The checkpoint lives in the event store's database when that is PostgreSQL/PGlite (so a backup of the
 * store carries its relay position); with EventStoreDB the composition root passes another PostgreSQL.
 * `name` lets several relays (e.g. one per bus cluster) keep separate positions.
 */
export async function sqlRelayCheckpoint(sql: SqlClient, name = 'relay'): Promise<RelayCheckpointStore> {
  await migrate(sql, relayMigrations);
  let saves = 0;
  return {
    async load() {
      const { rows } = await sql.query<{ position: string }>(`SELECT position::text AS position FROM annals_relay_checkpoint WHERE name = $1`, [name]);
      return rows[0] ? BigInt(rows[0].position) : undefined;
    },
    async loadOffsets() {
      return latestRelayOffsets(sql, name);
    },
    async save(position, offsets) {
      if (offsets !== undefined) {
        // Checkpoint and offsets in ONE statement: a batch is recorded for read-your-writes exactly when it counts as published.
        await sql.query(
          `WITH cp AS (
             INSERT INTO annals_relay_checkpoint(name, position) VALUES ($1, $2::bigint)
             ON CONFLICT (name) DO UPDATE SET position = GREATEST(annals_relay_checkpoint.position, EXCLUDED.position), updated_at = now()
             RETURNING 1)
           INSERT INTO annals_relay_offsets(name, position, offsets) SELECT $1, $2::bigint, $3::jsonb FROM cp
           ON CONFLICT (name, position) DO UPDATE SET offsets = EXCLUDED.offsets, created_at = now()`,
          [name, position.toString(), encodeOffsets(offsets)],
        );
        if (++saves % PRUNE_EVERY === 0) await pruneRelayOffsets(sql, name);
        return;
      }
      // GREATEST: a checkpoint never moves back, even if two relays ran by mistake.
      await sql.query(
        `INSERT INTO annals_relay_checkpoint(name, position) VALUES ($1, $2::bigint)
         ON CONFLICT (name) DO UPDATE SET position = GREATEST(annals_relay_checkpoint.position, EXCLUDED.position), updated_at = now()`,
        [name, position.toString()],
      );
    },
  };
}

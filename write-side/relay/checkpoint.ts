import type { SqlClient } from '../../platform/sql/client.js';
import { migrate, type Migration } from '../../platform/sql/migrate.js';
import type { Position } from '../../schemas/events/envelope.js';

/** Where the relay resumes: the global position of the last event whose publication the broker acknowledged. */
export interface RelayCheckpointStore {
  load(): Promise<Position | undefined>;
  save(position: Position): Promise<void>;
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
];

/**
 * The checkpoint lives in the event store's database when that is PostgreSQL/PGlite (so a backup of the
 * store carries its relay position); with EventStoreDB the composition root passes another PostgreSQL.
 * `name` lets several relays (e.g. one per bus cluster) keep separate positions.
 */
export async function sqlRelayCheckpoint(sql: SqlClient, name = 'relay'): Promise<RelayCheckpointStore> {
  await migrate(sql, relayMigrations);
  return {
    async load() {
      const { rows } = await sql.query<{ position: string }>(`SELECT position::text AS position FROM annals_relay_checkpoint WHERE name = $1`, [name]);
      return rows[0] ? BigInt(rows[0].position) : undefined;
    },
    async save(position) {
      // GREATEST: a checkpoint never moves back, even if two relays ran by mistake.
      await sql.query(
        `INSERT INTO annals_relay_checkpoint(name, position) VALUES ($1, $2::bigint)
         ON CONFLICT (name) DO UPDATE SET position = GREATEST(annals_relay_checkpoint.position, EXCLUDED.position), updated_at = now()`,
        [name, position.toString()],
      );
    },
  };
}

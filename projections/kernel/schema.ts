import type { Migration } from '../../platform/sql/migrate.js';

/**
 * Bookkeeping of the PostgreSQL read models, in the read database, beside the rows it covers, so every
 * batch writes rows + checkpoint + revision guard in ONE transaction (GUIDE rule 8).
 *
 * annals_projections             one row per read model: the live generation, its version and tables.
 *                                A batch reads it FOR SHARE; a blue-green swap updates it FOR UPDATE,
 *                                so a batch never straddles a swap.
 * annals_projection_generations  every generation (building / live / retired) with the last applied
 *                                global position: the replay's checkpoint, and for a Kafka-fed generation
 *                                the highest position applied (partitions interleave, so it is a
 *                                high-water mark there, not a "everything below is done" bound).
 * annals_projection_offsets      consumed offsets per topic/partition: where the consumer group member
 *                                resumes, so a message redelivered by the bus is skipped. Per read model,
 *                                not per generation: a swap keeps consuming where the live one was.
 * annals_projection_streams      the per-stream revision guard, per generation: an event whose revision
 *                                is <= the stored one was applied already (a relay republish arrives at a
 *                                new offset, which only this catches). Per generation, so a rebuild's
 *                                replay and the live consumer dedupe against each other after a swap.
 * annals_projection_generations.history_through (002)
 *                                for a generation filled from the event store in position order (a
 *                                rebuild's or a verification's shadow: guard.ts): every event of `$all` at
 *                                or below it is in the generation, and the fill wrote no guard rows; a
 *                                stream without a guard row is guarded by this position instead.
 */
export const projectionKernelMigrations: readonly Migration[] = [
  {
    name: 'projections/001-bookkeeping',
    sql: `
CREATE TABLE IF NOT EXISTS annals_projections (
  name            text        PRIMARY KEY,
  version         integer     NOT NULL,
  live_generation integer     NOT NULL,
  tables          text[]      NOT NULL,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS annals_projection_generations (
  name           text        NOT NULL,
  generation     integer     NOT NULL,
  version        integer     NOT NULL,
  status         text        NOT NULL CHECK (status IN ('building', 'live', 'retired')),
  position       bigint,
  events_applied bigint      NOT NULL DEFAULT 0,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (name, generation)
);
CREATE TABLE IF NOT EXISTS annals_projection_offsets (
  name        text        NOT NULL,
  topic       text        NOT NULL,
  partition   integer     NOT NULL,
  next_offset bigint      NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (name, topic, partition)
);
CREATE TABLE IF NOT EXISTS annals_projection_streams (
  name       text    NOT NULL,
  generation integer NOT NULL,
  stream_id  text    NOT NULL,
  revision   bigint  NOT NULL,
  PRIMARY KEY (name, generation, stream_id)
);
`,
  },
  {
    name: 'projections/002-history-through',
    sql: `ALTER TABLE annals_projection_generations ADD COLUMN IF NOT EXISTS history_through bigint;`,
  },
];

import type { AnnalsEventType, EventEnvelope } from '../../schemas/events/registry.js';

/** One parameterised SQL statement; a projection returns these and never touches a connection. */
export interface SqlStatement {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/**
 * Physical table names for one generation of a read model, by logical name: `{ contacts: 'contacts_g3' }`.
 * Rebuilds write a fresh generation beside the live one and swap views atomically (blue-green), so
 * projections never hard-code a table name.
 */
export type Tables = Readonly<Record<string, string>>;

/**
 * A PostgreSQL read model: a pure mapping from an event to statements (GUIDE rule 7), plus the DDL of
 * its tables. The runtime (consumer loop or replay) applies the statements of a batch in ONE transaction
 * together with the projection's checkpoint and its per-stream revision guard, so redeliveries and
 * duplicates change nothing; a projection does not need to be idempotent on its own.
 */
export interface PostgresProjection {
  /** Read model name: consumer group `annals.projector.<name>`, checkpoint key, `replay rebuild <name>`. */
  readonly name: string;
  /** Bump when the mapping or DDL changes meaning: a stored version that differs means "needs a rebuild". */
  readonly version: number;
  /** Logical table names this model owns; the public view of each has that name. */
  readonly tables: readonly string[];
  /** Event types it reacts to; others are skipped without a call. */
  readonly eventTypes: readonly AnnalsEventType[];
  /** CREATE TABLE / INDEX statements for one generation, using the physical names in `tables`. */
  readonly ddl: (tables: Tables) => string;
  readonly project: (event: EventEnvelope, tables: Tables) => readonly SqlStatement[];
}

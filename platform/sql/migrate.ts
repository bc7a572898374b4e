import { createHash } from 'node:crypto';
import type { SqlClient } from './client.js';

export interface Migration {
  /** Unique and ordered, e.g. `event-store/001-events`. Never edit an applied migration: add a new one. */
  readonly name: string;
  readonly sql: string;
  /**
   * An idempotent definition (`CREATE OR REPLACE FUNCTION`, a view), re-applied whenever its text changes,
   * so a changed function reaches databases made by an earlier version. Leave unset for everything that is
   * not safe to run twice (tables, columns, data changes): those run once and their text is then frozen.
   */
  readonly repeatable?: boolean;
}

/** An applied, non-repeatable migration whose text has changed since: the database and the code disagree. */
export class MigrationChangedError extends Error {
  readonly code = 'SQL_ERR_MIGRATION_CHANGED';
  constructor(readonly changed: readonly { name: string; recorded: string; current: string }[]) {
    super(
      `refusing to start: ${changed.length === 1 ? 'migration' : 'migrations'} ` +
        changed.map((c) => `${c.name} (applied as sha256 ${c.recorded.slice(0, 12)}…, now ${c.current.slice(0, 12)}…)`).join(', ') +
        ` changed after being applied to this database. An applied migration is never edited: restore its text and ` +
        `put the change in a new migration (an idempotent definition such as a function can be marked repeatable instead).`,
    );
    this.name = 'MigrationChangedError';
  }
}

/**
 * sha256 of the text, line endings normalised, so a checkout with CRLF line endings is not "changed".
 * Stored beside the name; `repeatable` migrations are re-applied when it differs.
 */
export function migrationChecksum(m: Migration): string {
  return createHash('sha256').update(m.sql.replace(/\r\n/g, '\n').trim()).digest('hex');
}

/**
 * Applies, in list order and in ONE transaction, every migration not yet recorded and every repeatable
 * one whose text changed, under an advisory lock so that several processes starting at once do not race.
 * Returns the names applied.
 *
 * Several lists (event store, relay, projections, …) share the `annals_migrations` table; names are
 * prefixed by area. Before anything is applied, every recorded non-repeatable migration of the list is
 * compared with its text: a mismatch refuses to start (MigrationChangedError) and applies nothing.
 * Rows recorded before checksums existed (NULL) adopt the current checksum; a repeatable one is re-applied
 * then, since nobody knows which text ran.
 */
export async function migrate(client: SqlClient, migrations: readonly Migration[]): Promise<string[]> {
  const names = new Set<string>();
  for (const m of migrations) {
    if (names.has(m.name)) throw new Error(`migration ${m.name} is listed twice`);
    names.add(m.name);
  }
  return client.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('annals_migrations'))`);
    await tx.exec(`CREATE TABLE IF NOT EXISTS annals_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
ALTER TABLE annals_migrations ADD COLUMN IF NOT EXISTS checksum text;`);
    const recorded = new Map(
      (await tx.query<{ name: string; checksum: string | null }>(`SELECT name, checksum FROM annals_migrations`)).rows.map((r) => [r.name, r.checksum]),
    );
    const changed = migrations
      .filter((m) => !m.repeatable)
      .map((m) => ({ name: m.name, recorded: recorded.get(m.name), current: migrationChecksum(m) }))
      .filter((c): c is { name: string; recorded: string; current: string } => typeof c.recorded === 'string' && c.recorded !== c.current);
    if (changed.length > 0) throw new MigrationChangedError(changed);

    const applied: string[] = [];
    for (const m of migrations) {
      const checksum = migrationChecksum(m);
      if (!recorded.has(m.name)) {
        await tx.exec(m.sql);
        await tx.query(`INSERT INTO annals_migrations(name, checksum) VALUES ($1, $2)`, [m.name, checksum]);
        applied.push(m.name);
      } else if (recorded.get(m.name) === checksum) {
        continue;
      } else if (m.repeatable) {
        await tx.exec(m.sql);
        await tx.query(`UPDATE annals_migrations SET checksum = $2, applied_at = now() WHERE name = $1`, [m.name, checksum]);
        applied.push(m.name);
      } else {
        // Recorded by a migrator that kept no checksums: adopt the current text.
        await tx.query(`UPDATE annals_migrations SET checksum = $2 WHERE name = $1`, [m.name, checksum]);
      }
    }
    return applied;
  });
}

import type { SqlClient } from './client.js';

export interface Migration {
  /** Unique and ordered, e.g. `event-store/001-events`. Never edit an applied migration: add a new one. */
  readonly name: string;
  readonly sql: string;
}

/**
 * Applies the migrations not yet recorded, in order, each in its own transaction, under an advisory lock
 * so that several processes starting at once do not race.
 */
export async function migrate(client: SqlClient, migrations: readonly Migration[]): Promise<string[]> {
  await client.query(`CREATE TABLE IF NOT EXISTS annals_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
  const applied: string[] = [];
  await client.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('annals_migrations'))`);
    const done = new Set((await tx.query<{ name: string }>(`SELECT name FROM annals_migrations`)).rows.map((r) => r.name));
    for (const m of migrations) {
      if (done.has(m.name)) continue;
      await tx.exec(m.sql);
      await tx.query(`INSERT INTO annals_migrations(name) VALUES ($1)`, [m.name]);
      applied.push(m.name);
    }
  });
  return applied;
}

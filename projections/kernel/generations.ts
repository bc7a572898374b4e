import type { SqlClient, SqlExecutor } from '../../platform/sql/client.js';
import { migrate } from '../../platform/sql/migrate.js';
import { ProjectionErrorCode } from './errors.js';
import type { PostgresProjection, Tables } from './projection.js';
import { projectionKernelMigrations } from './schema.js';

/** One generation's physical tables: `contacts` → `contacts_g3`. Views named after the logical tables point at the live one. */
export function tablesOf(projection: Pick<PostgresProjection, 'tables'>, generation: number): Tables {
  return Object.fromEntries(projection.tables.map((t) => [t, `${t}_g${generation}`]));
}

export interface LiveGeneration {
  readonly generation: number;
  readonly version: number;
  readonly tables: Tables;
}

export interface Registration extends LiveGeneration {
  /** The code's version differs from the live generation's: rebuild (blue-green) before trusting the rows. */
  readonly needsRebuild: boolean;
  /** True when this call created generation 1. */
  readonly created: boolean;
}

const quoteIdent = (name: string): string => {
  // Table names come from code, never from input; still refuse anything that is not a plain identifier.
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain SQL identifier: ${name}`);
  return `"${name}"`;
};

const lock = (tx: SqlExecutor, name: string) => tx.query(`SELECT pg_advisory_xact_lock(hashtext('annals_projection:' || $1))`, [name]);

/**
 * Makes sure the bookkeeping exists and the read model has a live generation. The first time, it creates
 * generation 1 (tables + views) at the code's version. Idempotent; safe when several processes start at once.
 */
export async function registerProjection(sql: SqlClient, projection: PostgresProjection): Promise<Registration> {
  await migrate(sql, projectionKernelMigrations);
  return sql.transaction(async (tx) => {
    await lock(tx, projection.name);
    const live = await readLive(tx, projection.name, false);
    if (live) return { ...live, needsRebuild: live.version !== projection.version, created: false };
    const tables = tablesOf(projection, 1);
    await tx.exec(projection.ddl(tables));
    await tx.query(`INSERT INTO annals_projection_generations(name, generation, version, status) VALUES ($1, 1, $2, 'live')`, [projection.name, projection.version]);
    await tx.query(`INSERT INTO annals_projections(name, version, live_generation, tables) VALUES ($1, $2, 1, $3::text[])`, [
      projection.name,
      projection.version,
      projection.tables,
    ]);
    await replaceViews(tx, projection.tables, tables);
    return { generation: 1, version: projection.version, tables, needsRebuild: false, created: true };
  });
}

/** The live generation; `forShare` makes a batch hold off a concurrent swap until it commits. */
export async function readLive(tx: SqlExecutor, name: string, forShare = true): Promise<LiveGeneration | undefined> {
  const { rows } = await tx.query<{ version: number; live_generation: number; tables: string[] }>(
    `SELECT version, live_generation, tables FROM annals_projections WHERE name = $1${forShare ? ' FOR SHARE' : ''}`,
    [name],
  );
  const row = rows[0];
  if (!row) return undefined;
  return { generation: row.live_generation, version: row.version, tables: tablesOf({ tables: row.tables }, row.live_generation) };
}

export async function needsRebuild(sql: SqlClient, projection: PostgresProjection): Promise<boolean> {
  const live = await readLive(sql, projection.name, false);
  return live === undefined || live.version !== projection.version;
}

/** A fresh generation (tables created, status `building`) for a rebuild or a verification replay. */
export async function createGeneration(sql: SqlClient, projection: PostgresProjection): Promise<{ generation: number; tables: Tables }> {
  await migrate(sql, projectionKernelMigrations);
  return sql.transaction(async (tx) => {
    await lock(tx, projection.name);
    const { rows } = await tx.query<{ g: number | null }>(`SELECT max(generation) AS g FROM annals_projection_generations WHERE name = $1`, [projection.name]);
    const generation = (rows[0]?.g ?? 0) + 1;
    const tables = tablesOf(projection, generation);
    await tx.exec(projection.ddl(tables));
    await tx.query(`INSERT INTO annals_projection_generations(name, generation, version, status) VALUES ($1, $2, $3, 'building')`, [
      projection.name,
      generation,
      projection.version,
    ]);
    return { generation, tables };
  });
}

/**
 * Makes `generation` live: bookkeeping and views change in one transaction (PostgreSQL DDL is
 * transactional), so readers see the old or the new generation, never a mix. `beforeSwap` runs inside that
 * transaction while the live consumer is held off (FOR UPDATE), e.g. to apply the last events of a rebuild.
 */
export async function swapGeneration(
  sql: SqlClient,
  projection: PostgresProjection,
  generation: number,
  beforeSwap?: (tx: SqlExecutor) => Promise<void>,
): Promise<void> {
  await sql.transaction(async (tx) => {
    await lock(tx, projection.name);
    await tx.query(`SELECT 1 FROM annals_projections WHERE name = $1 FOR UPDATE`, [projection.name]);
    if (beforeSwap) await beforeSwap(tx);
    const tables = tablesOf(projection, generation);
    await tx.query(`UPDATE annals_projection_generations SET status = 'retired', updated_at = now() WHERE name = $1 AND status = 'live'`, [projection.name]);
    await tx.query(`UPDATE annals_projection_generations SET status = 'live', updated_at = now() WHERE name = $1 AND generation = $2`, [projection.name, generation]);
    await tx.query(
      `INSERT INTO annals_projections(name, version, live_generation, tables) VALUES ($1, $2, $3, $4::text[])
       ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version, live_generation = EXCLUDED.live_generation, tables = EXCLUDED.tables, updated_at = now()`,
      [projection.name, projection.version, generation, projection.tables],
    );
    await replaceViews(tx, projection.tables, tables);
  });
}

/** Drops a retired (or abandoned building) generation's tables and bookkeeping. Never the live one. */
export async function dropGeneration(sql: SqlClient, projection: PostgresProjection, generation: number): Promise<void> {
  await sql.transaction(async (tx) => {
    await lock(tx, projection.name);
    const live = await readLive(tx, projection.name, false);
    if (live?.generation === generation) throw Object.assign(new Error(`generation ${generation} of ${projection.name} is live`), { code: ProjectionErrorCode.GenerationLive });
    for (const t of Object.values(tablesOf(projection, generation))) await tx.exec(`DROP TABLE IF EXISTS ${quoteIdent(t)} CASCADE`);
    await tx.query(`DELETE FROM annals_projection_streams WHERE name = $1 AND generation = $2`, [projection.name, generation]);
    await tx.query(`DELETE FROM annals_projection_generations WHERE name = $1 AND generation = $2`, [projection.name, generation]);
  });
}

async function replaceViews(tx: SqlExecutor, logical: readonly string[], tables: Tables): Promise<void> {
  for (const t of logical) {
    // DROP + CREATE rather than CREATE OR REPLACE: a new version may change columns, which REPLACE refuses.
    await tx.exec(`DROP VIEW IF EXISTS ${quoteIdent(t)}; CREATE VIEW ${quoteIdent(t)} AS SELECT * FROM ${quoteIdent(tables[t]!)};`);
  }
}

import type { SqlClient, SqlExecutor } from '../../platform/sql/client.js';
import { tablesOf } from '../../projections/kernel/generations.js';
import type { ReadModelTarget } from '../../projections/kernel/target.js';
import type { PostgresReadModelTarget } from '../../projections/postgres/target.js';
import { fillShadows, openShadows, type FillOptions, type ModelRun } from './rebuild.js';

/**
 * `annals replay verify <model…|all>`: replays the whole history into a temporary generation of each model
 * (one pass for all of them, as a rebuild does) and lists how the live model differs from it, row by row
 * with the row's key: missing (the replay has it, live does not), extra (live has it, the replay does not),
 * different (both, with the columns that differ). The temporary generation is dropped at the end.
 *
 * The live model keeps consuming meanwhile, so a row can differ only because live is a few events behind
 * or ahead of the replay. Differences found at first are therefore checked again once the replay has caught
 * up with the head again and the live model has reached that head (bounded by `settleMs`): what remains is
 * real. PostgreSQL models are compared here, Elasticsearch and the ClickHouse fact table through their
 * comparators (verify-elasticsearch.ts, verify-clickhouse.ts); a model with no comparator is reported as not
 * comparable (and verify exits non-zero).
 */
export type RowDifference =
  | { readonly kind: 'missing'; readonly table: string; readonly key: Record<string, unknown> }
  | { readonly kind: 'extra'; readonly table: string; readonly key: Record<string, unknown> }
  | { readonly kind: 'different'; readonly table: string; readonly key: Record<string, unknown>; readonly columns: readonly string[] };

/**
 * Compares a model's live generation with the temporary one, for a store whose rows this module cannot read
 * itself (Elasticsearch: verify-elasticsearch.ts; ClickHouse: verify-clickhouse.ts). `rows` counts the live side
 * per table/index.
 */
export type Comparator = (
  liveGeneration: number,
  shadowGeneration: number,
  maxListed: number,
) => Promise<{ rows: Record<string, number>; differences: RowDifference[]; unlisted: number }>;

export interface ModelVerification {
  readonly name: string;
  readonly store: string;
  readonly comparable: boolean;
  /** Rows compared per table (live side). */
  readonly rows: Readonly<Record<string, number>>;
  readonly differences: readonly RowDifference[];
  /** Differences beyond `maxListed` per table are counted, not listed. */
  readonly unlisted: number;
}

export interface VerifyReport {
  readonly models: readonly ModelVerification[];
  readonly events: number;
  readonly elapsedMs: number;
}

const isPostgres = (t: ReadModelTarget): t is PostgresReadModelTarget => t.store === 'postgres' && 'projection' in t && 'sql' in t;

export async function verifyModels(
  targets: readonly ReadModelTarget[],
  options: Omit<FillOptions, 'until'> & {
    readonly controlSql: SqlClient;
    readonly settleMs?: number;
    readonly maxListed?: number;
    /** Comparators of models of other stores, by model name. */
    readonly comparators?: ReadonlyMap<string, Comparator>;
  },
): Promise<VerifyReport> {
  const started = Date.now();
  const runs = await openShadows(targets, { resume: false });
  try {
    let events = (await fillShadows(runs, options)).events;
    let diffs = await compareAll(runs, options.maxListed ?? 100, options.comparators);
    if (diffs.some((d) => d.differences.length > 0 || d.unlisted > 0)) {
      // Settle: the replay to the head again, the live models to that head, then compare once more.
      const again = await fillShadows(runs, options);
      events += again.events;
      if (again.head !== undefined) await waitForLive(options.controlSql, runs, again.head, options.settleMs ?? 10_000);
      diffs = await compareAll(runs, options.maxListed ?? 100, options.comparators);
    }
    return { models: diffs, events, elapsedMs: Date.now() - started };
  } finally {
    for (const r of runs) await r.target.drop(r.shadow).catch(() => undefined);
  }
}

async function waitForLive(sql: SqlClient, runs: readonly ModelRun[], head: bigint, settleMs: number): Promise<void> {
  const deadline = Date.now() + settleMs;
  while (Date.now() < deadline) {
    const { rows } = await sql.query<{ name: string; p: string | null }>(
      `SELECT p.name, g.position::text AS p FROM annals_projections p JOIN annals_projection_generations g ON g.name = p.name AND g.generation = p.live_generation WHERE p.name = ANY($1::text[])`,
      [runs.map((r) => r.target.name)],
    );
    if (rows.length === runs.length && rows.every((r) => r.p !== null && BigInt(r.p) >= head)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function compareAll(runs: readonly ModelRun[], maxListed: number, comparators?: ReadonlyMap<string, Comparator>): Promise<ModelVerification[]> {
  const out: ModelVerification[] = [];
  for (const run of runs) {
    const target = run.target;
    const comparator = comparators?.get(target.name);
    if (comparator) {
      const live = await target.live();
      if (!live) throw new Error(`read model ${target.name} is not registered`);
      out.push({ name: target.name, store: target.store, comparable: true, ...(await comparator(live.generation, run.shadow.generation, maxListed)) });
      continue;
    }
    if (!isPostgres(target)) {
      out.push({ name: target.name, store: target.store, comparable: false, rows: {}, differences: [], unlisted: 0 });
      continue;
    }
    const live = await target.live();
    if (!live) throw new Error(`read model ${target.name} is not registered`);
    const liveTables = tablesOf(target.projection, live.generation);
    const shadowTables = tablesOf(target.projection, run.shadow.generation);
    const differences: RowDifference[] = [];
    const rows: Record<string, number> = {};
    let unlisted = 0;
    for (const logical of target.projection.tables) {
      const r = await compareTables(target.sql, logical, liveTables[logical]!, shadowTables[logical]!, maxListed);
      differences.push(...r.differences);
      rows[logical] = r.rows;
      unlisted += r.unlisted;
    }
    out.push({ name: target.name, store: target.store, comparable: true, rows, differences, unlisted });
  }
  return out;
}

const ident = (name: string): string => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain SQL identifier: ${name}`);
  return `"${name}"`;
};

/**
 * Row-by-row difference of two generations of one table, on the server: a FULL JOIN on the primary key
 * (a table without one is compared as whole rows), rows compared as jsonb so every column type compares.
 */
async function compareTables(sql: SqlExecutor, logical: string, live: string, shadow: string, maxListed: number): Promise<{ differences: RowDifference[]; rows: number; unlisted: number }> {
  const { rows: keyRows } = await sql.query<{ attname: string }>(
    `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
      WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`,
    [live],
  );
  const keys = keyRows.map((k) => k.attname);
  const count = Number((await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${ident(live)}`)).rows[0]!.n);
  const keyExpr = (alias: string) => (keys.length > 0 ? `jsonb_build_object(${keys.map((k) => `'${k}', ${alias}.${ident(k)}`).join(', ')})` : `to_jsonb(${alias})`);
  const join = keys.length > 0 ? keys.map((k) => `l.${ident(k)} = s.${ident(k)}`).join(' AND ') : 'to_jsonb(l) = to_jsonb(s)';
  const { rows } = await sql.query<{ kind: 'missing' | 'extra' | 'different'; key: Record<string, unknown>; l: Record<string, unknown> | null; s: Record<string, unknown> | null; total: string }>(
    `SELECT CASE WHEN l_row IS NULL THEN 'missing' WHEN s_row IS NULL THEN 'extra' ELSE 'different' END AS kind,
            CASE WHEN l_row IS NULL THEN s_key ELSE l_key END AS key, l_row AS l, s_row AS s, count(*) OVER ()::text AS total
       FROM (SELECT ${keyExpr('l')} AS l_key, ${keyExpr('s')} AS s_key, CASE WHEN l IS NULL THEN NULL ELSE to_jsonb(l) END AS l_row,
                    CASE WHEN s IS NULL THEN NULL ELSE to_jsonb(s) END AS s_row
               FROM ${ident(live)} l FULL JOIN ${ident(shadow)} s ON ${join}
              WHERE l IS NULL OR s IS NULL OR to_jsonb(l) IS DISTINCT FROM to_jsonb(s)) d
      ORDER BY 1, (CASE WHEN l_row IS NULL THEN s_key ELSE l_key END)::text LIMIT $1`,
    [maxListed],
  );
  const differences: RowDifference[] = rows.map((r) => {
    if (r.kind !== 'different') return { kind: r.kind, table: logical, key: r.key };
    const columns = [...new Set([...Object.keys(r.l ?? {}), ...Object.keys(r.s ?? {})])].filter((c) => JSON.stringify(r.l?.[c]) !== JSON.stringify(r.s?.[c]));
    return { kind: 'different', table: logical, key: r.key, columns };
  });
  const total = rows[0] ? Number(rows[0].total) : 0;
  return { differences, rows: count, unlisted: Math.max(0, total - differences.length) };
}

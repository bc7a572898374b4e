import type { SqlClient } from '../../platform/sql/client.js';
import type { EventEnvelope } from '../../schemas/events/registry.js';
import type { Tables } from '../kernel/projection.js';
import { postgresProjections, type PostgresReadModel } from '../postgres/index.js';
import type { ReadModelTarget } from './round-trip.js';

/**
 * The PostgreSQL read models as a round-trip target (test helper): every projection's tables, created
 * once under a fresh prefix (the runtime's generations work the same way), each event applied by every
 * projection that handles it in its own transaction, as each projector does. Records are read back with
 * `to_jsonb` in a UTC session, so what is compared is PostgreSQL's own rendering (text exactly as stored,
 * instants with their offset, bigint as JSON numbers), not a driver's conversion.
 */
export interface PostgresTarget extends ReadModelTarget {
  /** Drops the tables (for a shared real server). */
  drop(): Promise<void>;
}

const snake = (camel: string) => camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camel = (snakeName: string) => snakeName.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** PostgreSQL's SQLSTATE, when the error carries one (pg and PGlite both name it `code`). */
const sqlState = (e: unknown): string => (e !== null && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : '?');

export async function postgresTarget(
  db: SqlClient,
  options: { prefix: string; projections?: readonly PostgresReadModel[] },
): Promise<PostgresTarget> {
  const projections = options.projections ?? postgresProjections;
  const owner = new Map<string, { projection: PostgresReadModel; tables: Tables }>();
  const tablesOf = new Map<PostgresReadModel, Tables>();
  for (const projection of projections) {
    const tables: Tables = Object.fromEntries(projection.tables.map((t) => [t, `${options.prefix}_${t}`]));
    tablesOf.set(projection, tables);
    for (const t of projection.tables) owner.set(t, { projection, tables });
    await db.exec(projection.ddl(tables));
  }
  return {
    name: 'postgres',
    async reset() {
      const all = projections.flatMap((p) => p.tables.map((t) => tablesOf.get(p)![t]!));
      await db.exec(`TRUNCATE ${all.join(', ')}`);
    },
    async apply(events: readonly EventEnvelope[]) {
      for (const event of events) {
        for (const projection of projections) {
          if (!projection.eventTypes.includes(event.type)) continue;
          const statements = projection.project(event, tablesOf.get(projection)!);
          try {
            await db.transaction(async (tx) => {
              for (const s of statements) await tx.query(s.sql, s.params);
            });
          } catch (e) {
            throw new Error(
              `PostgreSQL (${projection.name}) refused ${event.type} at position ${event.position}: SQLSTATE ${sqlState(e)} ${(e as Error).message}\n` +
                `data: ${JSON.stringify(event.data)}`,
              { cause: e },
            );
          }
        }
      }
    },
    async read(model, key) {
      const o = owner.get(model);
      if (!o) throw new Error(`no PostgreSQL read model has a table ${model}`);
      const physical = o.tables[model]!;
      const columns = Object.keys(key).map(snake);
      const where = columns.map((c, i) => `${c} = $${i + 1}`).join(' AND ');
      return db.transaction(async (tx) => {
        await tx.query(`SET LOCAL TimeZone = 'UTC'`);
        const r = await tx.query<{ row: Record<string, unknown> | string }>(`SELECT to_jsonb(t) AS row FROM ${physical} t WHERE ${where}`, Object.values(key).map(String));
        if (r.rows.length > 1) throw new Error(`${model} ${JSON.stringify(key)} is not a key: ${r.rows.length} rows`);
        const row = r.rows[0]?.row;
        if (row === undefined) return undefined;
        const record = typeof row === 'string' ? (JSON.parse(row) as Record<string, unknown>) : row;
        return Object.fromEntries(Object.entries(record).map(([k, v]) => [camel(k), v]));
      });
    },
    async drop() {
      for (const projection of projections) {
        for (const t of projection.tables) await db.exec(`DROP TABLE IF EXISTS ${tablesOf.get(projection)![t]} CASCADE`);
      }
    },
  };
}

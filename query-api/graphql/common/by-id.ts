import type { BatchLoader, QueryContext } from '../../context.js';

export interface ByIdSpec {
  /** Entity name for the security log line (`contact`). */
  readonly entity: string;
  readonly view: string;
  readonly idColumn: string;
  /** The select list over alias `t` (default `t.*`). */
  readonly select?: string;
}

/**
 * Rows of one view by id for the caller's tenant: ONE statement for every id asked during a request.
 * An id found only in another tenant answers undefined, exactly like an unknown id, and is logged as a
 * security event; finding that out costs a second statement only when some id was not found.
 */
export function byIdLoader<Row extends object>(ctx: QueryContext, spec: ByIdSpec): BatchLoader<string, Row>;
/** The same, answering each row as `node(row)` (the object GraphQL reads, e.g. deals/nodes.ts). */
export function byIdLoader<Row extends object, Node>(ctx: QueryContext, spec: ByIdSpec, node: (row: Row) => Node): BatchLoader<string, Node>;
export function byIdLoader<Row extends object, Node>(ctx: QueryContext, spec: ByIdSpec, node?: (row: Row) => Node): BatchLoader<string, Row | Node> {
  return ctx.batch(`${spec.entity}:by-id`, async (ids: readonly string[]) => {
    const { rows } = await ctx.sql.query<Row>(`SELECT ${spec.select ?? 't.*'} FROM ${spec.view} t WHERE t.tenant_id = $1 AND t.${spec.idColumn} = ANY($2::uuid[])`, [ctx.tenantId, ids]);
    const found = new Map<string, Row | Node>(rows.map((r) => [String((r as Record<string, unknown>)[spec.idColumn]), node ? node(r) : r]));
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length > 0) {
      const other = await ctx.sql.query<{ id: string }>(
        `SELECT DISTINCT t.${spec.idColumn}::text AS id FROM ${spec.view} t WHERE t.tenant_id <> $1 AND t.${spec.idColumn} = ANY($2::uuid[])`,
        [ctx.tenantId, missing],
      );
      for (const r of other.rows) ctx.crossTenant(spec.entity, r.id);
    }
    return found;
  });
}

import { createHash } from 'node:crypto';
import type { QueryLimits } from '../../config.js';
import type { QueryContext } from '../../context.js';
import { QueryError, QueryErrorCode } from '../../errors.js';

/**
 * Relay-style connections over a read-model view, with keyset pagination.
 *
 * - Order: one sort expression plus the entity id as tie-breaker, both in the same direction, so the order
 *   is total and stable while rows change (a row updated between pages moves, it is never duplicated by
 *   OFFSET arithmetic).
 * - Cursor: opaque base64url of `{ v, f, k }`: `k` the row's sort key and id, `f` a fingerprint of the
 *   connection, its filter and its order. A cursor is only accepted by the query that issued it: the same
 *   connection with the same filter and order (QUERY_ERR_CURSOR_MISMATCH otherwise), because resuming
 *   another order's key would skip or repeat rows silently.
 * - first/after pages forward, last/before backward; both bounds may be given (Relay's algorithm); first
 *   and last together are refused. Neither: first = QUERY_DEFAULT_PAGE_SIZE.
 * - hasPreviousPage when paging forward (and hasNextPage when paging backward) is `true` exactly when the
 *   request gave a cursor bound on that side, as the Relay spec allows; the other one is exact (limit+1).
 * - totalCount is counted only when selected (a lazy field), with the filter and without the cursor.
 */

export interface PageArgs {
  readonly first?: number | null;
  readonly after?: string | null;
  readonly last?: number | null;
  readonly before?: string | null;
}

export type SortCast = 'timestamptz' | 'bigint' | 'numeric' | 'int' | 'date' | 'text';

export interface OrderSpec {
  /** The public name of the order (`UPDATED_AT`), part of the fingerprint. */
  readonly name: string;
  /** SQL of the sort key over alias `t`, never NULL (COALESCE nullable columns). */
  readonly expr: string;
  readonly cast: SortCast;
  readonly direction: 'ASC' | 'DESC';
}

export interface ConnectionSpec<Row = unknown, Node = Row> {
  /** The connection's name (`contacts`), part of the fingerprint. */
  readonly name: string;
  /** The view read (a read-model name from schemas/read-models), aliased `t`. */
  readonly view: string;
  readonly idColumn: string;
  /** The select list over alias `t` (default `t.*`): add casts a driver would otherwise turn into local-time Dates (date columns). */
  readonly select?: string;
  /** The object GraphQL reads for a row (e.g. deals/nodes.ts), default the row itself. */
  readonly node?: (row: Row) => Node;
}

/** Parameter collector: `p(value)` returns `$n`. */
export class Params {
  readonly values: unknown[] = [];
  p(value: unknown, cast?: string): string {
    this.values.push(value);
    return `$${this.values.length}${cast ? `::${cast}` : ''}`;
  }
}

export interface Edge<Row> {
  readonly cursor: string;
  readonly node: Row;
}

export interface Connection<Row> {
  readonly edges: readonly Edge<Row>[];
  readonly nodes: readonly Row[];
  readonly pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  /** Runs the count when (and only when) the field is selected. */
  readonly totalCount: () => Promise<number>;
}

interface CursorBody {
  readonly v: 1;
  readonly f: string;
  readonly k: readonly [string, string];
}

export function fingerprint(spec: ConnectionSpec<never, unknown>, filter: unknown, order: OrderSpec): string {
  return createHash('sha256').update(JSON.stringify([spec.name, canonical(filter), order.name, order.direction])).digest('base64url').slice(0, 16);
}

/** JSON with sorted keys and without null/undefined members, so `{a:1,b:null}` and `{a:1}` are one filter. */
function canonical(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== null && v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [k, canonical(v)]),
    );
  }
  return value;
}

export function encodeCursor(f: string, sortKey: string, id: string): string {
  const body: CursorBody = { v: 1, f, k: [sortKey, id] };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

export function decodeCursor(cursor: string, expected: string, field: string): readonly [string, string] {
  const bad = () => new QueryError(QueryErrorCode.BadCursor, `${field} is not a cursor issued by this API`, { field });
  if (cursor.length > 512 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const b = body as Partial<CursorBody>;
  if (b === null || typeof b !== 'object' || b.v !== 1 || typeof b.f !== 'string' || !Array.isArray(b.k) || b.k.length !== 2 || !b.k.every((x) => typeof x === 'string' && x.length <= 200)) {
    throw bad();
  }
  if (b.f !== expected) {
    throw new QueryError(QueryErrorCode.CursorMismatch, `${field} was issued for another query (another connection, filter or order); start again without it`, { field });
  }
  return b.k as readonly [string, string];
}

export interface PageRequest {
  readonly limit: number;
  readonly backward: boolean;
  readonly after?: readonly [string, string];
  readonly before?: readonly [string, string];
}

export function pageRequest(args: PageArgs, limits: QueryLimits, fp: string, field: string): PageRequest {
  const { first, last } = args;
  if (first != null && last != null) {
    throw new QueryError(QueryErrorCode.PageSize, `${field}: give first or last, not both`, { field: `${field}.first`, rule: 'first-xor-last' });
  }
  for (const [name, n] of [['first', first], ['last', last]] as const) {
    if (n != null && (n < 0 || n > limits.maxPageSize)) {
      throw new QueryError(QueryErrorCode.PageSize, `${field}.${name} must be between 0 and ${limits.maxPageSize} (QUERY_MAX_PAGE_SIZE)`, {
        field: `${field}.${name}`,
        max: limits.maxPageSize,
        limit: 'QUERY_MAX_PAGE_SIZE',
      });
    }
  }
  const after = args.after != null ? decodeCursor(args.after, fp, `${field}.after`) : undefined;
  const before = args.before != null ? decodeCursor(args.before, fp, `${field}.before`) : undefined;
  const backward = last != null;
  return { limit: (backward ? last : first) ?? limits.defaultPageSize, backward, ...(after ? { after } : {}), ...(before ? { before } : {}) };
}

/**
 * One page of `spec` for the caller's tenant: `where` (SQL over alias `t`, parameters in `params`) is the
 * filter; the tenant predicate is added here, so no connection can forget it.
 */
export async function page<Row extends object, Node = Row>(
  ctx: QueryContext,
  spec: ConnectionSpec<Row, Node>,
  order: OrderSpec,
  filter: unknown,
  args: PageArgs,
  field: string,
  where: (params: Params) => string[],
): Promise<Connection<Node>> {
  const fp = fingerprint(spec, filter, order);
  const req = pageRequest(args, ctx.limits, fp, field);
  const build = (params: Params) => [`t.tenant_id = ${params.p(ctx.tenantId)}`, ...where(params)];

  const totalCount = once(async () => {
    const params = new Params();
    const { rows } = await ctx.sql.query<{ n: string | number }>(`SELECT count(*)::int8::text AS n FROM ${spec.view} t WHERE ${build(params).join(' AND ')}`, params.values);
    return Number(rows[0]?.n ?? 0);
  });
  if (req.limit === 0) {
    return { edges: [], nodes: [], pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null }, totalCount };
  }

  const params = new Params();
  const conds = build(params);
  const id = `t.${spec.idColumn}`;
  // "Greater" in the order's own direction: DESC pages walk to smaller keys.
  const cmp = (forward: boolean) => ((order.direction === 'DESC') === forward ? '<' : '>');
  if (req.after) conds.push(`(${order.expr}, ${id}) ${cmp(true)} (${params.p(req.after[0], order.cast)}, ${params.p(req.after[1], 'uuid')})`);
  if (req.before) conds.push(`(${order.expr}, ${id}) ${cmp(false)} (${params.p(req.before[0], order.cast)}, ${params.p(req.before[1], 'uuid')})`);
  const dir = req.backward ? (order.direction === 'DESC' ? 'ASC' : 'DESC') : order.direction;
  const sql =
    `SELECT ${spec.select ?? 't.*'}, to_json(${order.expr}) #>> '{}' AS "__sort" FROM ${spec.view} t WHERE ${conds.join(' AND ')} ` +
    `ORDER BY ${order.expr} ${dir}, ${id} ${dir} LIMIT ${params.p(req.limit + 1)}`;
  let rows: (Row & { __sort: string })[];
  try {
    rows = (await ctx.sql.query<Row & { __sort: string }>(sql, params.values)).rows;
  } catch (err) {
    // A forged cursor with the right fingerprint and a key that does not cast (22xxx: data exception).
    if (isDataException(err) && (req.after || req.before)) throw new QueryError(QueryErrorCode.BadCursor, `${field}: the cursor's key is not valid`, { field });
    throw err;
  }
  const more = rows.length > req.limit;
  if (more) rows = rows.slice(0, req.limit);
  if (req.backward) rows.reverse();
  // The row keeps its __sort column (no field reads it): copying each row without it (object rest) cost more than the page's cursors.
  const node = spec.node ?? ((r: Row) => r as unknown as Node);
  const edges = rows.map((r) => ({ cursor: encodeCursor(fp, r.__sort, String((r as Record<string, unknown>)[spec.idColumn])), node: node(r) }));
  return {
    edges,
    nodes: edges.map((e) => e.node),
    pageInfo: {
      hasNextPage: req.backward ? req.before !== undefined : more,
      hasPreviousPage: req.backward ? more : req.after !== undefined,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount,
  };
}

function isDataException(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('22');
}

function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

/** The SDL shared by every connection: PageInfo. Each entity declares its own `XConnection` and `XEdge`. */
export const CONNECTION_TYPE_DEFS = /* GraphQL */ `
"Relay PageInfo. Cursors are opaque and only valid for the query (connection, filter, order) that issued them."
type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

enum SortDirection {
  ASC
  DESC
}
`;

/** Resolvers of `XConnection.totalCount`: runs the count lazily. */
export const connectionResolvers = {
  totalCount: (c: Connection<Record<string, unknown>>) => c.totalCount(),
};

/** The order a connection was asked for (`orderBy`), or its default field, DESC. */
export function orderOf(orders: Record<string, { expr: string; cast: OrderSpec['cast'] }>, given: { field: string; direction: 'ASC' | 'DESC' } | null | undefined, fallback: string): OrderSpec {
  const name = given?.field ?? fallback;
  const o = orders[name]!;
  return { name, expr: o.expr, cast: o.cast, direction: given?.direction ?? 'DESC' };
}


import {
  Kind,
  getNamedType,
  isObjectType,
  isInterfaceType,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import type { QueryLimits } from './config.js';
import { QueryError, QueryErrorCode } from './errors.js';

/**
 * Depth and cost limits, checked before execution on every request (with its variables: `first: $n`
 * counts what $n is), so one query cannot make the API read a million rows or nest without end.
 *
 * - depth: the deepest chain of fields (fragments expanded; introspection's `__` fields not counted, so
 *   GraphiQL's own schema query works under any sensible limit).
 * - cost: every field costs 1; a field with a `first`/`last` argument (a connection or a relationship
 *   list) multiplies the cost of what is selected under it by that number (its default when not given).
 *   `deals(first: 50) { edges { node { name contact { email } } } }` costs 1 + 50 × (1 + 1 + 1 + (1 + 1)) = 251.
 * Every operation of the document is measured and the largest counts (conservative, and independent of
 * which operation the request names).
 */
export interface QueryMeasure {
  readonly depth: number;
  readonly cost: number;
}

export function measure(schema: GraphQLSchema, document: DocumentNode, variables: Readonly<Record<string, unknown>> | undefined, defaultPageSize: number): QueryMeasure {
  return measured(schema, document, variables, defaultPageSize).measure;
}

/** The measure, and whether it read a variable (then it holds for these variables only). */
function measured(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Readonly<Record<string, unknown>> | undefined,
  defaultPageSize: number,
): { measure: QueryMeasure; readVariables: boolean } {
  let readVariables = false;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  let depth = 0;
  let cost = 0;
  for (const d of document.definitions) {
    if (d.kind !== Kind.OPERATION_DEFINITION) continue;
    const root = d.operation === 'query' ? schema.getQueryType() : d.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
    const m = walk(d.selectionSet, root ?? undefined, new Set());
    depth = Math.max(depth, m.depth);
    cost = Math.max(cost, m.cost);
  }
  return { measure: { depth, cost }, readVariables };

  function walk(set: SelectionSetNode, parent: GraphQLNamedType | undefined, seen: ReadonlySet<string>): QueryMeasure {
    let d = 0;
    let c = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        if (sel.name.value.startsWith('__')) continue;
        const m = fieldMeasure(sel, parent, seen);
        d = Math.max(d, m.depth);
        c += m.cost;
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const type = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : parent;
        const m = walk(sel.selectionSet, type ?? undefined, seen);
        d = Math.max(d, m.depth);
        c += m.cost;
      } else {
        const name = sel.name.value;
        const frag = fragments.get(name);
        if (!frag || seen.has(name)) continue; // unknown or cyclic: validation refuses it anyway
        const m = walk(frag.selectionSet, schema.getType(frag.typeCondition.name.value) ?? undefined, new Set([...seen, name]));
        d = Math.max(d, m.depth);
        c += m.cost;
      }
    }
    return { depth: d, cost: c };
  }

  function fieldMeasure(field: FieldNode, parent: GraphQLNamedType | undefined, seen: ReadonlySet<string>): QueryMeasure {
    const def = parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[field.name.value] : undefined;
    if (!field.selectionSet) return { depth: 1, cost: 1 };
    const child = walk(field.selectionSet, def ? getNamedType(def.type) : undefined, seen);
    let multiplier = 1;
    const pageArg = def?.args.find((a) => a.name === 'first') ?? def?.args.find((a) => a.name === 'last');
    if (pageArg) {
      const given = field.arguments?.find((a) => a.name.value === 'first' || a.name.value === 'last');
      if (given?.value.kind === Kind.VARIABLE) readVariables = true;
      const n = given ? valueOf(given.value, variables) : typeof pageArg.defaultValue === 'number' ? pageArg.defaultValue : defaultPageSize;
      multiplier = typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : n === 0 ? 0 : defaultPageSize;
    }
    return { depth: 1 + child.depth, cost: 1 + multiplier * child.cost };
  }
}

function valueOf(node: ValueNode, variables: Readonly<Record<string, unknown>> | undefined): unknown {
  if (node.kind === Kind.INT) return Number(node.value);
  if (node.kind === Kind.VARIABLE) return variables?.[node.name.value];
  if (node.kind === Kind.NULL) return undefined;
  return undefined;
}

/**
 * `enforceLimits` for one service: a document's measure is remembered (per parsed document, which
 * mercurius caches by query text) unless it read a variable (`first: $n`), so a query sent again is not
 * walked again; a measure that depends on the variables is computed on every request, as before.
 */
export function limitEnforcer(limits: QueryLimits): (schema: GraphQLSchema, document: DocumentNode, variables: Readonly<Record<string, unknown>> | undefined) => QueryMeasure {
  const known = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, QueryMeasure>>();
  return (schema, document, variables) => {
    let bySchema = known.get(schema);
    if (!bySchema) known.set(schema, (bySchema = new WeakMap()));
    let m = bySchema.get(document);
    if (!m) {
      const r = measured(schema, document, variables, limits.defaultPageSize);
      m = r.measure;
      if (!r.readVariables) bySchema.set(document, m);
    }
    return refuseBeyond(m, limits);
  };
}

/** Throws the limit's QueryError (naming the variable that sets it) when the document exceeds one. */
export function enforceLimits(schema: GraphQLSchema, document: DocumentNode, variables: Readonly<Record<string, unknown>> | undefined, limits: QueryLimits): QueryMeasure {
  return refuseBeyond(measure(schema, document, variables, limits.defaultPageSize), limits);
}

function refuseBeyond(m: QueryMeasure, limits: QueryLimits): QueryMeasure {
  if (m.depth > limits.maxDepth) {
    throw new QueryError(QueryErrorCode.TooDeep, `the query is nested ${m.depth} levels deep; the limit is ${limits.maxDepth} (QUERY_MAX_DEPTH)`, {
      limit: 'QUERY_MAX_DEPTH',
      max: limits.maxDepth,
      actual: m.depth,
    });
  }
  if (m.cost > limits.maxCost) {
    throw new QueryError(QueryErrorCode.TooCostly, `the query's estimated cost is ${m.cost}; the limit is ${limits.maxCost} (QUERY_MAX_COST): ask for smaller pages or fewer nested lists`, {
      limit: 'QUERY_MAX_COST',
      max: limits.maxCost,
      actual: m.cost,
    });
  }
  return m;
}

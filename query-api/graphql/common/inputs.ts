import type { QueryLimits } from '../../config.js';
import { QueryError, QueryErrorCode } from '../../errors.js';

type QueryLimitsHolder = { readonly limits: QueryLimits };

/**
 * Checks of argument values that GraphQL's own types cannot state. Each refusal is a QueryError naming
 * the argument (`extensions.field`) and the rule, never echoing the value back (it may be hostile).
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An entity id argument: a UUID (ids are UUIDv7), compared in lower case as PostgreSQL prints uuid. */
export function uuidArg(value: unknown, field: string): string {
  if (typeof value !== 'string' || !UUID.test(value)) {
    throw new QueryError(QueryErrorCode.InvalidId, `${field} must be a UUID`, { field });
  }
  return value.toLowerCase();
}

// With the u flag a well-formed pair is one code point, so \p{Cs} matches lone surrogates only.
const LONE_SURROGATE = /\p{Cs}/u;

/** Longest string accepted in a filter. */
export const MAX_FILTER_STRING = 200;

/**
 * A free string of a filter: no NUL (PostgreSQL text cannot hold it; the driver would fail), no lone
 * surrogate (not valid UTF-8: it cannot match anything stored and breaks some drivers), bounded length.
 */
export function stringArg(value: string, field: string, max = MAX_FILTER_STRING): string {
  if (value.includes('\u0000')) throw new QueryError(QueryErrorCode.InvalidArgument, `${field} must not contain NUL characters`, { field, rule: 'no-nul' });
  if (LONE_SURROGATE.test(value)) throw new QueryError(QueryErrorCode.InvalidArgument, `${field} must be well-formed Unicode (no lone surrogates)`, { field, rule: 'well-formed' });
  if ([...value].length > max) throw new QueryError(QueryErrorCode.InvalidArgument, `${field} must be at most ${max} characters`, { field, rule: 'max-length', max });
  return value;
}

export function stringListArg(values: readonly string[], field: string, maxItems = 50): string[] {
  if (values.length > maxItems) throw new QueryError(QueryErrorCode.InvalidArgument, `${field} lists at most ${maxItems} values`, { field, rule: 'max-items', max: maxItems });
  return values.map((v, i) => stringArg(v, `${field}[${i}]`));
}

/** A [from, to] range whose ends, when both given, are in order. */
export function rangeArg<T extends number | bigint | Date | string>(from: T | null | undefined, to: T | null | undefined, field: string): void {
  if (from !== null && from !== undefined && to !== null && to !== undefined && from > to) {
    throw new QueryError(QueryErrorCode.InvalidArgument, `${field}: the lower bound is after the upper bound`, { field, rule: 'range-order' });
  }
}


/** A list argument `first` of a relationship (not a connection): 0..QUERY_MAX_PAGE_SIZE. */
export function boundedFirst(ctx: QueryLimitsHolder, first: number, field: string): number {
  if (first < 0 || first > ctx.limits.maxPageSize) {
    throw new QueryError(QueryErrorCode.PageSize, `${field} must be between 0 and ${ctx.limits.maxPageSize} (QUERY_MAX_PAGE_SIZE)`, {
      field,
      max: ctx.limits.maxPageSize,
      limit: 'QUERY_MAX_PAGE_SIZE',
    });
  }
  return first;
}

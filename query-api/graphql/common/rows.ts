import { ERASED_MARKER } from '../../../schemas/events/opaque-personal.js';
import type { QueryContext } from '../../context.js';
import type { PersonalKind } from '../../masking.js';

/** int8 columns arrive as string (pg) or number/bigint (PGlite): one conversion for both. */
export const int8 = (v: unknown): bigint => (typeof v === 'bigint' ? v : BigInt(String(v)));
export const int8Text = (v: unknown): string => int8(v).toString();
export const int32 = (v: unknown): number => Number(v);

/**
 * A personal column as the caller may read it: "[erased]" when the subject is erased (the projection nulls
 * the column; the API says why it is empty rather than pretending the value was never given), masked for
 * callers without read:personal, else the value.
 */
export function personalField(ctx: QueryContext, value: unknown, kind: PersonalKind, erased: boolean): string | null {
  if (erased) return ERASED_MARKER;
  return ctx.personal(value === null || value === undefined ? null : String(value), kind);
}

/** An enum value of the API (`ACTIVE`) from a stored lower-case one (`active`) and back. */
export const toEnum = (v: string): string => v.toUpperCase();
export const fromEnum = (v: string): string => v.toLowerCase();

/** Rows grouped by key, every asked key present (an empty list when no row has it), row order kept. */
export function groupBy<R>(keys: readonly string[], rows: readonly R[], keyOf: (r: R) => string): Map<string, R[]> {
  const out = new Map<string, R[]>(keys.map((k) => [k, []]));
  for (const r of rows) out.get(keyOf(r))?.push(r);
  return out;
}

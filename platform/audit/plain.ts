import { ERASED_MARKER } from '../../schemas/events/opaque-personal.js';

/** A JSON value: what a decider's state becomes for a reader (GraphQL, `--json`, a terminal). */
export type Plain = null | boolean | number | string | Plain[] | { [key: string]: Plain };

/**
 * A decider's state as plain JSON, generically: Maps become objects (budget allocations), Sets arrays
 * (external references), bigints decimal strings, Dates ISO instants; `undefined` members are left out.
 * No aggregate is special-cased here: the state's own shape is what a reader sees.
 */
export function toPlain(value: unknown): Plain {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Map) {
    const out: Record<string, Plain> = {};
    for (const [k, v] of value) if (v !== undefined) put(out, String(k), toPlain(v));
    return out;
  }
  if (value instanceof Set) return [...value].map(toPlain);
  if (Array.isArray(value)) return value.map(toPlain);
  if (typeof value === 'object') {
    const out: Record<string, Plain> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) put(out, k, toPlain(v));
    return out;
  }
  return null;
}

/** An own property whatever the key: user text such as `__proto__` (a campaign label) must not set a prototype. */
function put(o: Record<string, Plain>, key: string, value: Plain): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

/** One field an event changed: its dotted path in the state, the values before and after (null = absent). */
export interface FieldChange {
  readonly field: string;
  readonly before: Plain;
  readonly after: Plain;
  /** The value reads as erased (the subject's key was destroyed): "[erased]", never the personal value. */
  readonly erased: boolean;
}

/**
 * The leaves of a plain state by dotted path. Objects are walked (a budget allocation or a custom field
 * changes as `allocations.spring` / `customFields.size`, not as a whole map); arrays are leaves, compared
 * as a whole (tags, thresholds reached: their order is part of the value).
 */
export function leaves(value: Plain, prefix = '', out = new Map<string, Plain>()): Map<string, Plain> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) leaves(v, prefix ? `${prefix}.${k}` : k, out);
    return out;
  }
  if (prefix) out.set(prefix, value);
  return out;
}

const same = (a: Plain | undefined, b: Plain | undefined): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

const holdsMarker = (v: Plain): boolean =>
  v === ERASED_MARKER || (Array.isArray(v) ? v.some(holdsMarker) : v !== null && typeof v === 'object' ? Object.values(v).some(holdsMarker) : false);

/**
 * Every leaf whose value differs between two plain states, in the order of `after`'s fields then the
 * fields `after` no longer has. `erasedStream`: the stream was read with a destroyed key, so a value that
 * reads "[erased]" is the marker, not something a user typed, and is flagged.
 */
export function diffStates(before: Plain, after: Plain, erasedStream: boolean): FieldChange[] {
  const b = leaves(before);
  const a = leaves(after);
  const changes: FieldChange[] = [];
  const push = (field: string, x: Plain, y: Plain) =>
    changes.push({ field, before: x, after: y, erased: erasedStream && (holdsMarker(x) || holdsMarker(y)) });
  for (const [field, value] of a) if (!same(b.get(field), value)) push(field, b.get(field) ?? null, value);
  for (const [field, value] of b) if (!a.has(field)) push(field, value, null);
  return changes;
}

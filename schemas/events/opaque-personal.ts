import { z } from 'zod';
import { isPersonal, type DataPath } from './personal-data.js';

/**
 * Validating an event whose personal values cannot be validated as they stand (GDPR, issue 10):
 * - **erased**: the subject's key is destroyed, every personal value reads as `ERASED_MARKER`, which a
 *   strict schema (`z.email()`, `min(3)`) refuses;
 * - **sealed**: the relay forwards ciphertexts it cannot (and must not) decrypt.
 * Both were validated in clear when they were appended. The rule here: each such value is swapped for a
 * placeholder its own field schema accepts, the payload is validated (every other field, every
 * refinement, the upcasters), and the original value is put back at the same concrete path of the
 * output. A field whose schema accepts no placeholder is a programming error found by a unit test over
 * every registered event (opaque-personal.unit.test.ts), never at read time.
 */

/** What an erased personal value reads as, whatever its type was (platform/pii's ERASED is this string). */
export const ERASED_MARKER = '[erased]';

/** Tried in order against the field's own schema; the first one it accepts stands in for the value. */
const PLACEHOLDERS: readonly unknown[] = ['erased', 'erased@erased.invalid', 'x', 0, true, [], {}];

/** One present personal value: its concrete path (`['tags', '3']`) and the schema that marks it. */
export interface PersonalSlot {
  readonly path: readonly string[];
  readonly value: unknown;
  readonly leaf: z.ZodType;
}

/** Every present (not null/undefined) personal value of `data` under `schema`, schema and data walked together. */
export function personalSlots(schema: z.ZodType, data: unknown): PersonalSlot[] {
  const out: PersonalSlot[] = [];
  const visit = (s: z.ZodType, node: unknown, path: string[]): void => {
    if (isPersonal(s)) {
      if (node !== undefined && node !== null) out.push({ path, value: node, leaf: s });
      return;
    }
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault || s instanceof z.ZodReadonly) {
      visit(s.unwrap() as z.ZodType, node, path);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    if (s instanceof z.ZodObject && !Array.isArray(node)) {
      for (const [key, child] of Object.entries(s.shape as Record<string, z.ZodType>)) {
        if (Object.hasOwn(node, key)) visit(child, (node as Record<string, unknown>)[key], [...path, key]);
      }
    } else if (s instanceof z.ZodArray && Array.isArray(node)) {
      node.forEach((child, i) => visit(s.element as z.ZodType, child, [...path, String(i)]));
    } else if (s instanceof z.ZodRecord && !Array.isArray(node)) {
      for (const [key, child] of Object.entries(node)) visit(s.valueType as z.ZodType, child, [...path, key]);
    }
  };
  visit(schema, data, []);
  return out;
}

/** Every schema marked personal under `schema` (for the test that each one accepts a placeholder). */
export function personalLeaves(schema: z.ZodType): z.ZodType[] {
  const out: z.ZodType[] = [];
  const visit = (s: z.ZodType): void => {
    if (isPersonal(s)) out.push(s);
    else if (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault || s instanceof z.ZodReadonly) visit(s.unwrap() as z.ZodType);
    else if (s instanceof z.ZodObject) for (const child of Object.values(s.shape as Record<string, z.ZodType>)) visit(child);
    else if (s instanceof z.ZodArray) visit(s.element as z.ZodType);
    else if (s instanceof z.ZodRecord) visit(s.valueType as z.ZodType);
  };
  visit(schema);
  return out;
}

const placeholderCache = new WeakMap<z.ZodType, { value: unknown } | null>();

/** A value `leaf` accepts, or undefined when none of the candidates passes. */
export function placeholderFor(leaf: z.ZodType): { value: unknown } | undefined {
  let p = placeholderCache.get(leaf);
  if (p === undefined) {
    const found = PLACEHOLDERS.find((c) => leaf.safeParse(c).success);
    p = found === undefined ? null : { value: found };
    placeholderCache.set(leaf, p);
  }
  return p ?? undefined;
}

/** Writes `value` at a concrete path of a JSON-like tree (the path exists: it was just found there). */
export function setAt(root: unknown, path: readonly string[], value: unknown): void {
  let node = root as Record<string, unknown>;
  for (let i = 0; i < path.length - 1; i++) node = node[path[i]!] as Record<string, unknown>;
  if (node !== null && typeof node === 'object' && path.length > 0) node[path[path.length - 1]!] = value;
}

export function hasPath(root: unknown, path: readonly string[]): boolean {
  let node = root;
  for (const step of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, step)) return false;
    node = (node as Record<string, unknown>)[step];
  }
  return node !== undefined && node !== null;
}

/** A deep copy of JSON data (what the stored bytes parse to), so the caller's value is never mutated. */
export const copyJson = (v: unknown): unknown => (v === undefined ? v : structuredClone(v));

export type { DataPath };

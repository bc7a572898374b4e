import { z } from 'zod';

/**
 * The marker for personal data (GDPR). A field wrapped in `personal(...)` is:
 *  - encrypted with its data subject's key when the event is appended,
 *  - redacted (shown as erased) once that key is destroyed,
 *  - masked for roles that must not read it (analyst).
 * Code never lists personal fields by hand: it asks `personalPaths(schema)`.
 */
export interface PersonalDataMeta {
  /** What kind of personal value this is; drives masking and the erasure scan. */
  kind: 'name' | 'email' | 'phone' | 'text' | 'address' | 'free-form';
}

export const personalDataRegistry = z.registry<PersonalDataMeta>();

export function personal<T extends z.ZodType>(schema: T, kind: PersonalDataMeta['kind'] = 'text'): T {
  personalDataRegistry.add(schema, { kind });
  return schema;
}

export function isPersonal(schema: z.ZodType): boolean {
  return personalDataRegistry.has(schema);
}

/** A path into an event's data: object keys, and '*' for every element of an array or value of a record. */
export type DataPath = readonly string[];

/**
 * Every path under `schema` that holds personal data. Optional/nullable/default wrappers are
 * looked through, so `personal(z.string()).optional()` and `personal(z.string().optional())` both count.
 */
export function personalPaths(schema: z.ZodType): DataPath[] {
  const out: DataPath[] = [];
  const visit = (s: z.ZodType, path: string[]): void => {
    if (isPersonal(s)) {
      out.push(path);
      return;
    }
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault || s instanceof z.ZodReadonly) {
      visit(s.unwrap() as z.ZodType, path);
    } else if (s instanceof z.ZodObject) {
      for (const [key, child] of Object.entries(s.shape as Record<string, z.ZodType>)) visit(child, [...path, key]);
    } else if (s instanceof z.ZodArray) {
      visit(s.element as z.ZodType, [...path, '*']);
    } else if (s instanceof z.ZodRecord) {
      visit(s.valueType as z.ZodType, [...path, '*']);
    }
  };
  visit(schema, []);
  return out;
}

/**
 * Applies `fn` to every personal value of `data` found at `paths` and returns a copy; the input is
 * never mutated. Used by encryption, decryption, redaction and masking alike.
 */
export function mapPersonal(data: unknown, paths: readonly DataPath[], fn: (value: unknown, path: DataPath) => unknown): unknown {
  const apply = (node: unknown, path: DataPath, i: number, full: DataPath): unknown => {
    if (i === path.length) return node === undefined || node === null ? node : fn(node, full);
    if (node === null || typeof node !== 'object') return node;
    const key = path[i]!;
    if (key === '*') {
      if (Array.isArray(node)) return node.map((v) => apply(v, path, i + 1, full));
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, apply(v, path, i + 1, full)]));
    }
    if (!(key in node)) return node;
    return { ...(node as Record<string, unknown>), [key]: apply((node as Record<string, unknown>)[key], path, i + 1, full) };
  };
  return paths.reduce((acc, p) => apply(acc, p, 0, p), data);
}

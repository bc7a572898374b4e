import type { z } from 'zod';
import { isStorableTextPattern } from './common.js';

/**
 * The structural half of the storable-input gate (the rules are in common.ts). `defineEvent` runs it on
 * every payload schema when the module loads, so an event field written as a bare `z.string()` (which
 * would accept NUL and lone surrogates that PostgreSQL then refuses) fails every test and every start,
 * instead of stopping a projector in production.
 *
 * A string is gated when it carries the `Text` check or is one of zod's formats whose alphabet is
 * ASCII (uuid, email, ISO date and date-time). A number must be an integer (zod's `.int()` also keeps it
 * within ±(2^53 − 1)) or have finite bounds. Enums, literals and booleans are fixed values.
 */
const ASCII_FORMATS = new Set(['uuid', 'guid', 'email', 'date', 'datetime']);

interface Def {
  readonly type: string;
  readonly format?: string;
  readonly checks?: readonly { _zod: { def: { check: string; format?: string; pattern?: unknown } } }[];
  readonly [key: string]: unknown;
}

export function ungatedFields(schema: z.ZodType, path: string = ''): string[] {
  const def = schema._zod.def as unknown as Def;
  const at = (child: string): string => (path ? `${path}.${child}` : child);
  switch (def.type) {
    case 'string': {
      if (def.format !== undefined && ASCII_FORMATS.has(def.format)) return [];
      const gated = (def.checks ?? []).some((c) => c._zod.def.format === 'regex' && isStorableTextPattern(c._zod.def.pattern));
      return gated ? [] : [`${path || '(root)'}: a string not built from Text`];
    }
    case 'number': {
      const n = schema as unknown as z.ZodNumber;
      const bounded = n.isInt || (Number.isFinite(n.minValue) && Number.isFinite(n.maxValue));
      return bounded ? [] : [`${path || '(root)'}: a number that is neither an integer nor bounded`];
    }
    case 'boolean':
    case 'enum':
    case 'literal':
    case 'never':
      return [];
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'nonoptional':
      return ungatedFields(def.innerType as z.ZodType, path);
    case 'object':
      return Object.entries(def.shape as Record<string, z.ZodType>).flatMap(([k, v]) => ungatedFields(v, at(k)));
    case 'array':
      return ungatedFields(def.element as z.ZodType, at('*'));
    case 'record':
      return [...ungatedFields(def.keyType as z.ZodType, at('(key)')), ...ungatedFields(def.valueType as z.ZodType, at('*'))];
    case 'union':
      return (def.options as z.ZodType[]).flatMap((o) => ungatedFields(o, path));
    case 'pipe':
      return [...ungatedFields(def.in as z.ZodType, path), ...ungatedFields(def.out as z.ZodType, path)];
    default:
      return [`${path || '(root)'}: a ${def.type} schema the storable gate does not know`];
  }
}

/** Throws, naming every offending field, when `schema` accepts a value some store cannot hold exactly. */
export function assertStorable(schema: z.ZodType, what: string): void {
  const bad = ungatedFields(schema);
  if (bad.length > 0) throw new Error(`${what} accepts values the stores cannot hold exactly: ${bad.join('; ')}`);
}

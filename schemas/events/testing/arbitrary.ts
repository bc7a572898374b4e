import fc from 'fast-check';
import type { z } from 'zod';
import { isStorableTextPattern } from '../common.js';

/**
 * fast-check arbitraries derived from the zod schemas themselves (test helper). No maintained library
 * does this for zod 4 (zod-fast-check stops at zod 3 and fast-check 3), and the schemas here use a small
 * set of building blocks, so a deriver of ~200 lines covers them all and fails loudly on anything new.
 *
 * Values are biased towards what breaks stores: full Unicode (astral characters, emoji sequences, RTL,
 * combining marks, noncharacters, odd whitespace), empty and maximal lengths, the first and last
 * representable dates, leap days, ±14:00 offsets, the bounds of every number. With `hostile`, values the
 * storable-input gate must refuse are mixed in: U+0000, lone surrogates, year 0000, offsets beyond
 * ±14:00, sub-millisecond precision, numbers past their bounds. A generated value is a candidate: the
 * caller runs the schema on it, and only what the schema accepts is an event.
 */
export interface ArbitraryOptions {
  /** Mix in values the gate must refuse (see above). Default false. */
  readonly hostile?: boolean;
  /** Most keys of a generated record (custom fields). Default 6. */
  readonly maxRecordKeys?: number;
  /** Most elements of a generated array when the schema allows more; the maximum itself is drawn too. Default 6. */
  readonly maxArrayLength?: number;
}

interface Def {
  readonly type: string;
  readonly format?: string;
  readonly checks?: readonly { _zod: { def: CheckDef } }[];
  readonly [key: string]: unknown;
}
interface CheckDef {
  readonly check: string;
  readonly format?: string;
  readonly pattern?: RegExp;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly length?: number;
}

const cp = (min: number, max: number) => fc.integer({ min, max }).map((c) => String.fromCodePoint(c));

/** One "character" of generated text: a code point, or a short sequence that must stay whole (emoji, combining). */
function textUnit(): fc.Arbitrary<string> {
  const units: fc.WeightedArbitrary<string>[] = [
    { weight: 8, arbitrary: cp(0x20, 0x7e) },
    { weight: 3, arbitrary: cp(0xa0, 0xd7ff) },
    { weight: 1, arbitrary: cp(0xe000, 0xffff) },
    { weight: 3, arbitrary: cp(0x10000, 0x10ffff) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        ' ', '\t', '\n', '\r', '\u00a0', '\u2028', '\u2029', '\ufeff', '\u200b', '\u0001', '\u001f', '\u007f',
        '😀', '👩‍👩‍👧', '🏳️‍🌈', 'e\u0301', 'Z̤͔ͧ̑̓', 'שלום', 'مرحبا', '\u200f', '\u202e', '\ufffe', '\uffff', '\u{10ffff}', '\u{1f600}',
        '"', "'", '\\', '{', '}', '[', ']', ',', '%', '_', '$1', 'NULL', '\u00ff', 'ǅ', 'ß', 'İ',
      ),
    },
  ];
  return fc.oneof(...units);
}

/** What the gate must refuse in text: U+0000 and lone surrogates (high, low, a high at the very end). */
const hostileUnit = fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff', '\ud83d');

/** Cuts `s` to at most `max` UTF-16 units without splitting a surrogate pair. */
function fit(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max;
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end -= 1;
  return s.slice(0, end);
}

function lengthArb(min: number, max: number): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min, max: Math.min(max, min + 24) }) },
    { weight: 1, arbitrary: fc.constant(max) },
    { weight: 1, arbitrary: fc.constant(min) },
  );
}

function textArb(min: number, max: number, hostile: boolean): fc.Arbitrary<string> {
  const clean = lengthArb(min, max)
    .chain((n) => fc.array(textUnit(), { minLength: n, maxLength: n }))
    .map((parts) => fit(parts.join(''), max));
  if (!hostile) return clean;
  // One hostile unit in about one string of fifteen, so an event usually carries at most one (and often
  // none, so events still get through): when the gate lets one pass, the store's refusal names it.
  const spoiled = fc
    .tuple(clean, hostileUnit, fc.nat())
    .map(([s, bad, at]) => {
      const cut = s.length === 0 ? 0 : at % (s.length + 1);
      const code = s.charCodeAt(cut - 1);
      const safeCut = code >= 0xd800 && code <= 0xdbff ? cut - 1 : cut; // never inside a pair
      return fit(s.slice(0, safeCut) + bad + s.slice(safeCut), Math.max(max, bad.length));
    });
  return fc.oneof({ weight: 14, arbitrary: clean }, { weight: 1, arbitrary: spoiled });
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** A calendar date 0001-01-01 … 9999-12-31, edges and leap days often; year 0000 one time in ten when hostile. */
export function isoDateArb(hostile = false): fc.Arbitrary<string> {
  const edges = ['0001-01-01', '9999-12-31', '2024-02-29', '2000-02-29', '1900-02-28', '1970-01-01', '0004-02-29', '9996-02-29'];
  const clean = fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...edges) },
    {
      weight: 3,
      arbitrary: fc
        .date({ min: new Date('0001-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true })
        .map((d) => d.toISOString().slice(0, 10)),
    },
  );
  if (!hostile) return clean;
  return fc.oneof({ weight: 9, arbitrary: clean }, { weight: 1, arbitrary: fc.constantFrom('0000-01-01', '0000-02-29', '0000-12-31') });
}

/**
 * An ISO instant with an offset: edge instants, ±14:00, 0–3 fractional digits. When hostile, one time in
 * ten: year 0000, an offset beyond ±14:00 (PostgreSQL takes up to ±15:59, then refuses), sub-millisecond
 * digits, or an instant that is in range locally but not in UTC.
 */
export function isoDateTimeArb(hostile = false): fc.Arbitrary<string> {
  const offset = fc.oneof(
    fc.constant('Z'),
    fc.constantFrom('+14:00', '-14:00', '+00:00', '-00:00', '+05:30', '-09:30', '+13:59', '-13:59'),
    fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 59 })).map(([s, h, m]) => `${s}${pad(h)}:${pad(m)}`),
  );
  const digits = (min: number, max: number) =>
    fc.integer({ min, max }).chain((n) => fc.integer({ min: 0, max: 10 ** n - 1 }).map((v) => `.${pad(v, n)}`));
  const fraction = fc.oneof(fc.constant(''), digits(1, 3));
  const time = fc
    .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }))
    .map(([h, m, s]) => `${pad(h)}:${pad(m)}:${pad(s)}`);
  const at = (d: fc.Arbitrary<string>, f: fc.Arbitrary<string>, o: fc.Arbitrary<string>) =>
    fc.tuple(d, time, f, o).map(([dd, t, ff, oo]) => `${dd}T${t}${ff}${oo}`);
  const edges = [
    '0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000-14:00', '9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999+14:00',
    '2024-02-29T23:59:59.999+14:00', '2024-02-29T00:00:00-14:00', '1970-01-01T00:00:00Z',
  ];
  const clean = fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...edges) }, { weight: 4, arbitrary: at(isoDateArb(), fraction, offset) });
  if (!hostile) return clean;
  const spoiled = fc.oneof(
    at(fc.constantFrom('0000-01-01', '0000-02-29'), fraction, offset),
    at(isoDateArb(), fraction, fc.constantFrom('+14:01', '-14:30', '+15:59', '+16:00', '+23:30', '-23:59')),
    at(isoDateArb(), digits(4, 9), offset),
    fc.constantFrom('0001-01-01T00:00:00+00:01', '0001-01-01T13:59:59.999+14:00', '9999-12-31T23:59:59.999-00:01'),
  );
  return fc.oneof({ weight: 9, arbitrary: clean }, { weight: 1, arbitrary: spoiled });
}

const emailArb: fc.Arbitrary<string> = fc
  .tuple(
    fc.stringMatching(/^[A-Za-z0-9_'+-]{1,24}$/),
    fc.array(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,12}$/), { minLength: 1, maxLength: 3 }),
    fc.stringMatching(/^[a-z]{2,8}$/),
  )
  .map(([local, labels, tld]) => `${local}@${labels.join('.')}.${tld}`);

function stringArb(def: Def, o: Required<ArbitraryOptions>): fc.Arbitrary<string> {
  switch (def.format) {
    case 'uuid':
    case 'guid':
      return fc.uuid();
    case 'email':
      return emailArb;
    case 'date':
      return isoDateArb(o.hostile);
    case 'datetime':
      return isoDateTimeArb(o.hostile);
    case undefined:
      break;
    default:
      throw new Error(`no arbitrary for string format "${def.format}"`);
  }
  let min = 0;
  let max = 256;
  const patterns: RegExp[] = [];
  for (const { _zod } of def.checks ?? []) {
    const c = _zod.def;
    if (c.check === 'min_length') min = Math.max(min, c.minimum ?? 0);
    else if (c.check === 'max_length') max = Math.min(max === 256 ? Infinity : max, c.maximum ?? Infinity);
    else if (c.check === 'length_equals') min = max = c.length ?? 0;
    else if (c.check === 'string_format' && c.format === 'regex' && c.pattern && !isStorableTextPattern(c.pattern)) patterns.push(c.pattern);
  }
  if (!Number.isFinite(max)) max = 256;
  // A shape rule (a slug, a currency code): strings of that shape, cut to the length bounds.
  if (patterns.length > 0) return fc.stringMatching(patterns[0]!).map((s) => fit(s, max));
  return textArb(min, max, o.hostile);
}

function numberArb(schema: z.ZodNumber, hostile: boolean): fc.Arbitrary<number> {
  const min = Number.isFinite(schema.minValue) ? schema.minValue! : -Number.MAX_SAFE_INTEGER;
  const max = Number.isFinite(schema.maxValue) ? schema.maxValue! : Number.MAX_SAFE_INTEGER;
  const inRange = schema.isInt
    ? fc.bigInt({ min: BigInt(Math.ceil(min)), max: BigInt(Math.floor(max)) }).map(Number)
    : fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
  const edges = fc.constantFrom(min, max, Math.min(Math.max(0, min), max));
  const beyond = fc.constantFrom(max + 1, min - 1, 2 ** 53, 2 ** 63, -(2 ** 63), 0.5, 1e300);
  return fc.oneof({ weight: 8, arbitrary: inRange }, { weight: 4, arbitrary: edges }, ...(hostile ? [{ weight: 1, arbitrary: beyond }] : []));
}

function arrayBounds(def: Def): { min: number; max: number } {
  let min = 0;
  let max = Infinity;
  for (const { _zod } of def.checks ?? []) {
    if (_zod.def.check === 'min_length') min = _zod.def.minimum ?? 0;
    if (_zod.def.check === 'max_length') max = _zod.def.maximum ?? Infinity;
  }
  return { min, max };
}

const dropUndefined = (o: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** A fast-check arbitrary of candidate values for `schema` (see the module comment). */
export function arbitraryOf(schema: z.ZodType, options: ArbitraryOptions = {}): fc.Arbitrary<unknown> {
  const o: Required<ArbitraryOptions> = { hostile: false, maxRecordKeys: 6, maxArrayLength: 6, ...options };
  const derive = (s: z.ZodType): fc.Arbitrary<unknown> => {
    const def = s._zod.def as unknown as Def;
    switch (def.type) {
      case 'string':
        return stringArb(def, o);
      case 'number':
        return numberArb(s as unknown as z.ZodNumber, o.hostile);
      case 'boolean':
        return fc.boolean();
      case 'enum':
        return fc.constantFrom(...Object.values(def.entries as Record<string, string>));
      case 'literal':
        return fc.constantFrom(...(def.values as unknown[]));
      case 'optional':
      case 'default':
      case 'prefault':
        return fc.option(derive(def.innerType as z.ZodType), { nil: undefined, freq: 3 });
      case 'nullable':
        return fc.option(derive(def.innerType as z.ZodType), { nil: null, freq: 3 });
      case 'readonly':
      case 'nonoptional':
        return derive(def.innerType as z.ZodType);
      case 'object': {
        const shape = Object.fromEntries(Object.entries(def.shape as Record<string, z.ZodType>).map(([k, v]) => [k, derive(v)]));
        return fc.record(shape).map((r) => dropUndefined(r as Record<string, unknown>));
      }
      case 'array': {
        const { min, max } = arrayBounds(def);
        const element = derive(def.element as z.ZodType);
        const small = fc.array(element, { minLength: min, maxLength: Math.max(min, Math.min(max, o.maxArrayLength)) });
        return Number.isFinite(max) && max > o.maxArrayLength
          ? fc.oneof({ weight: 5, arbitrary: small }, { weight: 1, arbitrary: fc.array(element, { minLength: max, maxLength: max }) })
          : small;
      }
      case 'record': {
        const key = derive(def.keyType as z.ZodType) as fc.Arbitrary<string>;
        return fc.dictionary(key, derive(def.valueType as z.ZodType), { maxKeys: o.maxRecordKeys, noNullPrototype: true });
      }
      case 'union':
        return fc.oneof(...(def.options as z.ZodType[]).map(derive));
      case 'pipe':
        return derive(def.in as z.ZodType);
      default:
        throw new Error(`no arbitrary for a zod ${def.type} schema`);
    }
  };
  return derive(schema);
}

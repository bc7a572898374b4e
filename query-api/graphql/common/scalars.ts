import { GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { QueryError, QueryErrorCode } from '../../errors.js';

/**
 * `DateTime`: an ISO-8601 instant WITH a time zone (`2025-03-01T09:00:00Z`, `…+02:00`), years 0001–9999.
 * A local time without zone would mean a different instant on every server; year 0000 and dates that do
 * not exist (Feb 30) are refused rather than normalised. Output is always UTC with milliseconds.
 */
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export function parseInstant(text: string): Date | undefined {
  const m = INSTANT.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate();
  if (day > (month === 2 ? (isLeap(year) ? 29 : 28) : daysInMonth)) return undefined;
  const offset = m[8]!;
  if (offset !== 'Z') {
    const [oh, om] = offset.slice(1).split(':').map(Number) as [number, number];
    // Real offsets run from -12:00 to +14:00; ±14:00 is the bound every stored instant obeys (schemas/events IsoDateTime).
    if (oh > 14 || om > 59 || (oh === 14 && om > 0)) return undefined;
  }
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

const INSTANT_RULE = 'an ISO-8601 instant with a time zone, e.g. 2025-03-01T09:00:00Z';

function instantOf(value: unknown): Date {
  const d = typeof value === 'string' ? parseInstant(value) : undefined;
  if (!d) throw new QueryError(QueryErrorCode.InvalidInstant, `DateTime must be ${INSTANT_RULE}`, { rule: INSTANT_RULE });
  return d;
}

export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  serialize(value) {
    if (value instanceof Date) return value.toISOString();
    if (typeof value === 'string') return new Date(value).toISOString();
    throw new TypeError('DateTime cannot represent this value');
  },
  parseValue: instantOf,
  parseLiteral(ast: ValueNode) {
    if (ast.kind !== Kind.STRING) throw new QueryError(QueryErrorCode.InvalidInstant, `DateTime must be ${INSTANT_RULE} (a string)`, { rule: INSTANT_RULE });
    return instantOf(ast.value);
  },
});

/**
 * `Date`: a calendar date `YYYY-MM-DD` (a deal's expected close, a budget's period), no time, no zone.
 */
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
function dateOf(value: unknown): string {
  const m = typeof value === 'string' ? DATE.exec(value) : null;
  const ok = m && parseInstant(`${value as string}T00:00:00Z`);
  if (!m || !ok) throw new QueryError(QueryErrorCode.InvalidArgument, 'Date must be a calendar date YYYY-MM-DD (year 0001-9999)', { rule: 'date' });
  return value as string;
}
export const DateScalar = new GraphQLScalarType<string, string>({
  name: 'Date',
  serialize: (v) => (v instanceof Date ? v.toISOString().slice(0, 10) : String(v)),
  parseValue: dateOf,
  parseLiteral: (ast) => dateOf(ast.kind === Kind.STRING ? ast.value : undefined),
});

/**
 * `Minor`: an amount in the currency's minor units (cents), an integer. Read models hold int8; GraphQL's
 * Int is 32-bit (21,474,836.47 in cents), so amounts go out as JSON numbers while they are safe integers
 * (up to 9e15) and in as a number or a decimal string.
 */
const MAX_MINOR = BigInt(Number.MAX_SAFE_INTEGER);
function minorOf(value: unknown): bigint {
  const text = typeof value === 'number' && Number.isInteger(value) ? String(value) : typeof value === 'string' ? value : '';
  if (!/^-?\d{1,16}$/.test(text) || BigInt(text) > MAX_MINOR || BigInt(text) < -MAX_MINOR) {
    throw new QueryError(QueryErrorCode.InvalidArgument, 'Minor must be a whole number of minor units within ±9007199254740991', { rule: 'minor-units' });
  }
  return BigInt(text);
}
export const MinorScalar = new GraphQLScalarType<bigint, number | string>({
  name: 'Minor',
  serialize(v) {
    const b = typeof v === 'bigint' ? v : BigInt(String(v));
    return b <= MAX_MINOR && b >= -MAX_MINOR ? Number(b) : b.toString();
  },
  parseValue: minorOf,
  parseLiteral: (ast) => minorOf(ast.kind === Kind.INT ? Number(ast.value) : ast.kind === Kind.STRING ? ast.value : undefined),
});

/** `JSON`: any JSON value (custom fields, score factors, timeline details). Output only. */
export const JsonScalar = new GraphQLScalarType<unknown, unknown>({
  name: 'JSON',
  serialize: (v) => v,
  parseValue: () => {
    throw new QueryError(QueryErrorCode.InvalidArgument, 'JSON is an output type only', { rule: 'output-only' });
  },
});

/**
 * SQL that runs on BOTH analytics engines: the Debian ClickHouse server 18.16 (2018) and chDB (current
 * ClickHouse). What that rules out, found by running each construct on both:
 *  - **no query parameters**: 18.16 answers `{x:Type}` / `param_x` with "Unknown setting param_x", so
 *    values are inlined as literals, escaped here and nowhere else;
 *  - **no DateTime/Date for our instants**: 18.16's DateTime covers 1970–2105 and Date 1970–2149, while
 *    an event's dates span 0001–9999; instants are Int64 epoch milliseconds and the day / month are
 *    ISO strings ('2024-05-03', '2024-05'), derived once by the projector, which compare and group
 *    correctly as strings (four-digit years);
 *  - no window functions, no ASOF / inequality joins, no `OR REPLACE`: per-entity histories are folded
 *    with `groupArray` + `arraySort(x -> …)` + `arrayFilter`, which both accept;
 *  - `FINAL` on a ReplacingMergeTree works on both, also inside a view.
 */

/** A value that cannot be written as a literal (the caller validated its input; this is the last line). */
export class LiteralError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LiteralError';
  }
}

/**
 * A ClickHouse string literal. Backslash and quote are escaped, and so is every control character
 * (as \xHH, which both engines read), so no value can end the literal or the statement. A lone UTF-16
 * surrogate is refused: it has no UTF-8 form, and the HTTP body would silently carry U+FFFD instead.
 */
export function str(value: string): string {
  let out = "'";
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) throw new LiteralError('a string holds an unpaired UTF-16 surrogate');
      out += value[i]! + value[i + 1]!;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      throw new LiteralError('a string holds an unpaired UTF-16 surrogate');
    } else if (c === 0x5c) out += '\\\\';
    else if (c === 0x27) out += "\\'";
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += value[i]!;
  }
  return `${out}'`;
}

/** An integer literal; refuses anything but a safe integer (or a bigint) so no text can ride along. */
export function int(value: number | bigint): string {
  if (typeof value === 'bigint') return value.toString();
  if (!Number.isSafeInteger(value)) throw new LiteralError(`${String(value)} is not a safe integer`);
  return String(value);
}

/** An array literal of strings: `['a', 'b']` (an empty list is `emptyArrayString()`, typed for both engines). */
export function strArray(values: readonly string[]): string {
  return values.length === 0 ? 'emptyArrayString()' : `[${values.map(str).join(', ')}]`;
}

/** 'YYYY-MM' months from `from` to `to` inclusive (both 'YYYY-MM'), at most `max` of them. */
export function monthsBetween(from: string, to: string, max = 240): string[] {
  const parse = (m: string) => {
    if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(m) || m.startsWith('0000')) throw new LiteralError(`"${m}" is not a month (YYYY-MM, year 0001–9999)`);
    return Number(m.slice(0, 4)) * 12 + Number(m.slice(5, 7)) - 1;
  };
  const a = parse(from);
  const b = parse(to);
  if (b < a) throw new LiteralError(`the period ends (${to}) before it starts (${from})`);
  if (b - a + 1 > max) throw new LiteralError(`a period of at most ${max} months`);
  const out: string[] = [];
  for (let k = a; k <= b; k++) out.push(`${String(Math.floor(k / 12)).padStart(4, '0')}-${String((k % 12) + 1).padStart(2, '0')}`);
  return out;
}

/** Period buckets a report groups by. */
export type Granularity = 'month' | 'quarter' | 'year' | 'all';

/** The bucket of a 'YYYY-MM' month column, as SQL both engines accept: '2024-05', '2024-Q2', '2024', 'all'. */
export function bucketOf(monthColumn: string, granularity: Granularity): string {
  switch (granularity) {
    case 'month':
      return monthColumn;
    case 'quarter':
      return `concat(substring(${monthColumn}, 1, 4), '-Q', toString(intDiv(toUInt8(substring(${monthColumn}, 6, 2)) + 2, 3)))`;
    case 'year':
      return `substring(${monthColumn}, 1, 4)`;
    case 'all':
      return `'all'`;
    default: {
      const never: never = granularity;
      throw new LiteralError(`unknown granularity ${String(never)}`);
    }
  }
}

/** The same bucket computed in TypeScript (reports that fill empty periods, tests). */
export function bucketOfMonth(month: string, granularity: Granularity): string {
  switch (granularity) {
    case 'month':
      return month;
    case 'quarter':
      return `${month.slice(0, 4)}-Q${Math.floor((Number(month.slice(5, 7)) + 2) / 3)}`;
    case 'year':
      return month.slice(0, 4);
    case 'all':
      return 'all';
    default: {
      const never: never = granularity;
      throw new LiteralError(`unknown granularity ${String(never)}`);
    }
  }
}

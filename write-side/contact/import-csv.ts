import { Transform, type Readable } from 'node:stream';
import { CsvError, parse, type Options } from 'csv-parse';
import { CustomFieldKey } from '../../schemas/events/contact.js';
import { HttpError } from '../http/problem.js';
import { defineErrors } from '../../platform/errors/catalogue.js';

/**
 * Reading a contact CSV as a stream (SPEC: contact CSV import): the header decides which column feeds
 * which contact field, then data rows are yielded one at a time, so memory stays flat whatever the file's
 * size. No cell value ever reaches an error message or a log line (they are personal data): errors name
 * lines, rows and columns only.
 */

/** The contact fields a column can feed; `custom.<key>` columns feed a custom field. */
export const IMPORT_FIELDS = ['firstName', 'lastName', 'email', 'phone', 'company', 'title', 'tags'] as const;
export type ImportField = (typeof IMPORT_FIELDS)[number];
const CUSTOM_PREFIX = 'custom.';

/** Limits of one import request (constants, documented in write-side/README.md). */
export const IMPORT_MAX_ROWS = 10_000;
export const IMPORT_MAX_BYTES = 10 * 1024 * 1024;
/** One record's characters: bounds the memory a runaway quoted field can take before it is reported. */
const MAX_RECORD_CHARS = 64 * 1024;

export const ImportErrorCode = defineErrors('CONTACT_IMPORT', {
  NoHeader: 'CONTACT_IMPORT_ERR_NO_HEADER',
  NoUsableColumns: 'CONTACT_IMPORT_ERR_NO_USABLE_COLUMNS',
  UnknownColumn: 'CONTACT_IMPORT_ERR_UNKNOWN_COLUMN',
  DuplicateColumn: 'CONTACT_IMPORT_ERR_DUPLICATE_COLUMN',
  MalformedCsv: 'CONTACT_IMPORT_ERR_MALFORMED_CSV',
  TooLarge: 'CONTACT_IMPORT_ERR_TOO_LARGE',
  TooManyRows: 'CONTACT_IMPORT_ERR_TOO_MANY_ROWS',
  InvalidRow: 'CONTACT_IMPORT_ERR_INVALID_ROW',
  FieldCount: 'CONTACT_IMPORT_ERR_FIELD_COUNT',
});

/**
 * A column target as written in `map`: a field name (case-insensitive) or `custom.<key>` (the key keeps
 * its case). Returns the canonical target, or undefined when it names nothing.
 */
export function canonicalTarget(target: string): string | undefined {
  const t = target.trim();
  if (t.toLowerCase().startsWith(CUSTOM_PREFIX)) {
    const key = t.slice(CUSTOM_PREFIX.length);
    return CustomFieldKey.safeParse(key).success ? `${CUSTOM_PREFIX}${key}` : undefined;
  }
  return IMPORT_FIELDS.find((f) => f.toLowerCase() === t.toLowerCase());
}

/**
 * `map` query values: `Header:target` pairs, comma-separated and/or repeated (`map=E-mail:email,Given
 * name:firstName`). The last `:` separates, so a header may contain one. Returns header (lowercased) →
 * target, or the problems found.
 */
export function parseColumnMap(values: readonly string[]): { map: Map<string, string>; problems: string[] } {
  const map = new Map<string, string>();
  const problems: string[] = [];
  for (const pair of values.flatMap((v) => v.split(',')).filter((p) => p.trim() !== '')) {
    const colon = pair.lastIndexOf(':');
    const header = colon < 0 ? '' : pair.slice(0, colon).trim();
    const target = colon < 0 ? undefined : canonicalTarget(pair.slice(colon + 1));
    if (header === '') problems.push(`"${pair}" is not <header>:<field>`);
    else if (target === undefined) problems.push(`"${pair}" names no field: use one of ${IMPORT_FIELDS.join(', ')} or custom.<key>`);
    else if (map.has(header.toLowerCase())) problems.push(`the header "${header}" is mapped twice`);
    else map.set(header.toLowerCase(), target);
  }
  return { map, problems };
}

export interface ImportColumns {
  /** Header → target, for the columns that feed the contact. */
  readonly mapped: Record<string, string>;
  /** Headers that feed nothing (not a field name, not mapped). */
  readonly ignored: string[];
}

/** One data row: `row` counts data rows from 1; `line` is the file line the row starts on (the header is line 1). */
export interface CsvRow {
  readonly row: number;
  readonly line: number;
  /** Target → trimmed cell, for non-empty cells only: an empty cell means "no value", never "clear". */
  readonly values: Readonly<Record<string, string>>;
  /** Set when the row's field count differs from the header's (the row is rejected, the import goes on). */
  readonly fieldCountProblem?: string;
}

export interface OpenedCsv {
  readonly columns: ImportColumns;
  /** The header target of each column (undefined: ignored), for naming columns in row errors. */
  readonly headerOf: (target: string) => string | undefined;
  readonly rows: AsyncIterable<CsvRow>;
}

const squash = (s: string) => s.toLowerCase().replace(/[\s_-]+/g, '');

/** Resolves the header into targets; 400 when the file cannot be imported at all. */
function resolveHeader(header: readonly string[], map: ReadonlyMap<string, string>): (string | undefined)[] {
  const lower = header.map((h) => h.trim().toLowerCase());
  const missing = [...map.keys()].filter((h) => !lower.includes(h));
  if (missing.length) {
    throw new HttpError(400, ImportErrorCode.UnknownColumn, `map names column(s) the header does not have: ${missing.join(', ')}`, { columns: missing });
  }
  const targets = header.map((h, i) => map.get(lower[i]!) ?? defaultTarget(h));
  const seen = new Map<string, string>();
  for (const [i, t] of targets.entries()) {
    if (t === undefined) continue;
    const first = seen.get(t);
    if (first !== undefined) {
      throw new HttpError(400, ImportErrorCode.DuplicateColumn, `columns "${first}" and "${header[i]}" both feed ${t}; map one of them elsewhere`, { target: t });
    }
    seen.set(t, header[i]!);
  }
  if (!targets.includes('firstName')) {
    throw new HttpError(
      400,
      ImportErrorCode.NoUsableColumns,
      `no column feeds firstName (required). Name the columns like the contact fields (${IMPORT_FIELDS.join(', ')}, custom.<key>; case, spaces, _ and - do not matter) or map them, e.g. map=Given name:firstName`,
      { headers: header.length },
    );
  }
  return targets;
}

/** A header named like a field, ignoring case, spaces, `_` and `-` (`First Name`, `first_name`), or `custom.<key>`. */
function defaultTarget(header: string): string | undefined {
  const h = header.trim();
  if (h.toLowerCase().startsWith(CUSTOM_PREFIX)) return canonicalTarget(h);
  return IMPORT_FIELDS.find((f) => f.toLowerCase() === squash(h));
}

/** Counts bytes on the way to the parser; past `max` the import stops with 413. */
function byteLimit(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > max) done(new HttpError(413, ImportErrorCode.TooLarge, `the file is larger than ${max} bytes; split it`, { maxBytes: max }));
      else done(null, chunk);
    },
  });
}

const CSV_PROBLEMS: Partial<Record<string, string>> = {
  CSV_QUOTE_NOT_CLOSED: 'a quoted field is never closed',
  CSV_INVALID_CLOSING_QUOTE: 'a closing quote is followed by something other than a delimiter or a line end',
  INVALID_OPENING_QUOTE: 'a quote appears inside an unquoted field (quote the whole field and double the inner quote)',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'a closing quote is followed by something other than a delimiter or a line end',
  CSV_MAX_RECORD_SIZE: `a record is longer than ${MAX_RECORD_CHARS} characters (often an unclosed quote)`,
};

/**
 * Opens the CSV: reads the header (400 when there is none or it feeds nothing) and returns the data rows
 * as an async iterable. A malformed record stops the iteration with 400 CONTACT_IMPORT_ERR_MALFORMED_CSV
 * naming the line it starts on; the csv-parse message is not passed on, as it may quote a cell.
 */
export async function openCsv(
  input: Readable,
  limits: { readonly map: ReadonlyMap<string, string>; readonly maxRows?: number; readonly maxBytes?: number },
): Promise<OpenedCsv> {
  const maxRows = limits.maxRows ?? IMPORT_MAX_ROWS;
  // Where the last complete record ended, as the parser saw it (ahead of what we consumed): the start of
  // the record a parse error is in.
  let lastEnd = 0;
  let emptyLines = 0;
  const options: Options<{ record: string[]; line: number }, string[]> = {
    bom: true,
    skip_empty_lines: true,
    relax_column_count: true,
    max_record_size: MAX_RECORD_CHARS,
    on_record: (record: string[], context) => {
      const line = lastEnd + 1 + (context.empty_lines - emptyLines);
      lastEnd = context.lines;
      emptyLines = context.empty_lines;
      return { record, line };
    },
  };
  // The typings only allow on_record to return the record type itself.
  const parser = parse(options as unknown as Options);
  input.on('error', (e) => parser.destroy(e));
  input.pipe(byteLimit(limits.maxBytes ?? IMPORT_MAX_BYTES)).on('error', (e) => parser.destroy(e)).pipe(parser);
  const records = recordQueue<{ record: string[]; line: number }>(parser);

  const next = async () => {
    const r = await records.next();
    if (!('error' in r)) return r;
    const e = r.error;
    if (!(e instanceof CsvError)) throw e;
    // lastEnd was current when the parser failed: every record before the broken one was delivered first.
    const line = r.lastEnd + 1;
    const what = CSV_PROBLEMS[e.code] ?? 'the CSV is malformed';
    throw new HttpError(400, ImportErrorCode.MalformedCsv, `malformed CSV in the record starting on line ${line}: ${what}; nothing from it on was imported, the rows before it were and are in the report`, {
      line,
      csvCode: e.code,
    });
  };
  /**
   * The parser's records in order, then its error (with where the last good record ended), then done.
   * Not the stream's async iterator: that throws on error and drops the records the parser had already
   * read ahead, so rows before a broken one would be neither imported nor reported.
   */
  function recordQueue<T>(stream: Readable): { next(): Promise<IteratorResult<T> | { error: unknown; lastEnd: number }> } {
    const queue: T[] = [];
    let failure: { error: unknown; lastEnd: number } | undefined;
    let ended = false;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    stream.on('data', (r: T) => {
      queue.push(r);
      if (queue.length >= 64) stream.pause();
      notify();
    });
    stream.on('error', (error) => {
      failure ??= { error, lastEnd };
      notify();
    });
    stream.on('end', () => {
      ended = true;
      notify();
    });
    return {
      async next() {
        for (;;) {
          if (queue.length > 0) {
            const value = queue.shift()!;
            if (queue.length < 16 && stream.isPaused()) stream.resume();
            return { done: false, value };
          }
          if (failure) return failure;
          if (ended) return { done: true, value: undefined };
          await new Promise<void>((resolve) => (wake = resolve));
        }
      },
    };
  }

  const first = await next();
  if (first.done || first.value.record.every((h) => h.trim() === '')) {
    throw new HttpError(400, ImportErrorCode.NoHeader, 'the file is empty: the first line must be a header naming the columns', {});
  }
  const header = first.value.record;
  const targets = resolveHeader(header, limits.map);
  const columns: ImportColumns = {
    mapped: Object.fromEntries(header.flatMap((h, i) => (targets[i] ? [[h, targets[i]]] : []))),
    ignored: header.filter((_, i) => targets[i] === undefined),
  };

  async function* rows(): AsyncGenerator<CsvRow> {
    for (let row = 1; ; row++) {
      const r = await next();
      if (r.done) return;
      if (row > maxRows) {
        throw new HttpError(413, ImportErrorCode.TooManyRows, `the file has more than ${maxRows} data rows; split it (rows up to ${maxRows} were imported)`, {
          maxRows,
          line: r.value.line,
        });
      }
      const { record, line } = r.value;
      const values: Record<string, string> = {};
      for (const [i, target] of targets.entries()) {
        const cell = record[i]?.trim() ?? '';
        if (target !== undefined && cell !== '') values[target] = cell;
      }
      const fieldCountProblem =
        record.length === header.length ? undefined : `the row has ${record.length} fields, the header has ${header.length}`;
      yield { row, line, values, ...(fieldCountProblem ? { fieldCountProblem } : {}) };
    }
  }
  return { columns, headerOf: (t) => header[targets.indexOf(t)], rows: rows() };
}

import { createRequire } from 'node:module';
import pg from 'pg';
import type { SqlStatement } from './projection.js';

const { escapeLiteral } = pg;
// node-postgres's own parameter serialiser (arrays → array literals, dates, JSON, buffers); untyped in
// @types/pg, but part of pg 8's stable lib, so inlined literals match what a bound parameter would be.
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils') as { prepareValue: (value: unknown) => unknown };

/**
 * A batch's statements as ONE script (one round trip), with runs of the same single-row INSERT merged into
 * multi-row INSERTs: N captured leads become one `INSERT … VALUES (…), (…), …` instead of N statements, so
 * the server parses, plans and executes once per run rather than once per event. Generic: projections keep
 * returning one statement per effect and know nothing of this.
 *
 * Merging is only done where the result cannot differ from running the statements one after the other:
 * - consecutive statements with the very same SQL text, of the form `INSERT INTO t (cols) VALUES (tuple) …`,
 *   whose parameters all sit in the tuple (the text around it is the same for every row);
 * - a tuple without a subquery (a subquery in row 2 would not see row 1, a statement later would).
 * Rows of one statement interact only through conflicts: `ON CONFLICT DO NOTHING` keeps the first row, as
 * sequential statements do; a plain duplicate fails either way; `ON CONFLICT DO UPDATE` touching one row
 * twice fails (SQLSTATE 21000) where sequential statements would not, so the caller must fall back to the
 * unmerged script when the merged one fails (apply.ts does).
 */
export function scriptOf(statements: readonly SqlStatement[], options: { merge: boolean }): string {
  const out: string[] = [];
  for (let i = 0; i < statements.length; ) {
    const s = statements[i]!;
    const shape = options.merge ? insertShape(s.sql) : undefined;
    let j = i + 1;
    if (shape) while (j < statements.length && statements[j]!.sql === s.sql) j++;
    if (shape && j - i > 1) {
      const tuples = statements.slice(i, j).map((x) => inlineParameters({ sql: shape.tuple, params: x.params }));
      out.push(`${shape.head}${tuples.join(',\n')}${shape.tail}`);
    } else {
      for (let k = i; k < j; k++) out.push(inlineParameters(statements[k]!));
    }
    i = j;
  }
  return out.join(';\n');
}

interface InsertShape {
  /** Up to and including `VALUES `. */
  readonly head: string;
  /** `(…)`, the only part with placeholders. */
  readonly tuple: string;
  /** `ON CONFLICT …` or nothing. */
  readonly tail: string;
}

const shapes = new Map<string, InsertShape | null>();
const INSERT_VALUES = /^\s*INSERT\s+INTO\s+[a-z_][a-z0-9_.]*\s*\([^()]*\)\s*VALUES\s*/i;

/** The parts of a single-row `INSERT … VALUES (…)` that can be merged with others, or undefined. Memoised by SQL text. */
export function insertShape(sql: string): InsertShape | undefined {
  let shape = shapes.get(sql);
  if (shape === undefined) {
    shape = parseInsert(sql);
    if (shapes.size > 10_000) shapes.clear(); // projections have a few dozen statement texts; never grow unbounded
    shapes.set(sql, shape);
  }
  return shape ?? undefined;
}

function parseInsert(sql: string): InsertShape | null {
  const m = INSERT_VALUES.exec(sql);
  if (!m || sql[m[0].length] !== '(') return null;
  const start = m[0].length;
  let depth = 0;
  let end = -1;
  for (let i = start; i < sql.length && end < 0; i++) {
    const c = sql[i];
    if (c === "'") {
      i = sql.indexOf("'", i + 1); // '' inside a literal is two adjacent literals to this scan: same depth
      if (i < 0) return null;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) end = i;
  }
  if (end < 0) return null;
  const head = sql.slice(0, start);
  const tuple = sql.slice(start, end + 1);
  const tail = sql.slice(end + 1);
  const placeholder = /\$\d/;
  if (placeholder.test(head) || placeholder.test(tail) || /\bselect\b/i.test(tuple) || tail.includes(';')) return null;
  return { head, tuple, tail };
}

/**
 * `$n` placeholders replaced by the parameter as a quoted literal, exactly as node-postgres would have
 * serialised it (`prepareValue`: arrays, dates, JSON, buffers). Quoted literals are untyped, like
 * extended-protocol parameters, so the server resolves their types from the same context.
 *
 * This runs for every parameter of every event while the batch's transaction is open, so it is kept cheap:
 * the SQL text is split at its placeholders once per text (memoised), and a value with no quote and no
 * backslash is quoted as it is (pg's escapeLiteral builds its result one character at a time; for such a
 * value its result is the same string: `'` + value + `'`).
 */
export function inlineParameters(s: SqlStatement): string {
  const t = templateOf(s.sql);
  let out = t.parts[0]!;
  for (let k = 0; k < t.indexes.length; k++) {
    const index = t.indexes[k]!;
    if (index >= s.params.length) throw new Error(`statement uses $${index + 1} but has ${s.params.length} parameters: ${s.sql}`);
    out += literal(s.params[index], index) + t.parts[k + 1]!;
  }
  return out;
}

interface Template {
  /** The text around the placeholders: one more than `indexes`. */
  readonly parts: readonly string[];
  /** The 0-based parameter index of each placeholder, in order. */
  readonly indexes: readonly number[];
}

const templates = new Map<string, Template>();

function templateOf(sql: string): Template {
  let t = templates.get(sql);
  if (!t) {
    const parts: string[] = [];
    const indexes: number[] = [];
    let from = 0;
    for (const m of sql.matchAll(/\$(\d+)/g)) {
      parts.push(sql.slice(from, m.index));
      indexes.push(Number(m[1]) - 1);
      from = m.index + m[0].length;
    }
    parts.push(sql.slice(from));
    t = { parts, indexes };
    if (templates.size > 10_000) templates.clear(); // a few dozen statement texts per projection; never unbounded
    templates.set(sql, t);
  }
  return t;
}

const NEEDS_ESCAPING = /['\\]/;

function literal(param: unknown, index: number): string {
  const value = prepareValue(param);
  if (value === null || value === undefined) return 'NULL';
  const text = value instanceof Buffer ? `\\x${value.toString('hex')}` : String(value);
  // A NUL cannot travel inside a query's text: the server refuses the whole message (08P01) and runs
  // none of the script. Refuse it here, before anything is sent; the caller falls back to bound
  // parameters, where the server names the value (22021) and the runtime can blame its event.
  if (text.includes('\u0000')) throw new InlineLiteralError(index + 1);
  return NEEDS_ESCAPING.test(text) ? escapeLiteral(text) : `'${text}'`;
}

/** A parameter cannot be inlined as a literal (it holds a NUL character). */
export class InlineLiteralError extends Error {
  readonly code = 'PROJECTION_ERR_NUL_IN_LITERAL';
  constructor(readonly parameter: number) {
    super(`parameter $${parameter} contains a NUL character, which PostgreSQL text cannot hold`);
    this.name = 'InlineLiteralError';
  }
}

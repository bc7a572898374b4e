import type { SqlStatement, Tables } from '../kernel/projection.js';

/**
 * The fold of a batch's statements before the SQL goes out: consecutive effects on ONE row become one
 * statement. A lead captured and scored three times in the same batch is one INSERT of the final row, not an
 * INSERT and three UPDATEs of the row just written (each UPDATE of PostgreSQL writes a new row version and
 * its index entries); the folded INSERTs of many leads then merge into one multi-row INSERT (coalesce.ts).
 * A rebuild reads whole histories in batches, so most of its statements fold; the live consumer gains when
 * a batch holds several events of one entity.
 *
 * Generic over the projections: it reads their statements (the per-event SQL stays the one source of truth)
 * and their DDL (columns, types, primary key). A statement takes part only when it is provably ROW-LOCAL —
 * it reads and writes one row of one table, named by that table's whole primary key:
 *   - `INSERT INTO t (cols) VALUES (exprs)` [`ON CONFLICT (pk) DO NOTHING`], the key columns bound to
 *     parameters, no subquery;
 *   - `UPDATE t SET col = expr, … WHERE k1 = $i AND k2 = $j` over exactly the key, no subquery, no key
 *     column set, no generated column read.
 * Everything else is a barrier: it is left where it is and no effect is moved across it. Effects on
 * different rows commute (no triggers, no foreign keys, no unique index but the key: a table with any of
 * these is never folded), so the effects of one row can be gathered at the place of the first one.
 *
 * Composition is substitution: an UPDATE's expressions see the row as it was before it (SET is
 * simultaneous), so each column it reads is replaced by the expression the chain has for it so far, cast
 * to the column's type (what reading the stored value would give); a column the chain never wrote reads
 * as it is (UPDATE chains) or as NULL (after an INSERT that did not list it; a column with a DEFAULT there
 * ends the fold). An INSERT … ON CONFLICT DO NOTHING followed by UPDATEs cannot be one statement when the
 * row already existed (the updates would apply to the old row): the folded INSERT then fails on purpose
 * (`ON CONFLICT … DO UPDATE SET <key> = NULL`, a NOT NULL violation), and the caller runs the unfolded
 * statements instead (apply.ts: the fold is only ever the first attempt). In a rebuild's fresh generation
 * that never happens.
 *
 * Proven by `fold.unit.test.ts`: generated histories of every aggregate, applied folded in batches and one
 * event at a time, leave identical tables in all six read models.
 */

interface Column {
  readonly type: string;
  /** DEFAULT or GENERATED: its value is not NULL when an INSERT leaves it out. */
  readonly implicit: boolean;
  readonly generated: boolean;
}

interface TableInfo {
  readonly columns: ReadonlyMap<string, Column>;
  readonly key: readonly string[];
}

type Op =
  | { readonly kind: 'insert'; readonly table: string; readonly columns: readonly string[]; readonly values: readonly string[]; readonly conflict: 'none' | 'nothing'; readonly keyParams: readonly number[]; readonly keyTypes: readonly string[] }
  | { readonly kind: 'update'; readonly table: string; readonly sets: ReadonlyArray<readonly [string, string]>; readonly where: string; readonly keyParams: readonly number[]; readonly keyTypes: readonly string[] };

/** Longest folded statement: the composed expressions nest, and a very long chain would nest too deep. */
const MAX_FOLDED_SQL = 16_000;
/** Shapes kept by one folder before its memo starts over (a live consumer meets few; a rebuild a few hundred). */
const MAX_SHAPES = 20_000;

/**
 * What a chain of statements composes to, for one SEQUENCE of statement texts: the expressions, the
 * parameters they number, the rendered SQL. It depends on the texts and their parameter counts only, never
 * on the values, so a rebuild (millions of "capture, then three scores" chains) composes each sequence
 * once and binds each chain's own parameters to it. Immutable once made; `next` memoises the extensions.
 */
interface Shape {
  readonly values: ReadonlyMap<string, string>;
  readonly paramCount: number;
  /** The folded statement's text, rendered on first use. */
  sql: string | undefined;
  /** Op folded in → its parameter count → the shape after it, or null when it does not fold. */
  readonly next: Map<Op, Map<number, Shape | null>>;
}

interface ShapeMemo {
  /** A chain's first op → its parameter count → the shape of the chain when a second statement folds in. */
  roots: Map<Op, Map<number, Shape>>;
  size: number;
}

/** A folder of statements for the tables of one generation (from the projection's DDL), memoised per DDL. */
export function statementFolder(ddl: (tables: Tables) => string): (statements: readonly SqlStatement[], tables: Tables) => SqlStatement[] {
  const infos = new Map<string, ReadonlyMap<string, TableInfo>>();
  const ops = new Map<string, Op | null>();
  const memo: ShapeMemo = { roots: new Map(), size: 0 };
  return (statements, tables) => {
    const text = ddl(tables);
    let info = infos.get(text);
    if (!info) {
      info = parseDdl(text);
      if (infos.size > 64) infos.clear();
      infos.set(text, info);
    }
    const parse = (sql: string): Op | undefined => {
      let op = ops.get(sql);
      if (op === undefined) {
        op = parseOp(sql, info!) ?? null;
        if (ops.size > 10_000) {
          ops.clear();
          memo.roots = new Map(); // shapes are keyed by op objects: a re-parsed op would never meet its old shapes
          memo.size = 0;
        }
        ops.set(sql, op);
      }
      return op ?? undefined;
    };
    if (memo.size > MAX_SHAPES) {
      memo.roots = new Map();
      memo.size = 0;
    }
    try {
      return foldStatements(statements, info, parse, memo);
    } catch {
      // A shape this fold did not foresee: the statements as they are (the fold is only ever an optimisation).
      return [...statements];
    }
  };
}

interface Chain {
  readonly table: string;
  readonly start: 'insert' | 'update';
  readonly conflict: 'none' | 'nothing';
  /** The first statement's WHERE (UPDATE chains). */
  readonly where: string;
  /** The first statement's op. */
  readonly op: Op;
  /** Undefined until a second statement folds in (the original is then emitted as it was). */
  shape: Shape | undefined;
  /** This chain's parameters, in the shape's numbering; built when a second statement folds in. */
  params: unknown[] | undefined;
  readonly original: SqlStatement;
}

function foldStatements(statements: readonly SqlStatement[], info: ReadonlyMap<string, TableInfo>, parse: (sql: string) => Op | undefined, memo: ShapeMemo): SqlStatement[] {
  const out: Array<SqlStatement | Chain> = [];
  let open = new Map<string, Chain>();
  for (const s of statements) {
    const op = parse(s.sql);
    const key = op && keyOf(op, s.params);
    if (!op || key === undefined) {
      out.push(s);
      open = new Map(); // a barrier: nothing moves across it
      continue;
    }
    const chain = open.get(key);
    if (chain && extend(chain, op, s, info.get(op.table)!, memo)) continue;
    if (chain?.start === 'insert' && op.kind === 'insert' && op.conflict === 'nothing') continue; // the row exists after the chain's INSERT: a no-op
    const fresh = begin(op, s);
    out.push(fresh);
    open.set(key, fresh);
  }
  return out.map((x) => ('sql' in x ? x : render(x, info.get(x.table)!)));
}

/** A uuid as PostgreSQL prints it (lower case, hyphenated): the form nearly every key comes in. */
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The row an op touches (table and key values, normalised as PostgreSQL compares them, joined by NUL, which
 * no table name, uuid, integer or valid text value holds), or undefined.
 */
function keyOf(op: Op, params: readonly unknown[]): string | undefined {
  let key = op.table;
  for (let i = 0; i < op.keyParams.length; i++) {
    const v = params[op.keyParams[i]! - 1];
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'bigint') return undefined;
    const text = String(v);
    const type = op.keyTypes[i];
    if (type === 'uuid') {
      if (CANONICAL_UUID.test(text)) key += `\0${text}`;
      else {
        // '{A0EE…}', 'a0ee…' without hyphens and upper case are all the same uuid to PostgreSQL.
        const hex = text.toLowerCase().replace(/[{}-]/g, '');
        if (!/^[0-9a-f]{32}$/.test(hex)) return undefined;
        key += `\0${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
      }
    } else if (type === 'text') {
      if (text.includes('\0')) return undefined; // PostgreSQL refuses it: left unfolded, to fail as it is
      key += `\0${text}`;
    } else if (type === 'bigint' || type === 'integer' || type === 'smallint') {
      try {
        key += `\0${BigInt(text.trim())}`;
      } catch {
        return undefined;
      }
    } else return undefined;
  }
  return key;
}

// Most rows of a batch see one statement: a chain costs no copy of its statement until a second one folds in.
function begin(op: Op, s: SqlStatement): Chain {
  return { table: op.table, start: op.kind, conflict: op.kind === 'insert' ? op.conflict : 'none', where: op.kind === 'update' ? op.where : '', op, shape: undefined, params: undefined, original: s };
}

/** The shape of a chain of one statement (its op with that many parameters), memoised. */
function rootShape(op: Op, paramCount: number, memo: ShapeMemo): Shape {
  let byCount = memo.roots.get(op);
  if (!byCount) memo.roots.set(op, (byCount = new Map()));
  let shape = byCount.get(paramCount);
  if (!shape) {
    const values = op.kind === 'insert' ? new Map(op.columns.map((c, i) => [c, op.values[i]!])) : new Map(op.sets);
    shape = { values, paramCount, sql: undefined, next: new Map() };
    byCount.set(paramCount, shape);
    memo.size++;
  }
  return shape;
}

/** Folds an UPDATE into the chain; false when it cannot be (the caller starts a new chain with it). */
function extend(chain: Chain, op: Op, s: SqlStatement, table: TableInfo, memo: ShapeMemo): boolean {
  if (op.kind !== 'update') return false;
  const from = chain.shape ?? rootShape(chain.op, chain.original.params.length, memo);
  let byCount = from.next.get(op);
  if (!byCount) from.next.set(op, (byCount = new Map()));
  let to = byCount.get(s.params.length);
  if (to === undefined) {
    to = compose(from, chain.start, op, s.params.length, table);
    byCount.set(s.params.length, to);
    memo.size++;
  }
  if (to === null) return false;
  const params = (chain.params ??= [...chain.original.params]);
  for (const p of s.params) params.push(p);
  chain.shape = to;
  return true;
}

/** The shape after `op` (an UPDATE with `paramCount` parameters) folds into a chain of shape `from`; null when it cannot. */
function compose(from: Shape, start: Chain['start'], op: Op & { kind: 'update' }, paramCount: number, table: TableInfo): Shape | null {
  const values = from.values;
  const next = new Map(values);
  let size = 0;
  for (const [column, expr] of op.sets) {
    let unknown = false;
    const composed = rewrite(expr, from.paramCount, {
      is: (name) => table.columns.has(name),
      read: (ref) => {
        const v = values.get(ref);
        const col = table.columns.get(ref)!;
        if (v !== undefined) return `(${v})::${col.type}`;
        if (start === 'update') return ref; // the stored value, unchanged so far
        if (col.implicit) unknown = true; // a DEFAULT the INSERT left to the server
        return `NULL::${col.type}`;
      },
    });
    if (unknown) return null;
    next.set(column, composed);
    size += composed.length;
  }
  if (size > MAX_FOLDED_SQL) return null;
  return { values: next, paramCount: from.paramCount + paramCount, sql: undefined, next: new Map() };
}

function render(chain: Chain, table: TableInfo): SqlStatement {
  const shape = chain.shape;
  if (!shape) return chain.original;
  return { sql: (shape.sql ??= renderShape(chain, shape, table)), params: chain.params! };
}

function renderShape(chain: Chain, shape: Shape, table: TableInfo): string {
  const values = shape.values;
  const columns = [...values.keys()];
  if (chain.start === 'update') return `UPDATE ${chain.table} SET ${columns.map((c) => `${c} = ${values.get(c)!}`).join(', ')} WHERE ${chain.where}`;
  const conflict = chain.conflict === 'nothing' ? ` ON CONFLICT (${table.key.join(', ')}) DO UPDATE SET ${table.key[0]} = NULL` : '';
  return `INSERT INTO ${chain.table} (${columns.join(', ')}) VALUES (${columns.map((c) => values.get(c)!).join(', ')})${conflict}`;
}

// ── parsing (our own projections' SQL; anything unexpected is simply not folded) ───────────────────────

const IDENT = /^[a-z_][a-z0-9_]*$/;

/** Reads a column: what a column reference is replaced by. */
interface ColumnReader {
  readonly is: (name: string) => boolean;
  readonly read: (name: string) => string;
}

/**
 * `text` with `$n` renumbered to `$(n + offset)` and every column reference (an identifier of the table,
 * not a cast's type, not a function name, not inside a literal) replaced by `columns.read(name)`.
 */
function rewrite(text: string, offset: number, columns?: ColumnReader): string {
  let out = '';
  for (let i = 0; i < text.length; ) {
    const c = text[i]!;
    if (c === "'") {
      const j = literalEnd(text, i);
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '$' && /[0-9]/.test(text[i + 1] ?? '')) {
      let j = i + 1;
      while (/[0-9]/.test(text[j] ?? '')) j++;
      out += `$${Number(text.slice(i + 1, j)) + offset}`;
      i = j;
    } else if (/[a-z_]/i.test(c) && !/[a-z0-9_$]/i.test(text[i - 1] ?? '')) {
      let j = i;
      while (/[a-z0-9_]/i.test(text[j] ?? '')) j++;
      const word = text.slice(i, j);
      const afterCast = /::\s*$/.test(text.slice(0, i));
      const call = /^\s*\(/.test(text.slice(j));
      out += columns && !afterCast && !call && columns.is(word) ? columns.read(word) : word;
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** The index of the quote closing the literal opened at `open` ('' is an escaped quote inside it). */
function literalEnd(text: string, open: number): number {
  for (let j = open + 1; j < text.length; j++) {
    if (text[j] !== "'") continue;
    if (text[j + 1] === "'") j++;
    else return j;
  }
  return text.length;
}

/** The column names `text` reads (same scan as `rewrite`). */
function columnRefs(text: string, columns: ReadonlyMap<string, unknown>): string[] {
  const found: string[] = [];
  rewrite(text, 0, { is: (n) => columns.has(n), read: (n) => (found.push(n), n) });
  return found;
}

/** `text` with runs of white space outside literals made one space (the SQL's layout is not its meaning). */
function squash(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; ) {
    if (text[i] === "'") {
      const j = literalEnd(text, i);
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (/\s/.test(text[i]!)) {
      while (/\s/.test(text[i] ?? '')) i++;
      out += ' ';
    } else out += text[i++];
  }
  return out.trim();
}

/** The text outside literals (to look for what must not be there). */
function outsideLiterals(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; ) {
    if (text[i] === "'") i = literalEnd(text, i) + 1;
    else out += text[i++];
  }
  return out;
}

/** Splits on `sep` (a single character or a keyword) at depth 0, outside literals. */
function splitTop(text: string, sep: ',' | 'AND'): string[] {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'") {
      i = text.indexOf("'", i + 1);
      if (i < 0) return [text];
      continue;
    }
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0) {
      if (sep === ',' && c === ',') {
        parts.push(text.slice(from, i));
        from = i + 1;
      } else if (sep === 'AND' && /\s/.test(c) && /^\sAND\s/i.test(text.slice(i, i + 5))) {
        parts.push(text.slice(from, i));
        from = i + 4;
      }
    }
  }
  parts.push(text.slice(from));
  return parts.map((p) => p.trim());
}

/** The index of the `)` closing the `(` at `open`, outside literals; -1 if none. */
function closing(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === "'") {
      i = text.indexOf("'", i + 1);
      if (i < 0) return -1;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}

// A subquery reads other rows; RETURNING, a second statement or a qualified name (`t.col`, `excluded.col`)
// are shapes this fold does not compose.
const NOT_ROW_LOCAL = /\bselect\b|\breturning\b|;|[a-z0-9_"]\s*\.\s*[a-z_"]/i;

function parseOp(sql: string, tables: ReadonlyMap<string, TableInfo>): Op | undefined {
  const text = squash(sql);
  if (NOT_ROW_LOCAL.test(outsideLiterals(text).replace(/^(INSERT INTO|UPDATE) [a-z_][a-z0-9_.]*/i, ''))) return undefined;
  const ins = /^INSERT INTO ([a-z_][a-z0-9_.]*) \(([^()]*)\) VALUES ?\(/i.exec(text);
  if (ins) {
    const table = tables.get(ins[1]!);
    if (!table) return undefined;
    const open = ins[0].length - 1;
    const end = closing(text, open);
    if (end < 0) return undefined;
    const columns = ins[2]!.split(',').map((c) => c.trim());
    const values = splitTop(text.slice(open + 1, end), ',');
    if (columns.length !== values.length || columns.some((c) => !table.columns.has(c) || table.columns.get(c)!.generated) || new Set(columns).size !== columns.length) return undefined;
    const tail = text.slice(end + 1).trim();
    let conflict: 'none' | 'nothing';
    if (tail === '') conflict = 'none';
    else {
      const m = /^ON CONFLICT \(([^()]*)\) DO NOTHING$/i.exec(tail);
      if (!m || !sameSet(m[1]!.split(',').map((c) => c.trim()), table.key)) return undefined;
      conflict = 'nothing';
    }
    const keyParams: number[] = [];
    for (const k of table.key) {
      const v = values[columns.indexOf(k)];
      const p = v && /^\$(\d+)(::[a-z_]+)?$/.exec(v);
      if (!p) return undefined;
      keyParams.push(Number(p[1]));
    }
    // VALUES expressions may not read columns (they cannot, in an INSERT): refuse anything that looks like one.
    if (values.some((v) => columnRefs(v, table.columns).length > 0)) return undefined;
    return { kind: 'insert', table: ins[1]!, columns, values, conflict, keyParams, keyTypes: table.key.map((k) => table.columns.get(k)!.type) };
  }
  const upd = /^UPDATE ([a-z_][a-z0-9_.]*) SET (.*)$/i.exec(text);
  if (upd) {
    const table = tables.get(upd[1]!);
    if (!table) return undefined;
    const rest = upd[2]!;
    // The WHERE at depth 0 outside literals: the last one (SET expressions hold no WHERE; CASE uses WHEN).
    const at = rest.search(/ WHERE (?=[^']*$)/i);
    if (at < 0) return undefined;
    const sets = splitTop(rest.slice(0, at), ',').map((a) => {
      const m = /^([a-z_][a-z0-9_]*) = (.+)$/is.exec(a);
      return m ? ([m[1]!, m[2]!] as const) : undefined;
    });
    if (sets.some((x) => x === undefined)) return undefined;
    const where = rest.slice(at + 7).trim();
    const conds = splitTop(where, 'AND').map((c) => /^([a-z_][a-z0-9_]*) = \$(\d+)(::[a-z_]+)?$/i.exec(c));
    if (conds.some((c) => !c)) return undefined;
    const whereCols = conds.map((c) => c![1]!);
    if (!sameSet(whereCols, table.key)) return undefined;
    const keyParams = table.key.map((k) => Number(conds[whereCols.indexOf(k)]![2]));
    for (const [c, e] of sets as Array<readonly [string, string]>) {
      const col = table.columns.get(c);
      if (!col || col.generated || table.key.includes(c)) return undefined;
      if (columnRefs(e, table.columns).some((r) => table.columns.get(r)!.generated)) return undefined;
    }
    if (new Set(sets.map((x) => x![0])).size !== sets.length) return undefined;
    return { kind: 'update', table: upd[1]!, sets: sets as Array<readonly [string, string]>, where, keyParams, keyTypes: table.key.map((k) => table.columns.get(k)!.type) };
  }
  return undefined;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** Tables of a DDL script that can be folded: columns with types, the primary key; none with triggers, foreign keys or other unique keys. */
export function parseDdl(ddl: string): ReadonlyMap<string, TableInfo> {
  const text = ddl.replace(/--[^\n]*/g, '');
  const out = new Map<string, TableInfo>();
  const excluded = new Set<string>();
  for (const m of text.matchAll(/CREATE\s+UNIQUE\s+INDEX\s+\S+\s+ON\s+([a-z_][a-z0-9_.]*)/gi)) excluded.add(m[1]!);
  for (const m of text.matchAll(/CREATE\s+(?:OR\s+REPLACE\s+)?(?:CONSTRAINT\s+)?TRIGGER\b[^;]*?\bON\s+([a-z_][a-z0-9_.]*)/gi)) excluded.add(m[1]!);
  if (/\bRULE\b/i.test(text)) return out;
  for (const m of text.matchAll(/CREATE\s+TABLE\s+([a-z_][a-z0-9_.]*)\s*\(/gi)) {
    const name = m[1]!;
    const open = m.index + m[0].length - 1;
    const end = closing(text, open);
    if (end < 0) continue;
    const columns = new Map<string, Column>();
    let key: string[] | undefined;
    let ok = true;
    for (const part of splitTop(text.slice(open + 1, end), ',')) {
      const pk = /^PRIMARY\s+KEY\s*\(([^()]*)\)$/i.exec(part);
      if (pk) {
        key = pk[1]!.split(',').map((c) => c.trim());
        continue;
      }
      if (/^(CONSTRAINT|UNIQUE|FOREIGN|EXCLUDE)\b/i.test(part)) {
        ok = false;
        continue;
      }
      if (/^CHECK\b/i.test(part)) continue;
      const col = /^([a-z_][a-z0-9_]*)\s+(.+)$/is.exec(part);
      if (!col) {
        ok = false;
        continue;
      }
      const rest = col[2]!;
      const type = /^(.*?)(?=\s+(?:NOT|NULL|DEFAULT|CHECK|PRIMARY|GENERATED|REFERENCES|UNIQUE|COLLATE|CONSTRAINT)\b|$)/is.exec(rest)![1]!.trim().replace(/\s+/g, ' ');
      if (/\b(REFERENCES|UNIQUE|PRIMARY)\b/i.test(rest)) ok = false;
      const generated = /\bGENERATED\b/i.test(rest);
      columns.set(col[1]!, { type, generated, implicit: generated || /\bDEFAULT\b/i.test(rest) });
    }
    if (!ok || !key || excluded.has(name) || key.some((k) => !columns.has(k)) || [...columns.keys()].some((c) => !IDENT.test(c))) continue;
    out.set(name, { columns, key });
  }
  return out;
}

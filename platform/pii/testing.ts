import type { SqlClient, SqlExecutor } from '../sql/client.js';

/**
 * Test helper: a SqlClient that records every statement it is given (transactions included), so a test
 * can assert how many round trips an operation costs.
 */
export function countingClient(inner: SqlClient): { client: SqlClient; statements: string[] } {
  const statements: string[] = [];
  const wrap = (ex: SqlExecutor): SqlExecutor => ({
    query: (sql, params, options) => {
      statements.push(sql);
      return ex.query(sql, params, options);
    },
    exec: (sql) => {
      statements.push(sql);
      return ex.exec(sql);
    },
  });
  const client: SqlClient = {
    dialect: inner.dialect,
    ...wrap(inner),
    transaction: (fn) => inner.transaction((tx) => fn(wrap(tx))),
    close: () => inner.close(),
  };
  return { client, statements };
}

/** Strings that break naive encoders: astral, emoji sequences, RTL, combining marks, NUL, lone surrogates. */
export const hostileStrings: readonly string[] = [
  '',
  ' ',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 astral',
  '👩🏽‍💻👨‍👩‍👧‍👦🏳️‍🌈',
  'مرحبا بالعالم \u202Eevil\u202C',
  'e\u0301\u0301\u0301 Zalgo',
  'nul\u0000inside',
  'lone high \uD800 end',
  'lone low \uDC00',
  '\uDFFF\uD800',
  '"quotes" \\ backslash \n newline \t tab',
  'pii:v1:looks:like:a-ciphertext',
  'x'.repeat(10_000),
];

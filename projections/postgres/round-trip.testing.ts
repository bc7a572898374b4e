import type { SqlClient } from '../../platform/sql/client.js';

/**
 * The PostgreSQL oracle of the storable-input gate (test helper): does PostgreSQL hold `value` in a
 * column of `type` exactly? A refusal (NUL in text 22021 / jsonb 22P05, a lone surrogate in jsonb 22P02,
 * year 0000 22008, an offset PostgreSQL cannot take 22009) and a silent change (a lone surrogate sent as
 * UTF-8 arrives as U+FFFD) both answer false. Strings are checked as `text` and inside `jsonb`, the two
 * ways the read models store them.
 */
export async function storedExactly(db: SqlClient, type: 'text' | 'date' | 'timestamptz' | 'bigint', value: string | number): Promise<boolean> {
  try {
    return await db.transaction(async (tx) => {
      await tx.query(`SET LOCAL TimeZone = 'UTC'`);
      switch (type) {
        case 'text': {
          // Read back inside JSON: PGlite 0.5.16 decodes every text field it returns with a TextDecoder
          // that drops a leading U+FEFF (the value is stored intact; real PostgreSQL through `pg` returns
          // it). Wrapped in JSON the BOM is never leading, so what is compared is what the store holds.
          const r = await tx.query<{ t: unknown; j: unknown }>(`SELECT to_jsonb($1::text) AS t, $2::jsonb AS j`, [value, JSON.stringify({ v: value })]);
          // Both drivers parse jsonb results into JavaScript values.
          return r.rows[0]!.t === value && (r.rows[0]!.j as { v: unknown }).v === value;
        }
        case 'date': {
          const r = await tx.query<{ d: string }>(`SELECT to_char($1::date, 'YYYY-MM-DD') AS d`, [value]);
          return r.rows[0]!.d === value;
        }
        case 'timestamptz': {
          const r = await tx.query<{ t: string }>(`SELECT to_jsonb($1::timestamptz) #>> '{}' AS t`, [value]);
          return Date.parse(r.rows[0]!.t) === Date.parse(String(value));
        }
        case 'bigint': {
          const r = await tx.query<{ n: string }>(`SELECT ($1::bigint)::text AS n`, [String(value)]);
          return r.rows[0]!.n === String(value);
        }
      }
    });
  } catch {
    return false;
  }
}

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
          const r = await tx.query<{ t: string; j: unknown }>(`SELECT $1::text AS t, $2::jsonb AS j`, [value, JSON.stringify({ v: value })]);
          const j = typeof r.rows[0]!.j === 'string' ? (JSON.parse(r.rows[0]!.j) as { v: unknown }) : (r.rows[0]!.j as { v: unknown });
          return r.rows[0]!.t === value && j.v === value;
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

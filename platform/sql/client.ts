import pg from 'pg';
import type { PGlite } from '@electric-sql/pglite';

/**
 * The little SQL surface our PostgreSQL code needs, so the very same statements run on a real server
 * (`pg.Pool`) and on PGlite (real PostgreSQL compiled to WASM, in-process) for the embedded mode.
 * Values of type bigint are cast to text in SQL and parsed with BigInt(), because the two drivers
 * disagree on int8 (string vs number).
 */
export interface SqlClient extends SqlExecutor {
  readonly dialect: 'postgres' | 'pglite';
  /** Runs `fn` in one transaction on one connection; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface SqlExecutor {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<{ rows: R[] }>;
  /** Runs a script of several statements without parameters (DDL, migrations). */
  exec(sql: string): Promise<void>;
}

export function pgClient(connectionString: string, options: { max?: number; applicationName?: string } = {}): SqlClient {
  const pool = new pg.Pool({ connectionString, max: options.max ?? 10, application_name: options.applicationName ?? 'annals' });
  // An idle client that errors (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  return {
    dialect: 'postgres',
    async query<R>(sql: string, params: readonly unknown[] = []) {
      const r = await pool.query(sql, params as unknown[]);
      return { rows: r.rows as R[] };
    },
    async exec(sql: string) {
      await pool.query(sql);
    },
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      const conn = await pool.connect();
      try {
        await conn.query('BEGIN');
        const tx: SqlExecutor = {
          async query<R>(sql: string, params: readonly unknown[] = []) {
            const r = await conn.query(sql, params as unknown[]);
            return { rows: r.rows as R[] };
          },
          async exec(sql: string) {
            await conn.query(sql);
          },
        };
        const result = await fn(tx);
        await conn.query('COMMIT');
        return result;
      } catch (e) {
        await conn.query('ROLLBACK').catch(() => {});
        throw e;
      } finally {
        conn.release();
      }
    },
    close: () => pool.end(),
  };
}

export function pgliteClient(db: PGlite, options: { closeDb?: boolean } = {}): SqlClient {
  return {
    dialect: 'pglite',
    async query<R>(sql: string, params: readonly unknown[] = []) {
      const r = await db.query<R>(sql, params as unknown[]);
      return { rows: r.rows };
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      return db.transaction(async (t) =>
        fn({
          async query<R>(sql: string, params: readonly unknown[] = []) {
            const r = await t.query<R>(sql, params as unknown[]);
            return { rows: r.rows };
          },
          async exec(sql: string) {
            await t.exec(sql);
          },
        }),
      );
    },
    close: async () => {
      if (options.closeDb ?? true) await db.close();
    },
  };
}

/**
 * PGlite's buffer pool. PGlite allocates and zero-fills all of shared_buffers inside its WASM heap at
 * start, so the whole pool is resident from the first second; initdb's 128MB (a server's default) cost
 * about 130 MB of RSS per database, and `npm start` opens two. 16MB (PostgreSQL's fallback when memory is
 * scarce) holds the embedded mode's working set; pages beyond it come from the OS page cache (a data
 * directory) or PGlite's in-memory file system. Measured by the bench (bench/README.md, memory rows).
 */
export const PGLITE_SHARED_BUFFERS = '16MB';

/** Opens PGlite in `dataDir` (or in memory when undefined). */
export async function openPglite(dataDir?: string): Promise<PGlite> {
  const { PGlite } = await import('@electric-sql/pglite');
  return PGlite.create({
    ...(dataDir ? { dataDir } : {}),
    startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${PGLITE_SHARED_BUFFERS}`],
  });
}

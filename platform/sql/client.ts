import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { PGlite } from '@electric-sql/pglite';
import { dropPgliteTemplate, pgliteTemplateBytes, pgliteTemplateFile, pgliteTemplatePath, runPgliteChild } from './pglite-template.js';

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
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<{ rows: R[] }>;
  /** Runs a script of several statements without parameters (DDL, migrations). */
  exec(sql: string): Promise<void>;
}

export interface QueryOptions {
  /**
   * Keep the statement prepared on each connection: the server parses and plans its text once per
   * connection, then each call only binds and executes. For the fixed texts of hot paths: preparing the
   * append call made a lone writer's codec-on append 10% faster on this project's server (bench/README).
   * The text must come from a finite set (never values spliced in): each distinct text stays prepared on
   * every connection until it closes. PGlite ignores it. A transaction-mode PgBouncer in front of the server
   * must be 1.21 or later, with max_prepared_statements set (README, "The event store").
   *
   * Only for statements whose plan cannot go stale, such as a call of one of our functions: after five
   * calls the server may keep a generic plan for the connection's life, and one made while a table was small
   * would keep its sequential scan until the next ANALYZE (the PL/pgSQL finding in docs/gdpr.md).
   */
  readonly prepare?: boolean;
}

/** At most this many distinct texts are prepared per pool; past it, statements run unnamed (a bug guard, not a cache). */
const MAX_PREPARED_TEXTS = 256;

/** The pg query config for `sql`: named (prepared per connection) when asked and allowed, else unnamed. */
function statementNamer(): (sql: string, values: unknown[], options: QueryOptions | undefined) => pg.QueryConfig {
  const names = new Map<string, string>();
  return (sql, values, options) => {
    if (!options?.prepare) return { text: sql, values };
    let name = names.get(sql);
    if (name === undefined) {
      if (names.size >= MAX_PREPARED_TEXTS) return { text: sql, values };
      // Derived from the text, so two texts never share a name (pg refuses a name reused for another text).
      name = `annals_${createHash('sha256').update(sql).digest('hex').slice(0, 32)}`;
      names.set(sql, name);
    }
    return { name, text: sql, values };
  };
}

export function pgClient(connectionString: string, options: { max?: number; applicationName?: string } = {}): SqlClient {
  const pool = new pg.Pool({ connectionString, max: options.max ?? 10, application_name: options.applicationName ?? 'annals' });
  const statement = statementNamer();
  // An idle client that errors (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  return {
    dialect: 'postgres',
    async query<R>(sql: string, params: readonly unknown[] = [], queryOptions?: QueryOptions) {
      const r = await pool.query(statement(sql, params as unknown[], queryOptions));
      return { rows: r.rows as R[] };
    },
    async exec(sql: string) {
      await pool.query(sql);
    },
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      const conn = await pool.connect();
      // A checked-out client whose connection dies (server restart, pg_terminate_backend) also emits
      // 'error'; unheard, that would crash the process instead of failing this transaction. The client
      // is then handed back as broken, so the pool drops it rather than lending it out again.
      let broken: Error | undefined;
      const onError = (err: Error) => {
        broken = err;
      };
      conn.on('error', onError);
      try {
        await conn.query('BEGIN');
        const tx: SqlExecutor = {
          async query<R>(sql: string, params: readonly unknown[] = [], queryOptions?: QueryOptions) {
            const r = await conn.query(statement(sql, params as unknown[], queryOptions));
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
        await conn.query('ROLLBACK').catch((rollbackError: unknown) => {
          broken ??= rollbackError as Error;
        });
        throw e;
      } finally {
        conn.off('error', onError);
        conn.release(broken);
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

/**
 * Opens PGlite in `dataDir` (or in memory when undefined).
 *
 * A new cluster (in memory, or a data directory that does not exist yet) is made from the machine's cluster
 * template when there is one (pglite-template.ts: 0.8–1.1 s in memory and 2.1–2.9 s into a new directory,
 * instead of an initdb's 4–7 s), else by initdb.
 *
 * A new data directory is made in a short-lived child process. PGlite's initdb runs in a second WASM
 * instance whose memory (about 700 MB here) the engine returns to the OS only when it collects it, if ever;
 * in a child process it is gone when the child exits, so the service that keeps running holds only the
 * database it serves (like a server, where initdb is its own program too). The child builds the directory
 * beside the target and renames it into place when complete, so an interrupted first start leaves nothing
 * half-made behind.
 */
export async function openPglite(dataDir?: string): Promise<PGlite> {
  const { PGlite } = await import('@electric-sql/pglite');
  const startParams = [...PGlite.defaultStartParams, '-c', `shared_buffers=${PGLITE_SHARED_BUFFERS}`];
  if (dataDir !== undefined && !existsSync(join(dataDir, 'PG_VERSION'))) await initPgliteDataDir(dataDir, startParams);
  // pg_trgm: the embedded search adapter's trigram similarity (issue 12 §3); loaded, not yet created: a
  // read model that needs it runs CREATE EXTENSION in its DDL, as on a server.
  const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');
  const open = (loadDataDir?: Blob) => PGlite.create({ ...(dataDir ? { dataDir } : {}), ...(loadDataDir ? { loadDataDir } : {}), extensions: { pg_trgm }, startParams });
  if (dataDir !== undefined) return open();
  const template = await pgliteTemplateBytes(startParams);
  if (template === undefined) return open();
  try {
    return await open(new Blob([template]));
  } catch {
    await dropPgliteTemplate(await pgliteTemplatePath(startParams));
    return open();
  }
}

async function initPgliteDataDir(dataDir: string, startParams: readonly string[]): Promise<void> {
  const existing = await readdir(dataDir).catch(() => []);
  if (existing.length > 0) {
    throw new Error(`${dataDir} is neither a PGlite database (no PG_VERSION) nor empty; move it away or point DATA_DIR elsewhere`);
  }
  const staging = `${dataDir}.initdb-${process.pid}`;
  // argv: the PGlite module, the staging directory, the start parameters, the template file ('' for initdb).
  const script = `const [{ PGlite }, { readFile }] = await Promise.all([import(process.argv[1]), import('node:fs/promises')]);
const loadDataDir = process.argv[4] ? new Blob([await readFile(process.argv[4])]) : undefined;
const db = await PGlite.create({ dataDir: process.argv[2], startParams: JSON.parse(process.argv[3]), ...(loadDataDir ? { loadDataDir } : {}) });
await db.close();`;
  const build = async (template: string | undefined) => {
    await rm(staging, { recursive: true, force: true });
    await runPgliteChild(script, [staging, JSON.stringify(startParams), template ?? '']);
  };
  const template = await pgliteTemplateFile(startParams);
  try {
    await build(template).catch(async (e: unknown) => {
      if (template === undefined) throw e;
      // A template PGlite refuses (damaged on disk) is dropped, and this cluster made by initdb.
      await dropPgliteTemplate(template);
      await build(undefined);
    });
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    const err = e as { stderr?: string; message: string };
    throw new Error(`initialising the PGlite database in ${dataDir} failed: ${err.stderr?.trim() || err.message}`);
  }
  // The empty directory the caller may have made is replaced.
  await rmdir(dataDir).catch(() => undefined);
  await rename(staging, dataDir).catch(async (e: unknown) => {
    await rm(staging, { recursive: true, force: true });
    throw new Error(`could not move the new PGlite database into ${dataDir}: ${(e as Error).message}`);
  });
}

import { Worker } from 'node:worker_threads';
import type { SqlClient, SqlExecutor } from '../../platform/sql/client.js';

/**
 * An embedded PGlite database served from a thread of its own, behind the same SqlClient the adapters
 * take. PGlite runs PostgreSQL on the thread that calls it, so in one thread the seed's every statement
 * waits for the command API's work (validation, deciders, codec) and that work waits for PostgreSQL: one
 * core for both. In its own thread the database executes while the commands in flight are prepared, on
 * the machine's other core. Same engine, same data directory, same SQL, same transactions; only where it
 * runs changes. Opened with the platform's opener (platform/sql/client.ts: initdb in a child process, the
 * same start parameters), so the directory is the one `annals start` opens.
 *
 * A transaction holds the database for its duration, as in process: PGlite has one connection, and the
 * statements of other callers wait until it commits or rolls back.
 */
type Request =
  | { readonly id: number; readonly op: 'query'; readonly sql: string; readonly params: readonly unknown[]; readonly tx?: number }
  | { readonly id: number; readonly op: 'exec'; readonly sql: string; readonly tx?: number }
  | { readonly id: number; readonly op: 'begin' }
  | { readonly id: number; readonly op: 'end'; readonly tx: number; readonly commit: boolean }
  | { readonly id: number; readonly op: 'close' };

export type PgliteThreadRequest = Request;

/** A database error crosses the thread as its fields: the adapters read `code` and `detail` (platform/event-store/postgres). */
export interface PgliteThreadError {
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

export type PgliteThreadReply = { readonly id: number; readonly rows?: unknown[]; readonly tx?: number } | { readonly id: number; readonly error: PgliteThreadError };

const BOOT = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./pglite-host.ts', import.meta.url).href)}); });`;

export async function pgliteThreadClient(dataDir: string, sharedBuffers = '16MB'): Promise<SqlClient> {
  const worker = new Worker(BOOT, { eval: true, workerData: { dataDir, sharedBuffers } });
  let next = 1;
  let failed: Error | undefined;
  const pending = new Map<number, { resolve: (r: { rows?: unknown[]; tx?: number }) => void; reject: (e: Error) => void }>();
  const failAll = (err: Error) => {
    failed ??= err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  let started: { resolve: () => void; reject: (e: Error) => void } | undefined;
  const ready = new Promise<void>((resolve, reject) => (started = { resolve, reject }));
  worker.on('message', (m: PgliteThreadReply | { ready: true }) => {
    if ('ready' in m) return started!.resolve();
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if ('error' in m) p.reject(Object.assign(new Error(m.error.message), m.error.fields));
    else p.resolve(m);
  });
  worker.on('error', (err) => {
    failAll(err);
    started!.reject(err);
  });
  worker.on('exit', (code) => {
    const err = new Error(`the PGlite thread of ${dataDir} exited (code ${code})`);
    failAll(err);
    started!.reject(err);
  });
  await ready;

  type Body = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;
  const call = (body: Body): Promise<{ rows?: unknown[]; tx?: number }> => {
    if (failed) return Promise.reject(failed);
    const id = next++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...body, id });
    });
  };
  const executor = (tx?: number): SqlExecutor => ({
    async query<R>(sql: string, params: readonly unknown[] = []) {
      const r = await call({ op: 'query', sql, params, ...(tx === undefined ? {} : { tx }) });
      return { rows: (r.rows ?? []) as R[] };
    },
    async exec(sql: string) {
      await call({ op: 'exec', sql, ...(tx === undefined ? {} : { tx }) });
    },
  });
  const outside = executor();
  return {
    dialect: 'pglite',
    query: outside.query,
    exec: outside.exec,
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      const { tx } = await call({ op: 'begin' });
      let result: T;
      try {
        result = await fn(executor(tx!));
      } catch (err) {
        await call({ op: 'end', tx: tx!, commit: false }).catch(() => undefined);
        throw err;
      }
      await call({ op: 'end', tx: tx!, commit: true });
      return result;
    },
    async close() {
      if (!failed) await call({ op: 'close' }).catch(() => undefined);
      await worker.terminate();
    },
  };
}

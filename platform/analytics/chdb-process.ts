import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AnalyticsError, AnalyticsErrorCode, assertDatabaseName, type AnalyticsEngine } from './port.js';

export interface ChdbProcessOptions {
  readonly path: string;
  readonly database: string;
  /** How long one call may take before it fails (ms; default 10 minutes: a rebuild inserts large batches). */
  readonly callTimeoutMs?: number;
}

/** What a failed call of a dead or restarting host looks like: transient for the projection runtime. */
function hostGone(message: string): AnalyticsError {
  const cause = Object.assign(new Error(message), { code: 'ECONNRESET' });
  return new AnalyticsError(AnalyticsErrorCode.QueryFailed, `chdb host: ${message}`, 503, undefined, { cause });
}

/** The loader flags of this process (`--import tsx`), without test-runner or inspector flags. */
function loaderArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if ((a === '--import' || a === '--require' || a === '--loader' || a === '--experimental-loader') && i + 1 < argv.length) out.push(a, argv[++i]!);
    else if (/^--(import|require|loader|experimental-loader)=/.test(a)) out.push(a);
  }
  return out;
}

/**
 * chDB in its own child process (chdb-host.ts), behind the same port: the embedded analytics engine of
 * `npm start`. Same SQL, same results as `chdbEngine`; the rows cross a Node IPC channel. If the host
 * dies, the calls in flight fail as transient (the projector waits and retries them, idempotently) and
 * the next call starts a new host on the same data path.
 */
export async function chdbProcessEngine(options: ChdbProcessOptions): Promise<AnalyticsEngine & { readonly pid: () => number | undefined }> {
  const database = assertDatabaseName(options.database);
  const timeoutMs = options.callTimeoutMs ?? 600_000;
  const hostPath = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './chdb-host.ts' : './chdb-host.js', import.meta.url));
  let child: ChildProcess | undefined;
  let opening: Promise<ChildProcess> | undefined;
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  let closed = false;

  const failAll = (message: string) => {
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      p.reject(hostGone(message));
      pending.delete(id);
    }
  };

  const send = (c: ChildProcess, op: string, args: unknown[]): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(hostGone(`${op} took longer than ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, { resolve, reject, timer });
      c.send({ id, op, args }, (err) => {
        if (err) {
          clearTimeout(timer);
          pending.delete(id);
          reject(hostGone(err.message));
        }
      });
    });

  const start = async (): Promise<ChildProcess> => {
    // The host runs with this process's loader (tsx under `npm start`), nothing else of its argv.
    const c = fork(hostPath, [], { execArgv: loaderArgs(process.execArgv), serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    c.on('message', (m: { id: number; ok: boolean; result?: unknown; error?: { message: string; code?: string; details?: Record<string, unknown> } }) => {
      const p = pending.get(m.id);
      if (!p) return;
      clearTimeout(p.timer);
      pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new AnalyticsError(AnalyticsErrorCode.QueryFailed, m.error?.message ?? 'chdb host failed', 503, m.error?.details));
    });
    c.on('exit', (code, signal) => {
      if (child === c) child = undefined;
      failAll(`the host exited (${signal ?? code})`);
    });
    await send(c, 'open', [options.path, database]);
    return c;
  };

  const host = async (): Promise<ChildProcess> => {
    if (closed) throw hostGone('the engine is closed');
    if (child) return child;
    opening ??= start()
      .then((c) => {
        child = c;
        return c;
      })
      .finally(() => {
        opening = undefined;
      });
    return opening;
  };

  const call = async (op: string, ...args: unknown[]) => send(await host(), op, args);
  await host();
  return {
    kind: 'embedded',
    database,
    pid: () => child?.pid,
    command: async (sql) => {
      await call('command', sql);
    },
    query: async <T extends Record<string, unknown>>(sql: string) => (await call('query', sql)) as T[],
    insert: async (table, rows) => {
      if (rows.length > 0) await call('insert', table, rows);
    },
    insertJsonLines: async (table, lines) => {
      const text = typeof lines === 'string' ? lines : [...lines].join('');
      if (text.length > 0) await call('insertJsonLines', table, text);
    },
    ping: async () => {
      await call('ping');
    },
    close: async () => {
      if (closed) return;
      const c = child;
      if (c) {
        const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
        await send(c, 'close', []).catch(() => undefined);
        const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      closed = true;
    },
  };
}

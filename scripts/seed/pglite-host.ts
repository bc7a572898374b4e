import { parentPort, workerData } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { openPglite } from '../../platform/sql/client.js';
import type { PgliteThreadReply, PgliteThreadRequest } from './pglite-thread.js';

/** The thread that serves one PGlite database to `pgliteThreadClient` (pglite-thread.ts). */
const port = parentPort!;
const { dataDir, sharedBuffers } = workerData as { dataDir: string; sharedBuffers: string };
const db = await openDatabase(dataDir);

/**
 * The platform's opener makes a new directory (initdb in a child process); the database is then opened with a
 * larger buffer pool than the services' 16MB (platform/sql/client.ts: PGLITE_SHARED_BUFFERS, sized for
 * `npm start`'s memory). The seed reads back every stream it writes to: past the pool, each page is a
 * system call through PGlite's file system, and a seed of 100,000 persons writes about a gigabyte.
 */
async function openDatabase(dir: string): Promise<PGlite> {
  if (!existsSync(join(dir, 'PG_VERSION'))) await (await openPglite(dir)).close();
  const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');
  return PGlite.create({ dataDir: dir, extensions: { pg_trgm }, startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${sharedBuffers}`] });
}
const open = new Map<number, { tx: Transaction; end: (commit: boolean) => void; done: Promise<unknown> }>();
let nextTx = 1;
const ROLLBACK = new Error('rolled back by the client');

const reply = (m: PgliteThreadReply) => port.postMessage(m);
const failure = (id: number, err: unknown): PgliteThreadReply => {
  const e = err as Error & Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (const k of ['code', 'detail', 'hint', 'constraint', 'table', 'schema', 'column', 'severity', 'where', 'position']) if (e[k] !== undefined) fields[k] = e[k];
  return { id, error: { message: e.message ?? String(err), fields } };
};

port.on('message', (m: PgliteThreadRequest) => {
  void handle(m).catch((err: unknown) => reply(failure(m.id, err)));
});

async function handle(m: PgliteThreadRequest): Promise<void> {
  switch (m.op) {
    case 'query': {
      const on = m.tx === undefined ? db : open.get(m.tx)?.tx;
      if (!on) throw new Error(`transaction ${m.tx} is not open`);
      const r = await on.query(m.sql, m.params as unknown[]);
      return reply({ id: m.id, rows: r.rows });
    }
    case 'exec': {
      const on = m.tx === undefined ? db : open.get(m.tx)?.tx;
      if (!on) throw new Error(`transaction ${m.tx} is not open`);
      await on.exec(m.sql);
      return reply({ id: m.id });
    }
    case 'begin': {
      const tx = nextTx++;
      // PGlite's transaction runs until its callback settles, which it does when the client sends 'end'.
      let begun: ((t: Transaction, end: (commit: boolean) => void) => void) | undefined;
      const started = new Promise<{ t: Transaction; end: (commit: boolean) => void }>((resolve) => (begun = (t, end) => resolve({ t, end })));
      const done = db.transaction((t) => new Promise<void>((resolve, reject) => begun!(t, (commit) => (commit ? resolve() : reject(ROLLBACK)))));
      const first = await Promise.race([started, done.then(() => undefined)]);
      if (!first) throw new Error('the transaction ended before it began');
      open.set(tx, { tx: first.t, end: first.end, done });
      return reply({ id: m.id, tx });
    }
    case 'end': {
      const t = open.get(m.tx);
      if (!t) throw new Error(`transaction ${m.tx} is not open`);
      open.delete(m.tx);
      t.end(m.commit);
      try {
        await t.done;
      } catch (err) {
        if (err !== ROLLBACK) throw err;
      }
      return reply({ id: m.id });
    }
    case 'close':
      await db.close();
      return reply({ id: m.id });
  }
}

port.postMessage({ ready: true });

import { chdbEngine } from './chdb.js';
import type { AnalyticsEngine } from './port.js';

/**
 * The child process that hosts chDB for `chdbProcessEngine` (chdb-process.ts). chDB maps about 210 MB of
 * engine into whatever process loads it; `npm start` already peaks near 450 MB on its own, so the engine
 * lives here, beside it, and each process keeps within the 512 MB budget of a service.
 *
 * Protocol (Node IPC, advanced serialization): the parent sends `{ id, op, args }`; this answers
 * `{ id, ok: true, result }` or `{ id, ok: false, error: { message, code } }`. `open` must come first.
 * The process exits when its parent goes away (the IPC channel closes).
 */
type Request = { id: number; op: 'open' | 'command' | 'query' | 'insert' | 'insertJsonLines' | 'ping' | 'close'; args: unknown[] };

let engine: AnalyticsEngine | undefined;

const reply = (m: unknown) => process.send?.(m);

process.on('message', (raw: unknown) => {
  const { id, op, args } = raw as Request;
  void (async () => {
    try {
      let result: unknown;
      if (op === 'open') {
        const [path, database] = args as [string, string];
        engine = await chdbEngine({ path, database });
      } else {
        if (!engine) throw new Error('the analytics host was not opened');
        if (op === 'command') await engine.command(args[0] as string);
        else if (op === 'query') result = await engine.query(args[0] as string);
        else if (op === 'insert') await engine.insert(args[0] as string, args[1] as Record<string, unknown>[]);
        else if (op === 'insertJsonLines') await engine.insertJsonLines(args[0] as string, args[1] as string);
        else if (op === 'ping') await engine.ping();
        else if (op === 'close') {
          await engine.close();
          engine = undefined;
          reply({ id, ok: true });
          process.disconnect?.();
          return;
        }
      }
      reply({ id, ok: true, result });
    } catch (err) {
      const e = err as Error & { code?: string; details?: unknown };
      reply({ id, ok: false, error: { message: e.message, code: e.code, details: e.details } });
    }
  })();
});

// The parent is gone: close the engine cleanly (flushes nothing pending: every insert was acknowledged).
process.on('disconnect', () => {
  void (async () => {
    await engine?.close().catch(() => undefined);
    process.exit(0);
  })();
});

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { signDevToken } from '../../platform/auth/sign.js';
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER, secretPath } from '../../write-side/config.js';
import { captureLeadBody, runLoad, type LoadResult } from '../lib/load.js';
import { watchTree, type TreeRss } from '../lib/rss.js';
import type { ServiceWorkload } from './index.js';

/**
 * The one-process start (`npm start` runs `node scripts/cli/annals.mjs start`: a launcher that
 * re-executes node with tsx, so two processes) on its embedded adapters — PGlite event store, PGlite
 * read models, in-process bus, relay and projectors — in a fresh DATA_DIR, under the command load of
 * the command-api workload. Measures the peak RSS of the service: the processes still running at the end
 * (bench/lib/rss.ts); the one-shot PGlite initialisers of a first start are reported beside it.
 *
 * `start: 'first'` measures the very first start (both PGlite databases are initialised); `start: 'restart'`
 * starts once, stops, and measures the next start on the same DATA_DIR, the steady state of a deployment.
 */
export const oneProcess: ServiceWorkload = {
  kind: 'service',
  async run(system, p) {
    if (system !== 'annals-start') throw new Error(`the one-process workload runs annals-start, not ${system}`);
    const connections = Number(p.connections);
    const commands = Number(p.commands);
    const dataDir = await mkdtemp(join(os.tmpdir(), 'annals-bench-start-'));
    try {
      if (p.start === 'restart') await underLoad(dataDir, connections, 200);
      const { load, rss } = await underLoad(dataDir, connections, commands);
      // The budget is per service (process): npm start's service and, analytics on chDB, the chDB host it
      // starts beside it. The launcher and the chDB host are counted in the tree's figure.
      const largest = Math.max(...rss.processes.filter((x) => x.alive).map((x) => x.peakBytes));
      return {
        value: largest / 1024 / 1024,
        maxRssBytes: largest,
        elapsedMs: load.elapsedMs,
        detail: {
          treeMb: Math.round(rss.servicePeaks / 1024 / 1024),
          sampledPeakMb: Math.round(rss.sampledPeak / 1024 / 1024),
          // A first start initialises each PGlite database in a child process that exits before the service opens it.
          ...(rss.oneShotPeak > 0 ? { oneShotInitialiserPeakMb: Math.round(rss.oneShotPeak / 1024 / 1024) } : {}),
          ...Object.fromEntries(rss.processes.map((x, i) => [`process${i + 1}`, `${x.command}: ${Math.round(x.peakBytes / 1024 / 1024)} MB${x.alive ? '' : ' (exited)'}`])),
          commandsPerSec: Math.round(load.commandsPerSec),
          p95Ms: Math.round(load.p95Ms * 100) / 100,
        },
      };
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};

/** Every variable that would put a server adapter (or another key, secret or auth setting) under `annals start`. */
export const EMBEDDED_ONLY_DROPS =
  /^(EVENTSTORE_URL|ESDB_CONNECTION_STRING|READ_DB_URL|DATABASE_URL|RELAY_CHECKPOINT_DB_URL|KEYSTORE_URL|KAFKA_|CLICKHOUSE_|ELASTICSEARCH_|AUTH_|PII_)/;

/** Starts `annals start` in `dataDir`, runs the load, stops it gracefully; the tree is watched from spawn to stop. */
async function underLoad(dataDir: string, connections: number, commands: number): Promise<{ load: LoadResult; rss: TreeRss }> {
  const port = await freePort();
  // Only the embedded adapters: the servers the bench itself runs with (`annals stack env`) must not leak in.
  // CLICKHOUSE_URL and ELASTICSEARCH_URL once did: the row measured npm start on the ClickHouse server
  // (no chDB host in the tree) whenever the caller's shell had the stack's variables.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !EMBEDDED_ONLY_DROPS.test(k)));
  const child = spawn(process.execPath, ['scripts/cli/annals.mjs', 'start'], {
    // One bench user sends more than a person would: the limiter runs, but never throttles.
    env: { ...env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', RATE_LIMIT_MAX_PER_WINDOW: '1000000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const watch = watchTree(child.pid!);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const output = { text: '' };
  let measured: { load: LoadResult; rss: TreeRss };
  let code: number | null;
  try {
    await listening(child, output);
    const secret = (await readFile(secretPath(dataDir, 'auth-jwt-secret'), 'utf8')).trim();
    const token = await signDevToken({ secret, issuer: DEFAULT_ISSUER, audience: DEFAULT_AUDIENCE, tenant: 'tenant-bench', sub: 'user-bench', roles: ['sales'], ttlSeconds: 3600 });
    const load = await runLoad({ url: `http://127.0.0.1:${port}`, path: '/api/v1/leads', token, body: captureLeadBody, connections, warmup: 0, amount: commands });
    measured = { load, rss: watch.stop() };
  } finally {
    watch.stop();
    child.kill('SIGTERM');
    code = await exited;
  }
  if (code !== 0) throw new Error(`annals start exited with ${code} on SIGTERM: ${lastLines(output.text)}`);
  return measured;
}

/** Resolves on the "annals listening" log line; rejects if the process exits first. Keeps draining the output. */
function listening(child: ChildProcess, output: { text: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const keep = (d: Buffer) => (output.text = (output.text + d.toString()).slice(-8000));
    child.stdout!.on('data', (d: Buffer) => {
      keep(d);
      if (output.text.includes('annals listening')) resolve();
    });
    child.stderr!.on('data', keep);
    child.on('exit', (code) => reject(new Error(`annals start exited with ${code} before listening: ${lastLines(output.text)}`)));
  });
}

/** The last log lines that are not per-request lines, for an error message. */
function lastLines(text: string): string {
  return text.split('\n').filter((l) => l.trim() && !l.includes('request completed')).slice(-3).join(' | ').slice(-800);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address !== 'string' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

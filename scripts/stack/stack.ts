// `annals stack up | down | status | env [server…]`: real servers on this machine, no Docker.
import type { StackServer } from './server.js';
import { StackError, dataDir, errorMessage, sleep } from './proc.js';
import { postgres } from './postgres.js';
import { clickhouse } from './clickhouse.js';
import { kafka } from './kafka.js';
import { elasticsearch } from './elasticsearch.js';

export const SERVERS: readonly StackServer[] = [postgres, clickhouse, kafka, elasticsearch];

export const USAGE = `usage: annals stack <command> [server…]
  up [server…]      install what is missing, start (or reuse) servers, wait until healthy
  down [server…]    stop the servers this stack started
  status [server…]  address and health of each server (exit 3 if any is not healthy)
  env               export lines for the shell: eval "$(annals stack env)"
servers: ${SERVERS.map((s) => s.name).join(', ')} (default: all)
DATA_DIR (default ./.annals, relative to the repo root) holds data and logs in DATA_DIR/stack/<server>/`;

function select(names: string[]): StackServer[] {
  if (names.length === 0) return [...SERVERS];
  const unknown = names.filter((n) => !SERVERS.some((s) => s.name === n));
  if (unknown.length > 0) throw new StackError(`unknown server(s): ${unknown.join(', ')}; known: ${SERVERS.map((s) => s.name).join(', ')}`);
  return SERVERS.filter((s) => names.includes(s.name));
}

const elapsed = (t0: number): string => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

// Reuse a healthy server of ours; replace one whose process is gone or that stays unhealthy.
async function ensureUp(server: StackServer): Promise<string> {
  const t0 = Date.now();
  await server.install();
  const pid = server.runningPid();
  if (pid !== undefined) {
    // A few tries: a busy server (GC pause, another `up` still starting it) is not a dead one.
    for (let i = 0; i < 5; i++) {
      const h = await server.health();
      if (h.ok) {
        await server.ensureReady?.();
        return `reused pid ${pid} (${h.detail})`;
      }
      await sleep(1_000);
    }
    process.stderr.write(`stack: ${server.name} pid ${pid} is running but unhealthy; restarting it\n`);
    await server.stop();
  } else {
    server.clearStalePid();
  }
  await server.start();
  const h = await server.health();
  return `started pid ${server.runningPid() ?? '?'} in ${elapsed(t0)} (${h.detail})`;
}

async function up(servers: StackServer[]): Promise<number> {
  const t0 = Date.now();
  process.stderr.write(`stack: up ${servers.map((s) => s.name).join(', ')} (data in ${dataDir()}/stack)\n`);
  // In parallel: the JVMs dominate start-up and mostly wait on I/O and class loading.
  const results = await Promise.allSettled(servers.map((s) => ensureUp(s)));
  let failed = 0;
  results.forEach((r, i) => {
    const name = servers[i]?.name ?? '?';
    if (r.status === 'fulfilled') process.stderr.write(`stack: ${name.padEnd(13)} ${r.value}\n`);
    else {
      failed++;
      process.stderr.write(`stack: ${name.padEnd(13)} FAILED: ${errorMessage(r.reason)}\n`);
    }
  });
  process.stderr.write(`stack: up ${failed === 0 ? 'done' : `failed (${failed} server(s))`} in ${elapsed(t0)}\n`);
  return failed === 0 ? 0 : 1;
}

async function down(servers: StackServer[]): Promise<number> {
  const results = await Promise.allSettled(servers.map((s) => s.stop()));
  let failed = 0;
  results.forEach((r, i) => {
    const name = servers[i]?.name ?? '?';
    if (r.status === 'fulfilled') process.stderr.write(`stack: ${name.padEnd(13)} ${r.value}\n`);
    else {
      failed++;
      process.stderr.write(`stack: ${name.padEnd(13)} FAILED to stop: ${errorMessage(r.reason)}\n`);
    }
  });
  return failed === 0 ? 0 : 1;
}

async function status(servers: StackServer[]): Promise<number> {
  const rows = await Promise.all(
    servers.map(async (s) => {
      const pid = s.runningPid();
      const h = await s.health();
      const state = h.ok ? (pid !== undefined ? 'healthy' : 'healthy (not started by this stack)') : pid !== undefined ? 'UNHEALTHY' : 'down';
      return { ok: h.ok, line: `${s.name.padEnd(13)} ${s.address().padEnd(24)} ${(pid === undefined ? '-' : String(pid)).padEnd(8)} ${state.padEnd(10)} ${h.ok ? h.detail : pid !== undefined ? h.detail : ''}`.trimEnd() };
    }),
  );
  process.stdout.write(`${'server'.padEnd(13)} ${'address'.padEnd(24)} ${'pid'.padEnd(8)} state\n`);
  for (const r of rows) process.stdout.write(`${r.line}\n`);
  process.stdout.write(`data: ${dataDir()}/stack\n`);
  return rows.every((r) => r.ok) ? 0 : 3;
}

// Single-quoted for POSIX shells; values are URLs today but quoting keeps `eval` safe regardless.
const shellQuote = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`;

function env(servers: StackServer[]): number {
  for (const s of servers) for (const [k, v] of Object.entries(s.env())) process.stdout.write(`export ${k}=${shellQuote(v)}\n`);
  return 0;
}

export async function stackCommand(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case 'up':
        return await up(select(rest));
      case 'down':
        return await down(select(rest));
      case 'status':
        return await status(select(rest));
      case 'env':
        return env(select(rest));
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        process.stderr.write(`unknown stack command "${command}"\n${USAGE}\n`);
        return 2;
    }
  } catch (e) {
    process.stderr.write(`stack: ${errorMessage(e)}\n`);
    return 1;
  }
}

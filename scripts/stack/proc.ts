// Shared plumbing for the stack servers: paths, the unprivileged service user, running commands,
// detached daemons with pid files, health waits and clean stops.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, writeFileSync, rmSync, chownSync, renameSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir } from '../../platform/config/cache-dir.js';
import { JAVA_HOME_CANDIDATES, SERVICE_USER } from './versions.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

// DATA_DIR is resolved against the repo root (not the cwd) so `npx annals stack …` from a
// sub-directory and `.ci/run` from the root agree on where the servers live.
export function dataDir(): string {
  return resolve(REPO_ROOT, process.env.DATA_DIR ?? './.annals');
}

export function stackDir(server: string): string {
  return join(dataDir(), 'stack', server);
}

export { cacheDir };

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class StackError extends Error {}

// ---------------------------------------------------------------------------------------------
// Service user

export interface ServiceUser {
  name: string;
  uid: number;
  gid: number;
  // When we are not root we cannot switch user; servers then run as ourselves.
  switchUser: boolean;
}

let serviceUserPromise: Promise<ServiceUser> | undefined;

export function serviceUser(): Promise<ServiceUser> {
  serviceUserPromise ??= (async () => {
    const uid = process.getuid?.() ?? -1;
    if (uid !== 0) {
      return { name: process.env.USER ?? 'self', uid, gid: process.getgid?.() ?? -1, switchUser: false };
    }
    let entry = lookupPasswd(SERVICE_USER);
    if (!entry) {
      await run('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', SERVICE_USER]);
      entry = lookupPasswd(SERVICE_USER);
      if (!entry) throw new StackError(`useradd ${SERVICE_USER} succeeded but the user is not in /etc/passwd`);
    }
    return { name: SERVICE_USER, uid: entry.uid, gid: entry.gid, switchUser: true };
  })();
  return serviceUserPromise;
}

function lookupPasswd(name: string): { uid: number; gid: number } | undefined {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid && gid) return { uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

// Creates a directory the service user owns. Every ancestor must be traversable by that user:
// a DATA_DIR under /root (mode 700) would make the servers fail with obscure errors, so we
// say so up front.
export async function ensureServiceDir(path: string): Promise<void> {
  const user = await serviceUser();
  mkdirSync(path, { recursive: true });
  if (!user.switchUser) return;
  chownSync(path, user.uid, user.gid);
  for (let p = dirname(path); p !== dirname(p); p = dirname(p)) {
    const st = statSync(p);
    const traversable = (st.mode & 0o001) !== 0 || (st.uid === user.uid && (st.mode & 0o100) !== 0) || (st.gid === user.gid && (st.mode & 0o010) !== 0);
    if (!traversable) {
      throw new StackError(`${p} is not traversable by the service user "${user.name}", which needs to reach ${path}; set DATA_DIR to a directory outside it or chmod o+x ${p}`);
    }
  }
}

// chown -R for directories we populate as root (config files written before the server starts).
export async function chownTree(path: string): Promise<void> {
  const user = await serviceUser();
  if (!user.switchUser) return;
  const walk = (p: string): void => {
    chownSync(p, user.uid, user.gid);
    if (statSync(p).isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
  };
  walk(path);
}

// Makes a cached download readable by the service user: the cache lives in the invoking user's
// home (often /root, mode 700), so the files are hard-linked (instant, no extra disk) or copied
// into DATA_DIR. `marker` records what was staged so a version bump restages.
export async function stageFromCache(src: string, dest: string, marker: string): Promise<void> {
  const markerFile = join(dest, '.staged');
  if (existsSync(markerFile) && readFileSync(markerFile, 'utf8') === marker) return;
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dirname(dest), { recursive: true });
  const linked = await runUnchecked('cp', ['-al', src, dest]);
  if (linked.code !== 0) {
    rmSync(dest, { recursive: true, force: true });
    await run('cp', ['-a', src, dest]);
  }
  writeFileSync(markerFile, marker);
}

export function writeFileAs(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

// ---------------------------------------------------------------------------------------------
// Commands

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  asServiceUser?: boolean;
  timeoutMs?: number;
  // Appended to this file as well as captured, so install/format steps leave a trace in the logs.
  logFile?: string;
}

export interface RunResult {
  code: number;
  output: string;
}

// Runs a command to completion; rejects with its output when it fails.
export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await runUnchecked(cmd, args, opts);
  if (r.code !== 0) {
    throw new StackError(`\`${[cmd, ...args].join(' ')}\` exited with ${r.code}:\n${lastLines(r.output, 30)}`);
  }
  return r;
}

export async function runUnchecked(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const ids = opts.asServiceUser ? await idsFor() : {};
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], ...ids });
    let output = '';
    const onData = (b: Buffer): void => {
      output += b.toString();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          child.kill('SIGKILL');
          output += `\n[killed after ${opts.timeoutMs} ms]`;
        }, opts.timeoutMs)
      : undefined;
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new StackError(`cannot run ${cmd}: ${e.message}`));
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      if (opts.logFile) {
        try {
          mkdirSync(dirname(opts.logFile), { recursive: true });
          writeFileSync(opts.logFile, `$ ${[cmd, ...args].join(' ')}\n${output}\n`, { flag: 'a' });
          // The server (running as the service user) may append to the same log later.
          if (ids.uid !== undefined && ids.gid !== undefined) chownSync(opts.logFile, ids.uid, ids.gid);
        } catch {
          // The log is a convenience; the output is still returned to the caller.
        }
      }
      resolvePromise({ code: code ?? 1, output });
    });
  });
}

async function idsFor(): Promise<{ uid?: number; gid?: number }> {
  const user = await serviceUser();
  return user.switchUser ? { uid: user.uid, gid: user.gid } : {};
}

// Serialises apt-get and mvn across servers installing in parallel (dpkg holds one lock, and two
// Maven processes writing the same local repository can corrupt it).
const locks = new Map<string, Promise<unknown>>();
export function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const previous = locks.get(name) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(fn);
  locks.set(name, next);
  return next;
}

let aptUpdated = false;
export function aptInstall(pkg: string): Promise<void> {
  return withLock('apt', async () => {
    if ((process.getuid?.() ?? -1) !== 0) {
      throw new StackError(`Debian package ${pkg} is missing; install it with: sudo apt-get install -y ${pkg}`);
    }
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    if (!aptUpdated) {
      await run('apt-get', ['update'], { env, timeoutMs: 300_000 });
      aptUpdated = true;
    }
    await run('apt-get', ['install', '-y', '--no-install-recommends', pkg], { env, timeoutMs: 600_000 });
  });
}

export function mvn(args: string[], cwd: string, logFile: string): Promise<RunResult> {
  return withLock('mvn', () =>
    run('mvn', ['-B', '-q', `-Dmaven.repo.local=${cacheDir('m2')}`, ...args], { cwd, logFile, env: { ...process.env, JAVA_HOME: javaHome() }, timeoutMs: 900_000 }),
  );
}

export function javaHome(): string {
  const candidates = [process.env.ANNALS_JAVA_HOME, ...JAVA_HOME_CANDIDATES, process.env.JAVA_HOME].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(join(p, 'bin', 'java')));
  if (!found) throw new StackError(`no Java 17 found (tried ${candidates.join(', ')}); set ANNALS_JAVA_HOME`);
  return found;
}

// ---------------------------------------------------------------------------------------------
// Daemons

export interface DaemonSpec {
  cmd: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
}

// Starts a long-running server detached from this CLI (its own process group, stdio to a log
// file) so it outlives `annals stack up`. Returns its pid.
export async function spawnDaemon(spec: DaemonSpec): Promise<number> {
  const ids = await idsFor();
  mkdirSync(dirname(spec.logFile), { recursive: true });
  // Keep one previous log: enough to debug the last crash without growing forever.
  if (existsSync(spec.logFile) && statSync(spec.logFile).size > 20 * 1024 * 1024) renameSync(spec.logFile, `${spec.logFile}.1`);
  const fd = openSync(spec.logFile, 'a');
  if (ids.uid !== undefined && ids.gid !== undefined) chownSync(spec.logFile, ids.uid, ids.gid);
  try {
    const child = spawn(spec.cmd, spec.args, { cwd: spec.cwd, env: spec.env, detached: true, stdio: ['ignore', fd, fd], ...ids });
    const pid = await new Promise<number>((res, rej) => {
      child.once('error', (e) => rej(new StackError(`cannot start ${spec.cmd}: ${e.message}`)));
      child.once('spawn', () => res(child.pid ?? -1));
    });
    child.unref();
    return pid;
  } finally {
    closeSync(fd);
  }
}

export function readPidFile(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').split('\n')[0]?.trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function writePidFile(path: string, pid: number): void {
  writeFileSync(path, `${pid}\n`);
}

export function removeFile(path: string): void {
  rmSync(path, { force: true });
}

// True when pid is alive AND its command line mentions `marker` (a path unique to this server
// in this DATA_DIR). Guards against pid reuse: we must never signal a process we did not start.
export function isOurProcess(pid: number | undefined, marker: string): pid is number {
  if (pid === undefined) return false;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // A zombie (state Z) is gone for our purposes.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && cmdline.includes(marker);
  } catch {
    return false;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * `stop()` of a server we run from a pid file (Kafka, Elasticsearch, ClickHouse): stop the pid if it is
 * ours and alive, else clear a stale pid file; returns what happened, for `stack down`.
 */
export async function stopPidFileServer(server: { runningPid(): number | undefined; clearStalePid(): void }, pidFile: string, timeoutMs?: number): Promise<string> {
  const pid = server.runningPid();
  if (pid === undefined) {
    server.clearStalePid();
    return 'not running';
  }
  const how = await stopPid(pid, timeoutMs);
  removeFile(pidFile);
  return `${how} (pid ${pid})`;
}

// SIGTERM, wait for a clean shutdown (servers flush on TERM), then SIGKILL as a last resort.
export async function stopPid(pid: number, timeoutMs = 30_000): Promise<'stopped' | 'killed'> {
  try {
    process.kill(pid, 'SIGTERM');
    // A stopped (SIGSTOP/Ctrl-Z) server would only see the TERM once continued.
    process.kill(pid, 'SIGCONT');
  } catch {
    return 'stopped';
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'stopped';
    await sleep(200);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Exited between the check and the kill.
  }
  return 'killed';
}

// ---------------------------------------------------------------------------------------------
// Health

export interface Health {
  ok: boolean;
  detail: string;
}

export interface WaitOptions {
  name: string;
  timeoutMs: number;
  logFile: string;
  // When given, a process that dies while we wait fails fast instead of running out the clock.
  pid?: () => number | undefined;
}

export async function waitHealthy(check: () => Promise<Health>, opts: WaitOptions): Promise<Health> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: Health = { ok: false, detail: 'not checked yet' };
  for (;;) {
    last = await check().catch((e: unknown) => ({ ok: false, detail: errorMessage(e) }));
    if (last.ok) return last;
    const pid = opts.pid?.();
    if (opts.pid && (pid === undefined || !isAlive(pid))) {
      throw new StackError(`${opts.name} exited during start-up (last health check: ${last.detail}).\n--- ${opts.logFile} (tail) ---\n${tailFile(opts.logFile)}`);
    }
    if (Date.now() > deadline) {
      throw new StackError(`${opts.name} not healthy after ${Math.round(opts.timeoutMs / 1000)} s (last health check: ${last.detail}).\n--- ${opts.logFile} (tail) ---\n${tailFile(opts.logFile)}`);
    }
    await sleep(500);
  }
}

export function tailFile(path: string, lines = 40): string {
  try {
    return lastLines(readFileSync(path, 'utf8'), lines);
  } catch {
    return `(no log at ${path})`;
  }
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    return cause instanceof Error ? `${e.message} (${cause.message})` : e.message;
  }
  return String(e);
}

export async function httpGet(url: string, timeoutMs = 2_000): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text() };
}

// Something already listening on a port we are about to use means a foreign process (or a
// server of ours whose pid file was lost): starting would fail with a less helpful error.
export function portInUse(host: string, port: number): Promise<boolean> {
  return new Promise((res) => {
    const socket = connect({ host, port });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      res(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      res(false);
    });
    socket.once('error', () => res(false));
  });
}

export async function assertPortsFree(name: string, host: string, ports: number[]): Promise<void> {
  for (const port of ports) {
    if (await portInUse(host, port)) {
      throw new StackError(`${name}: ${host}:${port} is already in use by a process this stack did not start (no valid pid file); stop it or change PORTS in scripts/stack/versions.ts`);
    }
  }
}

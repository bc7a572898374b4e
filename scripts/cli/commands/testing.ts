import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The CLI entry the tests run, as a user would (`node scripts/cli/annals.mjs …`). */
export const cli = fileURLToPath(new URL('../annals.mjs', import.meta.url));

/** Runs `annals <args>` to completion; resolves its stdout when it exits 0, rejects with its stderr otherwise. */
export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += String(d)));
    p.stderr.on('data', (d) => (err += String(d)));
    p.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`annals ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

/** Polls `check` every 250 ms until it holds (a throw counts as not yet); fails after `timeoutMs` with `context()`. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, context: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms\n${context()}`);
}

/**
 * The environment of an `annals start` on the embedded adapters in `dataDir`, whatever the caller's shell
 * says (`annals stack env` may have set server URLs): every server variable blanked, which means unset.
 */
export function embeddedStartEnv(dataDir: string, port: number, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', EVENTSTORE_URL: '', READ_DB_URL: '', KAFKA_BROKERS: '', KEYSTORE_URL: '', ...extra };
}

/** A spawned `annals start`: its process, everything it printed so far, and its exit code once it exits. */
export interface StartedProcess {
  readonly child: ReturnType<typeof spawn>;
  output(): string;
  readonly exited: Promise<number | null>;
}

/** Spawns `annals start` with `env` and resolves once `/readyz` answers 200 at `base` (fails after 120 s with its output). */
export async function startAndWaitReady(env: NodeJS.ProcessEnv, base: string): Promise<StartedProcess> {
  const child = spawn(process.execPath, [cli, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += String(d)));
  child.stderr.on('data', (d) => (output += String(d)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const started = { child, output: () => output, exited };
  try {
    await waitFor(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.ok === true, 120_000, () => output);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return started;
}

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { runShutdownSteps } from './shutdown.js';

describe('runShutdownSteps', () => {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });

  it('runs every step in order and returns 0', async () => {
    const order: string[] = [];
    const code = await runShutdownSteps(['app', 'bus', 'db'].map((name) => ({ name, run: async () => void order.push(name) })), logger);
    assert.equal(code, 0);
    assert.deepEqual(order, ['app', 'bus', 'db']);
  });

  it('keeps going after a failing step, logs which one failed, and returns 1', async () => {
    lines.length = 0;
    const order: string[] = [];
    const code = await runShutdownSteps(
      [
        { name: 'bus', run: async () => Promise.reject(new Error('broker gone')) },
        { name: 'db', run: async () => void order.push('db') },
      ],
      logger,
    );
    assert.equal(code, 1);
    assert.deepEqual(order, ['db'], 'the pool is still closed');
    const failure = lines.find((l) => l.msg === 'error during shutdown');
    assert.equal(failure?.step, 'bus');
  });
});

describe('onShutdownSignal', () => {
  it('exits after the steps even when a handle is still open, naming it', async () => {
    const script = fileURLToPath(new URL('./shutdown-linger.testing.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (out += String(d)));
    // Signalled once it says its handler is installed.
    const deadline = Date.now() + 30_000;
    while (!out.includes('"ready"')) {
      assert.ok(Date.now() < deadline, `the child never got ready:\n${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGTERM');
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000).unref());
    const code = await Promise.race([new Promise<number | null>((r) => child.once('exit', r)), timer]);
    if (code === 'timeout') child.kill('SIGKILL');
    assert.equal(code, 0, out);
    const lingering = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; open?: string[] }).find((l) => l.msg === 'still held open after shutdown; exiting');
    assert.ok(lingering?.open?.includes('Timeout'), out);
  });
});

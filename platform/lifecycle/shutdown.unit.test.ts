import assert from 'node:assert/strict';
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

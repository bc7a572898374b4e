import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chdbProcessEngine } from './chdb-process.js';
import { AnalyticsError } from './port.js';

describe('chDB in its own process (the embedded engine of npm start)', () => {
  let engine: Awaited<ReturnType<typeof chdbProcessEngine>>;
  before(async () => {
    engine = await chdbProcessEngine({ path: join(await mkdtemp(join(tmpdir(), 'annals-chdb-host-')), 'analytics'), database: 'annals' });
  });
  after(async () => {
    await engine?.close();
  });

  it('runs statements, inserts and queries across the IPC channel (64-bit as strings, hostile text exact)', async () => {
    await engine.command('CREATE TABLE t (p UInt64, s String) ENGINE = ReplacingMergeTree ORDER BY p');
    await engine.insert('t', [{ p: '18446744073709551615', s: "a'\\\n\u0000🚀" }, { p: '1', s: 'x' }]);
    await engine.insertJsonLines('t', '{"p":"2","s":"y"}\n');
    assert.deepEqual(await engine.query('SELECT p, s FROM t FINAL ORDER BY p'), [
      { p: '1', s: 'x' },
      { p: '2', s: 'y' },
      { p: '18446744073709551615', s: "a'\\\n\u0000🚀" },
    ]);
    await assert.rejects(engine.query('SELECT nope FROM t'), AnalyticsError);
  });

  it('a killed host fails the call in flight as transient, and the next call starts a new host on the same data', async () => {
    const pid = engine.pid()!;
    const inFlight = engine.query('SELECT sleepEachRow(0.5) FROM numbers(6)');
    process.kill(pid, 'SIGKILL');
    await assert.rejects(inFlight, (e: AnalyticsError) => (e.cause as { code?: string }).code === 'ECONNRESET');
    assert.deepEqual(await engine.query('SELECT count() AS n FROM t FINAL'), [{ n: '3' }]);
    assert.notEqual(engine.pid(), pid);
  });
});

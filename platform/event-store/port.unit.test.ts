import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WrongExpectedRevisionError, appendWithRetries, classifyWindow, streamQueue, type ExpectedRevision } from './port.js';

// The append policy every adapter shares. The adapters' own behaviour is the contract suite's; these pin the
// policy with a store whose read and write are two steps (as on EventStoreDB, which cannot run here), so a
// race between them is as likely as it is there.

/** A stream that appends at "the revision I read", with a yield between the read and the write. */
function racyStream() {
  let revision = -1n;
  const written: number[] = [];
  const appendOnce = (expected: ExpectedRevision, n: number) => async () => {
    const seen = revision;
    if (expected === 'stream_exists' && seen < 0n) throw new WrongExpectedRevisionError('s', expected, 'no_stream');
    await new Promise((r) => setImmediate(r));
    if (revision !== seen) throw new WrongExpectedRevisionError('s', expected, revision);
    revision++;
    written.push(n);
    return revision;
  };
  return { appendOnce, written, revision: () => revision };
}

describe('appendWithRetries', () => {
  it('any survives a burst of 64 writers racing from several processes (no queue), each written once', async () => {
    const s = racyStream();
    const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
    await Promise.all(Array.from({ length: 64 }, (_, i) => appendWithRetries('any', s.appendOnce('any', i), { sleep })));
    assert.deepEqual([...s.written].sort((a, b) => a - b), Array.from({ length: 64 }, (_, i) => i));
  });

  it('stream_exists retries a lost race but not a missing stream', async () => {
    let calls = 0;
    const lose = (actual: bigint | 'no_stream', times: number) => async () => {
      calls++;
      if (calls <= times) throw new WrongExpectedRevisionError('s', 'stream_exists', actual);
      return 'ok';
    };
    const sleep = async () => {};
    assert.equal(await appendWithRetries('stream_exists', lose(4n, 25), { sleep }), 'ok');
    assert.equal(calls, 26);
    calls = 0;
    await assert.rejects(appendWithRetries('stream_exists', lose('no_stream', 1), { sleep }), WrongExpectedRevisionError);
    assert.equal(calls, 1, 'a missing stream is an answer, not a race');
  });

  it('never retries an exact revision or no_stream, nor an error that is not a conflict', async () => {
    for (const expected of [3n, 'no_stream'] as const) {
      let calls = 0;
      await assert.rejects(
        appendWithRetries(expected, async () => {
          calls++;
          throw new WrongExpectedRevisionError('s', expected, 7n);
        }),
        WrongExpectedRevisionError,
      );
      assert.equal(calls, 1, String(expected));
    }
    let calls = 0;
    await assert.rejects(
      appendWithRetries('any', async () => {
        calls++;
        throw new Error('connection reset');
      }),
      /connection reset/,
    );
    assert.equal(calls, 1);
  });

  it('waits a jittered, capped, growing delay between attempts and gives up after the budget', async () => {
    const delays: number[] = [];
    await assert.rejects(
      appendWithRetries(
        'any',
        async () => {
          throw new WrongExpectedRevisionError('s', 'any', 1n);
        },
        { retries: 12, baseDelayMs: 2, maxDelayMs: 50, sleep: async (ms) => void delays.push(ms) },
      ),
      WrongExpectedRevisionError,
    );
    assert.equal(delays.length, 12);
    delays.forEach((d, i) => assert.ok(d >= 0 && d <= Math.min(50, 2 * 2 ** i), `delay ${d} of attempt ${i}`));
    assert.ok(new Set(delays).size > 1, 'not in lock step');
    assert.ok(delays.slice(6).some((d) => d > 4), 'the backoff grows');
  });
});

describe('streamQueue', () => {
  it('runs one stream one at a time, other streams alongside, and a failure does not block the next', async () => {
    const run = streamQueue();
    let active = 0;
    let maxActive = 0;
    const order: string[] = [];
    const task = (name: string, fail = false) => async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      order.push(name);
      if (fail) throw new Error(name);
      return name;
    };
    const results = await Promise.allSettled([run('a', task('a1')), run('a', task('a2', true)), run('a', task('a3')), run('b', task('b1'))]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    assert.deepEqual(order.filter((n) => n.startsWith('a')), ['a1', 'a2', 'a3'], 'in call order');
    assert.equal(maxActive, 2, 'stream b ran beside stream a, never two of a');
  });
});

describe('classifyWindow', () => {
  it('retry only for the same ids in the same order; any shared id otherwise is an overlap', () => {
    assert.equal(classifyWindow(['a', 'b'], ['a', 'b']), 'retry');
    assert.equal(classifyWindow(['a', 'b'], []), 'fresh');
    assert.equal(classifyWindow(['a', 'b'], ['x', 'y']), 'fresh');
    assert.equal(classifyWindow(['a', 'b'], ['b', 'a']), 'overlap');
    assert.equal(classifyWindow(['a', 'b'], ['a']), 'overlap', 'a window cut short by the end of the stream');
    assert.equal(classifyWindow(['a'], ['x', 'a']), 'overlap');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { appendBatcher } from './append-batcher.js';

/** A batcher over numbers whose round trips finish when the test says so; it records every call. */
function harness(maxInFlight: number, maxEvents = 100) {
  const calls: number[][] = [];
  const gates: (() => void)[] = [];
  const gate = () => new Promise<void>((resolve) => gates.push(resolve));
  const batcher = appendBatcher<number, string>({
    maxInFlight,
    maxEvents,
    size: (n) => Math.abs(n),
    async one(n) {
      calls.push([n]);
      await gate();
      if (n < 0) throw new Error(`refused ${n}`);
      return `one:${n}`;
    },
    async many(ns) {
      calls.push([...ns]);
      await gate();
      if (ns.includes(50)) throw new Error('the whole call failed');
      return ns.map((n): PromiseSettledResult<string> => (n < 0 ? { status: 'rejected', reason: new Error(`refused ${n}`) } : { status: 'fulfilled', value: `many:${n}` }));
    },
  });
  const release = async () => {
    await tick();
    gates.shift()?.();
    await tick();
  };
  return { batcher, calls, release, pending: () => gates.length };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('append batcher (group commit)', () => {
  it('a lone append goes at once, alone: a single writer waits for nothing', async () => {
    const h = harness(2);
    const r = h.batcher.submit(1);
    await tick();
    assert.deepEqual(h.calls, [[1]]);
    await h.release();
    assert.equal(await r, 'one:1');
  });

  it('appends arriving while every round trip is busy go together in the next one, in order', async () => {
    const h = harness(1);
    const first = h.batcher.submit(1);
    const rest = [2, 3, 4].map((n) => h.batcher.submit(n));
    await tick();
    assert.deepEqual(h.calls, [[1]], 'the others wait for the one in flight');
    await h.release();
    assert.deepEqual(h.calls, [[1], [2, 3, 4]]);
    await h.release();
    assert.equal(await first, 'one:1');
    assert.deepEqual(await Promise.all(rest), ['many:2', 'many:3', 'many:4']);
  });

  it('keeps maxInFlight round trips busy, no more', async () => {
    const h = harness(2);
    const all = [1, 2, 3, 4, 5].map((n) => h.batcher.submit(n));
    await tick();
    assert.deepEqual(h.calls, [[1], [2]]);
    assert.equal(h.pending(), 2);
    await h.release();
    assert.deepEqual(h.calls, [[1], [2], [3, 4, 5]]);
    await h.release();
    await h.release();
    assert.equal((await Promise.all(all)).length, 5);
  });

  it('a group holds at most maxEvents events; an append larger than that goes alone', async () => {
    const h = harness(1, 10);
    const all = [1, 6, 4, 3, 20, 2].map((n) => h.batcher.submit(n));
    for (let i = 0; i < 5; i++) await h.release();
    assert.deepEqual(h.calls, [[1], [6, 4], [3], [20], [2]]);
    assert.equal((await Promise.all(all)).length, 6);
  });

  it("one append's refusal is its own: the others of its group succeed", async () => {
    const h = harness(1);
    const first = h.batcher.submit(1);
    const group = Promise.allSettled([2, -3, 4].map((n) => h.batcher.submit(n)));
    await h.release();
    await h.release();
    await first;
    const settled = await group;
    assert.deepEqual(
      settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message)),
      ['many:2', 'refused -3', 'many:4'],
    );
  });

  it('a call that fails as a whole fails every append of its group, and the batcher goes on', async () => {
    const h = harness(1);
    const first = h.batcher.submit(1);
    const group = Promise.allSettled([2, 50].map((n) => h.batcher.submit(n)));
    await h.release();
    await h.release();
    await first;
    for (const s of await group) assert.equal(s.status === 'rejected' && (s.reason as Error).message, 'the whole call failed');
    const after = h.batcher.submit(5);
    await h.release();
    assert.equal(await after, 'one:5');
  });
});

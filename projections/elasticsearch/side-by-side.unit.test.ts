import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REQUESTS_IN_FLIGHT, sideBySide } from './model.js';

/**
 * The Elasticsearch model sends a large batch's _mget and _bulk requests side by side (model.ts). What the
 * runtime relies on: never more than REQUESTS_IN_FLIGHT at once (backpressure), no request still running
 * when the write returns or throws (the checkpoint commits after the write), and the failure thrown is the
 * earliest chunk's (the event a one-at-a-time write would have named).
 */
const tick = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('Elasticsearch model: requests side by side', () => {
  it('at most REQUESTS_IN_FLIGHT at once, every item once, all done before it returns', async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await sideBySide([...Array(9).keys()], async (i) => {
      running++;
      most = Math.max(most, running);
      await tick(5 + ((i * 7) % 11));
      running--;
      done.push(i);
    });
    assert.equal(most, REQUESTS_IN_FLIGHT);
    assert.deepEqual([...done].sort((a, b) => a - b), [...Array(9).keys()]);
    assert.equal(running, 0);
  });

  it('a failure: what runs finishes before it throws, nothing new starts, the earliest failed item’s error is thrown', async () => {
    let running = 0;
    const started: number[] = [];
    const failing = sideBySide([0, 1, 2, 3, 4, 5], async (i) => {
      started.push(i);
      running++;
      try {
        // Item 1 fails late, item 0 fails early: 0 is the earliest whatever the timing.
        if (i === 1) {
          await tick(30);
          throw new Error('late failure of 1');
        }
        if (i === 0) {
          await tick(5);
          throw new Error('failure of 0');
        }
        await tick(5);
      } finally {
        running--;
      }
    });
    await assert.rejects(failing, /failure of 0/);
    assert.equal(running, 0, 'no request outlives the write');
    assert.deepEqual(started, [0, 1], 'nothing new started after the first failure');
  });

  it('no items: no work, no error', async () => {
    await sideBySide([], () => Promise.reject(new Error('never')));
  });
});

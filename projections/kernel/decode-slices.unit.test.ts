import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { decodeSlices } from './decode-slices.js';

describe('decode slices (the projector decoding on the thread that drives its transaction)', () => {
  it('no pause within a slice; past it, a turn of the event loop', async () => {
    let t = 0;
    const slices = decodeSlices(2, () => t);
    const pause = slices.pauser(0);
    t = 1.9;
    assert.equal(pause(), undefined, 'within the slice: no pause');
    t = 2;
    const p = pause();
    assert.ok(p instanceof Promise, 'past the slice: a pause');
    let resumed = false;
    void p.then(() => (resumed = true));
    await Promise.resolve();
    assert.equal(resumed, false, 'not before a macrotask turn');
    await nextTurn();
    await nextTurn();
    assert.equal(resumed, true);
    assert.equal(pause(), undefined, 'the clock of the slice restarts at the resume');
  });

  it('several batches paused at once: ONE resumes per event-loop turn, oldest first, whatever order they paused in', async () => {
    let t = 0;
    const slices = decodeSlices(2, () => t);
    t = 10;
    const order: string[] = [];
    // Hand-over order 0, 1, 2; they ask for a turn in the order 2, 0, 1.
    const waits = [2, 0, 1].map((seq) => slices.pauser(seq)()!.then(() => order.push(`batch ${seq}`)));
    // Something else that wants the event loop (a transaction's reply) gets a turn between each resume.
    let turns = 0;
    const other = (async () => {
      for (let i = 0; i < 4; i++) {
        await nextTurn();
        order.push(`other ${++turns}`);
      }
    })();
    await Promise.all([...waits, other]);
    assert.deepEqual(order, ['batch 0', 'other 1', 'batch 1', 'other 2', 'batch 2', 'other 3', 'other 4']);
  });

  it('a batch pausing while another waits goes in seq order among the waiting', async () => {
    let t = 0;
    const slices = decodeSlices(2, () => t);
    t = 10;
    const order: number[] = [];
    const first = slices.pauser(5)()!.then(() => {
      order.push(5);
      t += 5; // the resumed batch ran a full slice: the next pause asks for a turn again
      return slices.pauser(5)()!.then(() => order.push(5));
    });
    const later = slices.pauser(7)()!.then(() => order.push(7));
    const earlier = slices.pauser(3)()!.then(() => order.push(3));
    await Promise.race([Promise.all([first, later, earlier]), new Promise((_, reject) => setTimeout(() => reject(new Error('a paused batch never resumed')), 2_000))]);
    assert.deepEqual(order, [3, 5, 5, 7]);
  });

  it('the head (oldest batch still being read) first; then batches still parsing (before their key lookup); then the oldest decrypting', async () => {
    let t = 0;
    const slices = decodeSlices(2, () => t);
    t = 10;
    const pausers = [0, 1, 2, 3].map((seq) => slices.pauser(seq));
    const within = (ps: Promise<unknown>[]) => Promise.race([Promise.all(ps), new Promise((_, reject) => setTimeout(() => reject(new Error('a paused batch never resumed')), 2_000))]);
    const order: string[] = [];
    const wait = (seq: number, stage: 'prepare' | 'decode') => pausers[seq]!(stage)!.then(() => order.push(`${seq} ${stage}`));
    await within([wait(1, 'decode'), wait(0, 'decode'), wait(3, 'prepare'), wait(2, 'prepare')]);
    assert.deepEqual(order, ['0 decode', '2 prepare', '3 prepare', '1 decode']);
    // Batch 0 is read: batch 1 is the head, and goes before a batch still parsing.
    slices.done(0);
    order.length = 0;
    t = 20; // past the slice of the last resume
    await within([wait(2, 'prepare'), wait(1, 'decode')]);
    assert.deepEqual(order, ['1 decode', '2 prepare']);
  });
});

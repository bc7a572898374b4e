import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { KeyFilter } from './key-filter.js';

describe('KeyFilter (the Bloom filter of documents a fill has written)', () => {
  it('never forgets a key it was given, hostile keys included', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 80 }), { maxLength: 200 }), (keys) => {
        const f = new KeyFilter(12);
        for (const k of keys) f.add(k);
        for (const k of keys) assert.equal(f.has(k), true, JSON.stringify(k));
      }),
      { numRuns: 300 },
    );
    const f = new KeyFilter(10);
    for (const k of ['', '\u0000', '\ud800', '\udfff\ud800', 'x'.repeat(100_000)]) f.add(k);
    for (const k of ['', '\u0000', '\ud800', '\udfff\ud800', 'x'.repeat(100_000)]) assert.equal(f.has(k), true);
  });

  it('answers "maybe" for keys never added only rarely (its size sets the rate)', () => {
    const f = new KeyFilter(20); // 1 Mbit for 100,000 keys: ~0.8% expected
    const key = (i: number) => `lead/tenant-${i % 7}:lead:0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`;
    for (let i = 0; i < 100_000; i++) f.add(key(i));
    let wrong = 0;
    for (let i = 100_000; i < 200_000; i++) if (f.has(key(i))) wrong++;
    assert.ok(wrong < 2_000, `false positives: ${wrong} of 100,000`);
    assert.equal(new KeyFilter(20).has(key(1)), false);
  });

  it('refuses a size it cannot hold', () => {
    assert.throws(() => new KeyFilter(4), /log2Bits must be an integer from 5 to 31/);
    assert.throws(() => new KeyFilter(32), /log2Bits/);
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Lru } from './lru.js';

/** The reference: the same LRU with a fresh iterator per eviction (the obvious, slow form). */
class SlowLru<K, V> {
  readonly map = new Map<K, V>();
  constructor(readonly max: number) {}
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
  }
}

test('Lru evicts the least recently used entry, hits refresh recency, size stays bounded', () => {
  const lru = new Lru<string, number>(3);
  lru.set('a', 1);
  lru.set('b', 2);
  lru.set('c', 3);
  assert.equal(lru.get('a'), 1); // a is now the newest
  lru.set('d', 4); // evicts b
  assert.equal(lru.get('b'), undefined);
  assert.deepEqual([lru.get('a'), lru.get('c'), lru.get('d')], [1, 3, 4]);
  assert.equal(lru.size, 3);
  lru.set('c', 30); // an update refreshes too
  lru.set('e', 5); // evicts a (order now: d, c, e after the gets above and the update)
  assert.equal(lru.get('a'), undefined);
  assert.equal(lru.size, 3);
});

test('Lru matches the fresh-iterator LRU over a long mixed sequence (the long-lived eviction iterator never skips or repeats)', () => {
  // A seeded LCG: deterministic, with hits, updates, deletes, clears and evictions interleaved,
  // including evictions right after the iterator reached the end (every entry moved behind it).
  let s = 12345;
  const rand = (n: number) => ((s = (s * 1103515245 + 12345) % 2147483648), s % n);
  const lru = new Lru<number, number>(50);
  const ref = new SlowLru<number, number>(50);
  for (let i = 0; i < 50_000; i++) {
    const op = rand(100);
    const k = rand(120);
    if (op < 45) {
      lru.set(k, i);
      ref.set(k, i);
    }
    else if (op < 90) assert.equal(lru.get(k), ref.get(k), `get ${k} at step ${i}`);
    else if (op < 99) {
      lru.delete(k);
      ref.map.delete(k);
    } else if (rand(20) === 0) {
      lru.clear();
      ref.map.clear();
    }
    assert.ok(lru.size <= 50);
  }
  assert.equal(lru.size, ref.map.size);
  for (const [k, v] of ref.map) assert.equal(lru.get(k), v);
});

test('Lru rejects a size that is not a positive integer', () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => new Lru(bad), RangeError);
});

/**
 * A bounded LRU on a Map (insertion order = recency: a hit is deleted and re-inserted, the oldest entry
 * is the first key). Thirty lines instead of a dependency: the key cache needs get/set/delete and a size
 * bound only — staleness is not a per-entry TTL here but the key store's tombstone check (key-store.ts).
 *
 * Eviction walks ONE long-lived key iterator instead of `map.keys().next()` each time: V8 leaves a hole
 * per deleted entry until the table is rehashed, and a fresh iterator scans every hole from the front
 * (O(holes) per eviction: ~13 µs at 10,000 entries, measured as the key store's top self-time entry
 * in a catch-up of 20,000 new subjects). A Map iterator sees the entries added after it was made and
 * skips deleted ones (ECMAScript spec), and everything before its position has been evicted or moved
 * to the end, so its next key is always the oldest live one.
 */
export class Lru<K, V> {
  private readonly map = new Map<K, V>();
  private oldest: Iterator<K> | undefined;
  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`LRU size must be a positive integer, got ${max}`);
  }
  get size(): number {
    return this.map.size;
  }
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
    if (this.map.size > this.max) this.evictOldest();
  }
  delete(key: K): void {
    this.map.delete(key);
  }
  clear(): void {
    this.map.clear();
    this.oldest = undefined;
  }
  private evictOldest(): void {
    let next = this.oldest?.next();
    // Defensive: while size > max the iterator cannot be past the last live entry, but an iterator that
    // reached its end is closed for good (later entries unseen), so a done one is replaced, never trusted.
    if (!next || next.done) next = (this.oldest = this.map.keys()).next();
    this.map.delete(next.value as K);
  }
}

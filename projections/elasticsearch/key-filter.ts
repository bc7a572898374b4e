/**
 * A fixed-size Bloom filter of strings. `has(key)` is never false for a key that was added; for a key never
 * added it is true with a small probability (2^26 bits and 7 probes: ~0.2% at a million keys, ~5% at ten
 * million). The Elasticsearch model keeps one per generation it fills alone (model.ts), to know which
 * documents cannot exist yet: a false positive only costs the read it would have made anyway. Fixed memory
 * (8 MB) whatever the number of documents, where a Set of their ids would grow to gigabytes.
 * Hand-written: the npm Bloom filters bring dependencies and serialisation this needs none of.
 */
export class KeyFilter {
  private readonly bits: Uint32Array;
  private readonly mask: number;

  constructor(
    log2Bits = 26,
    private readonly probes = 7,
  ) {
    if (!Number.isInteger(log2Bits) || log2Bits < 5 || log2Bits > 31) throw new RangeError(`log2Bits must be an integer from 5 to 31, got ${log2Bits}`);
    this.bits = new Uint32Array(2 ** (log2Bits - 5));
    this.mask = 2 ** log2Bits - 1;
  }

  add(key: string): void {
    this.probe(key, true);
  }

  has(key: string): boolean {
    return this.probe(key, false);
  }

  /** Two 32-bit FNV-1a-style hashes of the UTF-16 units, probed as h1 + i·h2 (Kirsch–Mitzenmacher). */
  private probe(key: string, set: boolean): boolean {
    let h1 = 0x811c9dc5;
    let h2 = 0x9747b28c;
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    }
    h2 = (h2 ^ (h2 >>> 15)) | 1; // odd, so the probes of one key differ
    for (let i = 0; i < this.probes; i++) {
      const bit = (h1 + Math.imul(i, h2)) & this.mask;
      const word = bit >>> 5;
      const m = 1 << (bit & 31);
      if (set) this.bits[word]! |= m;
      else if ((this.bits[word]! & m) === 0) return false;
    }
    return true;
  }
}

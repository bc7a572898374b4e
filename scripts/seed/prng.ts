import { createHash } from 'node:crypto';

/**
 * The seed's only source of randomness (no Math.random): sfc32, a small, fast, well-tested 32-bit
 * generator (PractRand-clean at this size), seeded from SHA-256 of a string, so every stream of choices
 * is named (`<seed>:person:17`) and independent of the order work runs in.
 */
export interface Prng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number;
  chance(p: number): boolean;
  pick<T>(xs: readonly T[]): T;
}

export function prng(name: string): Prng {
  const h = createHash('sha256').update(name).digest();
  let a = h.readUInt32LE(0);
  let b = h.readUInt32LE(4);
  let c = h.readUInt32LE(8);
  let d = h.readUInt32LE(12);
  const u32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) u32(); // warm-up, as sfc32's authors advise
  const next = () => u32() / 4294967296;
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p) => next() < p,
    pick: (xs) => xs[Math.floor(next() * xs.length)]!,
  };
}

/**
 * A UUIDv7 (SPEC: ids are UUIDv7) whose time is `atMs` and whose 74 random bits are a hash of `name`:
 * the same name always gives the same id, and ids still sort by time.
 */
export function uuidV7At(atMs: number, name: string): string {
  const b = createHash('sha256').update(name).digest().subarray(0, 16);
  const ms = BigInt(Math.max(0, Math.floor(atMs)));
  for (let i = 0; i < 6; i++) b[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const x = b.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

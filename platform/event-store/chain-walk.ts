import { createHash } from 'node:crypto';
import { chainHash } from './hash-chain.js';
import type { StoredRecord } from './port.js';

/**
 * Verifying the hash chain of every stream in ONE pass over `$all` (`annals replay chain verify --all`):
 * records arrive in global position order, interleaved across streams; the walker keeps each stream's last
 * revision and hash, so a record is checked against its predecessor in O(1) and memory grows with the
 * number of streams, never with the number of events. It reads raw records only (no key, no decryption):
 * the chain covers the stored bytes, ciphertext included, so it verifies after a subject's key is destroyed.
 *
 * What a per-stream chain cannot see: a stream deleted whole, or its newest events cut off (the rest is
 * still a valid chain). Anchors close that gap: a digest over every stream's head (id, revision, hash) at
 * a position, taken when the store was verified, compared on every later verification (`headsDigest`).
 */
export type ChainBreakKind = 'revision' | 'previous-hash' | 'content-hash';

export interface ChainLinkBreak {
  readonly streamId: string;
  readonly streamRevision: bigint;
  readonly position: bigint;
  readonly kind: ChainBreakKind;
  /** What the chain says the link must hold: the next revision, the previous event's hash, the recomputed hash. */
  readonly expected: string;
  /** What is stored. */
  readonly found: string;
}

export interface StreamHead {
  readonly revision: bigint;
  readonly hash: string;
}

export interface HeadsDigest {
  readonly streams: number;
  /** Events at or below the digest's position, counted as Σ (head revision + 1): what an intact store holds. */
  readonly events: bigint;
  readonly digest: string;
}

export interface ChainWalker {
  /** Checks one record against its stream's previous one; returns the stream's FIRST break when this record is it. */
  add(record: StoredRecord): ChainLinkBreak | undefined;
  readonly heads: ReadonlyMap<string, StreamHead>;
  readonly breaks: readonly ChainLinkBreak[];
  /** Records seen. */
  readonly events: number;
  /** Digest of the heads seen so far (call it when the walk has passed an anchor's position). */
  headsDigest(): HeadsDigest;
}

export function createChainWalker(): ChainWalker {
  const heads = new Map<string, StreamHead>();
  const broken = new Set<string>();
  const breaks: ChainLinkBreak[] = [];
  let events = 0;
  return {
    heads,
    breaks,
    get events() {
      return events;
    },
    add(r) {
      events++;
      const last = heads.get(r.streamId);
      // The head is what is stored, intact or not: the anchor compares stored heads, independently of the chain.
      heads.set(r.streamId, { revision: r.streamRevision, hash: r.hash });
      if (broken.has(r.streamId)) return undefined; // only the first break of a stream is reported
      const at = { streamId: r.streamId, streamRevision: r.streamRevision, position: r.position };
      const expectedRevision = last === undefined ? 0n : last.revision + 1n;
      let found: ChainLinkBreak | undefined;
      if (r.streamRevision !== expectedRevision) found = { ...at, kind: 'revision', expected: String(expectedRevision), found: String(r.streamRevision) };
      else if (r.prevHash !== (last?.hash ?? '')) found = { ...at, kind: 'previous-hash', expected: last?.hash ?? '', found: r.prevHash };
      else {
        const recomputed = chainHash(r);
        if (recomputed !== r.hash) found = { ...at, kind: 'content-hash', expected: recomputed, found: r.hash };
      }
      if (found) {
        broken.add(r.streamId);
        breaks.push(found);
      }
      return found;
    },
    headsDigest: () => headsDigest(heads),
  };
}

/**
 * sha256 over every stream head, sorted by stream id (JavaScript code-unit order, so the same on every
 * adapter and database collation). Each field is length-prefixed: no stream id, however hostile, can make
 * two different head sets encode the same.
 */
export function headsDigest(heads: ReadonlyMap<string, StreamHead>): HeadsDigest {
  const ids = [...heads.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const h = createHash('sha256');
  let events = 0n;
  for (const id of ids) {
    const head = heads.get(id)!;
    const rev = head.revision.toString();
    h.update(`${id.length}:${id}${rev.length}:${rev}${head.hash.length}:${head.hash};`);
    events += head.revision + 1n;
  }
  return { streams: ids.length, events, digest: h.digest('hex') };
}

/** Describes a break in one line: `lead-… revision 3 (position 123): content hash expected 9a… found 77…`. */
export function describeBreak(b: ChainLinkBreak): string {
  const what = b.kind === 'revision' ? 'revision' : b.kind === 'previous-hash' ? 'previous hash' : 'content hash';
  return `${JSON.stringify(b.streamId)} revision ${b.streamRevision} (position ${b.position}): ${what} expected ${b.expected || '(none)'} found ${b.found || '(none)'}`;
}

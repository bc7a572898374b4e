import { createHash } from 'node:crypto';

/**
 * The tamper-evident chain over every stream (SPEC: `replay chain verify`). Each event's hash covers the
 * previous event's hash and the event exactly as stored — ciphertext included — so the chain still
 * verifies after crypto-shredding destroys a subject's key.
 *
 * The PostgreSQL adapter computes the same value in SQL (see postgres/schema.ts); both must agree, and
 * the contract suite checks they do.
 */
export interface ChainedFields {
  readonly prevHash: string;
  readonly eventId: string;
  readonly streamId: string;
  readonly streamRevision: bigint;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: string;
  readonly metadata: string;
}

export function chainHash(e: ChainedFields): string {
  return createHash('sha256')
    .update([e.prevHash, e.eventId, e.streamId, e.streamRevision.toString(), e.type, String(e.schemaVersion), e.data, e.metadata].join('\n'))
    .digest('hex');
}

export interface ChainBreak {
  readonly streamId: string;
  readonly streamRevision: bigint;
  readonly reason: string;
}

/** Recomputes a stream's chain; returns the first break, or undefined when intact. */
export function verifyChain(records: readonly (ChainedFields & { hash: string })[]): ChainBreak | undefined {
  let prev = '';
  let expectedRevision = 0n;
  for (const r of records) {
    if (r.streamRevision !== expectedRevision) {
      return { streamId: r.streamId, streamRevision: r.streamRevision, reason: `revision gap: expected ${expectedRevision}` };
    }
    if (r.prevHash !== prev) return { streamId: r.streamId, streamRevision: r.streamRevision, reason: 'previous hash does not match' };
    if (chainHash(r) !== r.hash) return { streamId: r.streamId, streamRevision: r.streamRevision, reason: 'hash does not match content' };
    prev = r.hash;
    expectedRevision++;
  }
  return undefined;
}

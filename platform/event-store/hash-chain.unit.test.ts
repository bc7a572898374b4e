import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chainHash, verifyChain, type ChainedFields } from './hash-chain.js';

// The verifier on its own (the stores' side is in the contract suite and postgres/postgres-only.unit.test.ts).
function chain(datas: readonly string[], streamId = 'lead-1'): (ChainedFields & { hash: string })[] {
  let prevHash = '';
  return datas.map((data, i) => {
    const fields: ChainedFields = {
      prevHash,
      eventId: `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`,
      streamId,
      streamRevision: BigInt(i),
      type: 'LeadCaptured',
      schemaVersion: 1,
      data,
      metadata: JSON.stringify({ tenantId: 't-1', occurredAt: '2026-01-01T00:00:00.000Z' }),
    };
    const hash = chainHash(fields);
    prevHash = hash;
    return { ...fields, hash };
  });
}

describe('verifyChain', () => {
  const datas = ['{"n":0}', '{"n":1,"name":"Zoë 😀 \\u0000 \\ud800"}', '{"n":2}', '{"n":3}'];

  it('an untouched chain verifies', () => {
    assert.equal(verifyChain(chain(datas)), undefined);
  });

  it('the forgery: rewrite an event and recompute its own hash; the next event no longer links to it', () => {
    const records = chain(datas);
    const forged = { ...records[1]!, data: '{"n":1,"name":"Mallory"}' };
    const selfConsistent = { ...forged, hash: chainHash(forged) };
    assert.equal(verifyChain([records[0]!, selfConsistent]), undefined, 'alone, the rewritten event is self-consistent');
    assert.deepEqual(verifyChain([records[0]!, selfConsistent, ...records.slice(2)]), {
      streamId: 'lead-1',
      streamRevision: 2n,
      reason: 'previous hash does not match',
    });
  });

  it('the forger also rewrites the next prevHash: that event no longer matches its own hash', () => {
    const records = chain(datas);
    const forged = { ...records[1]!, data: '{"n":1,"name":"Mallory"}' };
    const selfConsistent = { ...forged, hash: chainHash(forged) };
    const relinked = { ...records[2]!, prevHash: selfConsistent.hash };
    assert.deepEqual(verifyChain([records[0]!, selfConsistent, relinked, records[3]!]), {
      streamId: 'lead-1',
      streamRevision: 2n,
      reason: 'hash does not match content',
    });
  });

  it('a dropped, reordered or foreign event breaks the chain', () => {
    const records = chain(datas);
    assert.match(verifyChain([records[0]!, records[2]!, records[3]!])?.reason ?? '', /revision gap/);
    assert.match(verifyChain([records[1]!, records[0]!])?.reason ?? '', /revision gap/);
    const other = chain(datas, 'lead-2');
    assert.equal(verifyChain([records[0]!, other[1]!])?.streamRevision, 1n, 'an event of another stream does not link');
  });
});

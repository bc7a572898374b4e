import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PGlite } from '@electric-sql/pglite';
import { raw } from '../contract.js';
import { verifyChain } from '../hash-chain.js';
import { DuplicateEventIdError, type EventStoreAdapter } from '../port.js';
import { openPglite, pgliteClient } from '../../sql/client.js';
import { postgresEventStore } from './adapter.js';

// What the PostgreSQL adapter guarantees beyond the shared contract, and the chain as the SQL computes it.
describe('PostgreSQL adapter: beyond the contract', () => {
  let db: PGlite;
  let store: EventStoreAdapter;
  before(async () => {
    db = await openPglite();
    store = await postgresEventStore(pgliteClient(db));
  });
  after(() => store.close());

  it('the SQL chain: a row rewritten in place with its own hash recomputed by the same SQL is caught at the next revision', async () => {
    await store.append('forged-1', [raw(1), raw(2), raw(3)], 'no_stream');
    // What someone with write access to the table would do: change the data, recompute that row's hash.
    await db.exec(`UPDATE annals_events SET data = '{"n":999}',
      hash = encode(sha256(convert_to(concat_ws(E'\\n', prev_hash, event_id::text, stream_id, stream_revision::text, type, schema_version::text, '{"n":999}', metadata), 'UTF8')), 'hex')
      WHERE stream_id = 'forged-1' AND stream_revision = 1`);
    const records = await store.readStream('forged-1');
    assert.equal(records[1]!.data, '{"n":999}');
    assert.equal(verifyChain(records.slice(0, 2)), undefined, 'the rewritten row is self-consistent');
    assert.deepEqual(verifyChain(records), { streamId: 'forged-1', streamRevision: 2n, reason: 'previous hash does not match' });
  });

  it('refuses an event id already stored in another stream (a unique index; EventStoreDB does not check this)', async () => {
    const e = raw(1);
    await store.append('ids-a', [e], 'no_stream');
    await assert.rejects(store.append('ids-b', [e], 'no_stream'), (err: unknown) => err instanceof DuplicateEventIdError && err.eventIds.includes(e.eventId));
    await assert.rejects(store.append('ids-a', [raw(0), e], 0n), DuplicateEventIdError, 'or earlier in the same stream, outside the window');
    assert.deepEqual(await store.readStream('ids-b'), []);
  });

  it('the function itself refuses the same id twice in one call (not only the TypeScript check before it)', async () => {
    const id = raw(1).eventId;
    await assert.rejects(
      db.query(`SELECT * FROM annals_append('ids-c', -1, $1::uuid[], '{T,T}', '{1,1}', '{"{}","{}"}', '{"{}","{}"}', $2::timestamptz[])`, [
        [id, id],
        ['2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'],
      ]),
      (err: { code?: string }) => err.code === 'AN422',
    );
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PGlite } from '@electric-sql/pglite';
import { raw } from '../contract.js';
import { verifyChain } from '../hash-chain.js';
import { DuplicateEventIdError, WrongExpectedRevisionError, type EventStoreAdapter, type EventToStore } from '../port.js';
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

  describe('annals_append_many: several appends in one call (the group commit the adapter sends)', () => {
    const call = (appends: { stream: string; expected: bigint; events: EventToStore[] }[]) => {
      const flat = appends.flatMap((a) => a.events);
      return db.query<{ code: string; detail: string | null; message: string | null; next_revision: string | null; last_position: string | null }>(
        `SELECT * FROM annals_append_many($1::text[], $2::bigint[], $3::integer[], $4::uuid[], $5::text[], $6::integer[], $7::text[], $8::text[], $9::text[], $10::timestamptz[])`,
        [
          appends.map((a) => a.stream),
          appends.map((a) => a.expected.toString()),
          appends.map((a) => a.events.length),
          flat.map((e) => e.eventId),
          flat.map((e) => e.type),
          flat.map((e) => e.schemaVersion),
          flat.map((e) => e.data),
          flat.map((e) => e.metadata),
          flat.map(() => null),
          flat.map(() => '2026-01-01T00:00:00Z'),
        ],
      );
    };

    it('checks each append on its own: a refused one writes nothing, the others are written in one transaction, chained', async () => {
      await store.append('many-b', [raw(0)], 'no_stream');
      const [a1, a2] = [raw(1), raw(2)];
      const { rows } = await call([
        { stream: 'many-a', expected: -1n, events: [a1, a2] },
        { stream: 'many-b', expected: -1n, events: [raw(3)] }, // exists: a conflict
        { stream: 'many-c', expected: -1n, events: [raw(4)] },
        { stream: 'many-d', expected: -2n, events: [raw(5), { ...raw(6), eventId: a2.eventId }] }, // an id of many-a, earlier in this call
        { stream: 'many-e', expected: -2n, events: [raw(7), raw(8)] },
      ]);
      assert.deepEqual(
        rows.map((r) => [r.code, r.detail, r.next_revision]),
        [
          ['ok', null, '1'],
          ['conflict', '0', null],
          ['ok', null, '0'],
          ['duplicate', a2.eventId, null],
          ['ok', null, '1'],
        ],
      );
      assert.deepEqual((await store.readStream('many-b')).length, 1, 'the conflicting append wrote nothing');
      assert.deepEqual(await store.readStream('many-d'), [], 'the duplicate wrote nothing, not even its fresh event');
      const written = [...(await store.readStream('many-a')), ...(await store.readStream('many-c')), ...(await store.readStream('many-e'))];
      assert.equal(written.length, 5);
      assert.equal(new Set(written.map((r) => r.position >> 20n)).size, 1, 'one transaction (one xid) for the whole call');
      assert.deepEqual(
        written.map((r) => r.position - written[0]!.position),
        [0n, 1n, 2n, 3n, 4n],
        'positions follow the order of the call, without gaps for the refused appends',
      );
      assert.equal(rows[4]!.last_position, written[4]!.position.toString());
      for (const s of ['many-a', 'many-c', 'many-e']) assert.equal(verifyChain(await store.readStream(s)), undefined, s);
    });

    it('a retry of a written append inside a call answers its first result and writes nothing', async () => {
      const events = [raw(1), raw(2)];
      const first = await store.append('many-retry', events, 'no_stream');
      const { rows } = await call([
        { stream: 'many-retry', expected: -1n, events },
        { stream: 'many-fresh', expected: -1n, events: [raw(3)] },
      ]);
      assert.deepEqual([rows[0]!.code, rows[0]!.next_revision, rows[0]!.last_position], ['ok', '1', first.position.toString()]);
      assert.equal((await store.readStream('many-retry')).length, 2);
      assert.equal(rows[1]!.code, 'ok');
    });

    it('refuses a call that names a stream twice, or whose counts do not add up, and writes nothing', async () => {
      await assert.rejects(
        call([
          { stream: 'many-twice', expected: -2n, events: [raw(1)] },
          { stream: 'many-twice', expected: -2n, events: [raw(2)] },
        ]),
        /a stream twice in one call/,
      );
      const e = raw(1);
      await assert.rejects(
        db.query(`SELECT * FROM annals_append_many('{many-x,many-y}', '{-2,-2}', '{1,0}', $1::uuid[], '{T}', '{1}', '{"{}"}', '{"{}"}', '{NULL}', '{2026-01-01T00:00:00Z}')`, [[e.eventId]]),
        /p_counts must be positive/,
      );
      assert.deepEqual(await store.readStream('many-twice'), []);
      assert.deepEqual(await store.readStream('many-x'), []);
    });
  });

  it('the adapter groups concurrent appends to different streams, and each caller gets its own answer', async () => {
    const grouped = await postgresEventStore(pgliteClient(db), { migrate: false, maxInFlight: 1 });
    await grouped.append('group-exists', [raw(0)], 'no_stream');
    const taken = raw(1);
    await grouped.append('group-taken', [taken], 'no_stream');
    const results = await Promise.allSettled([
      ...Array.from({ length: 12 }, (_, i) => grouped.append(`group-${i}`, [raw(i), raw(i + 100)], 'no_stream')),
      grouped.append('group-exists', [raw(2)], 'no_stream'),
      grouped.append('group-dup', [{ ...raw(3), eventId: taken.eventId }], 'no_stream'),
    ]);
    const ok = results.slice(0, 12).map((r) => (r.status === 'fulfilled' ? r.value : assert.fail(String(r.reason))));
    const [conflict, duplicate] = [results[12]!, results[13]!];
    assert.ok(conflict.status === 'rejected' && conflict.reason instanceof WrongExpectedRevisionError);
    assert.equal(conflict.reason.actual, 0n);
    assert.ok(duplicate.status === 'rejected' && duplicate.reason instanceof DuplicateEventIdError);
    assert.deepEqual(
      ok.map((r) => r.nextExpectedRevision),
      ok.map(() => 1n),
    );
    const xids = new Set(ok.map((r) => r.position >> 20n));
    assert.ok(xids.size < ok.length, `appends that waited went together (${xids.size} transactions for ${ok.length} appends)`);
    for (let i = 0; i < 12; i++) {
      const records = await grouped.readStream(`group-${i}`);
      assert.deepEqual(records.map((r) => JSON.parse(r.data).n), [i, i + 100]);
      assert.equal(records[1]!.position, ok[i]!.position, 'each caller got the position of its own last event');
    }
  });
});


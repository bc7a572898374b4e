import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import type { EventStoreAdapter, StoredRecord } from '../../platform/event-store/port.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { createPiiCodec } from '../../platform/pii/codec.js';
import { sqlKeyStore, type KeyStore } from '../../platform/pii/key-store.js';
import { parseMasterKey } from '../../platform/pii/master-key.js';
import { openPglite, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import { formatChainReport } from '../cli/commands/replay-chain.js';
import { readAnchors, verifyChains } from './chain.js';

/**
 * `annals replay chain verify`: one shared PGlite event store (with the GDPR codec, so the chain is over
 * ciphertext) and one read database for the anchors. Each case works on fresh streams; cases that tamper
 * with the store repair it (or remove what they broke) before they end, so the next case starts intact.
 */
const meta = (subjectId: string) => ({
  tenantId: 'acme',
  actor: { userId: 'u-1', roles: ['sales' as const] },
  correlationId: 'corr-1',
  causationId: 'cause-1',
  occurredAt: '2026-11-21T10:00:00.000Z',
  subjectId,
});
const captured = (leadId: string, name = 'Zoë \u202Eevil\u202C 😀') => ({
  type: 'LeadCaptured',
  data: { leadId, name, email: 'z@example.com', source: 'web', capturedAt: '2026-11-21T10:00:00.000Z' },
  metadata: meta(leadId),
});
const scored = (leadId: string, score: number) => ({
  type: 'LeadScored',
  data: { leadId, score, factors: [] },
  metadata: meta(leadId),
});

describe('replay chain verify', { timeout: 120_000 }, () => {
  let sql: SqlClient;
  let readSql: SqlClient;
  let keySql: SqlClient;
  let keyStore: KeyStore;
  let store: EventStore;

  const lead = async (events = 3): Promise<{ id: string; stream: string }> => {
    const id = uuidv7();
    const stream = `lead-${id}`;
    await store.append(stream, [captured(id)], { expectedRevision: 'no_stream' });
    for (let i = 1; i < events; i++) await store.append(stream, [scored(id, i)]);
    return { id, stream };
  };

  before(async () => {
    sql = pgliteClient(await openPglite());
    readSql = pgliteClient(await openPglite());
    keySql = pgliteClient(await openPglite());
    keyStore = await sqlKeyStore(keySql, { masterKey: parseMasterKey(randomBytes(32).toString('base64')), cacheTtlMs: 0 });
    store = createEventStore(await postgresEventStore(sql), { codec: createPiiCodec({ keyStore }) });
  });
  after(async () => {
    await store.close();
    await readSql.close();
    await keySql.close();
  });

  it('an intact store verifies, stream by stream and as a whole in small batches, and the clean run writes an anchor', async () => {
    const a = await lead(4);
    await lead(2);
    const one = await verifyChains({ adapter: store.adapter, stream: a.stream });
    assert.deepEqual(one.breaks, []);
    assert.equal(one.events, 4);
    const all = await verifyChains({ adapter: store.adapter, anchorsSql: readSql, batchSize: 3 });
    assert.deepEqual(all.breaks, [], formatChainReport(all));
    assert.deepEqual(all.anchorMismatches, []);
    assert.ok(all.events >= 6);
    assert.equal(all.position, await store.headPosition());
    assert.ok(all.anchorWritten, 'a clean --all run anchors what it verified');
    assert.equal(all.anchorWritten.position, all.position);
    assert.equal(all.anchorWritten.streams, all.streams);
    assert.match(formatChainReport(all), /OK: every chain intact/);
  });

  it('an event altered by hand in PostgreSQL is named: stream, revision, expected and found hash', async () => {
    const { stream } = await lead(3);
    const [before] = (await sql.query<{ data: string; hash: string }>(`SELECT data, hash FROM annals_events WHERE stream_id = $1 AND stream_revision = 1`, [stream])).rows;
    await sql.query(`UPDATE annals_events SET data = replace(data, '"score":1', '"score":99') WHERE stream_id = $1 AND stream_revision = 1`, [stream]);
    try {
      for (const run of [() => verifyChains({ adapter: store.adapter, stream }), () => verifyChains({ adapter: store.adapter, anchorsSql: readSql, batchSize: 2 })]) {
        const report = await run();
        assert.equal(report.breaks.length, 1, formatChainReport(report));
        const b = report.breaks[0]!;
        assert.equal(b.streamId, stream);
        assert.equal(b.streamRevision, 1n);
        assert.equal(b.kind, 'content-hash');
        assert.equal(b.found, before!.hash, 'found = the hash stored with the event');
        assert.notEqual(b.expected, b.found);
        assert.match(formatChainReport(report), new RegExp(`BROKEN  "${stream}" revision 1 \\(position \\d+\\): content hash expected [0-9a-f]{64} found ${before!.hash}`));
        assert.equal(report.anchorWritten, undefined, 'a run that found a break writes no anchor');
      }
      // Rewriting the hash too (to match the altered content) breaks the next link instead.
      await sql.query(
        `UPDATE annals_events SET hash = encode(sha256(convert_to(concat_ws(E'\\n', prev_hash, event_id::text, stream_id, stream_revision::text, type, schema_version::text, data, metadata), 'UTF8')), 'hex') WHERE stream_id = $1 AND stream_revision = 1`,
        [stream],
      );
      const report = await verifyChains({ adapter: store.adapter, stream });
      assert.deepEqual(
        report.breaks.map((b) => [b.streamRevision, b.kind]),
        [[2n, 'previous-hash']],
      );
    } finally {
      await sql.query(`UPDATE annals_events SET data = $2, hash = $3 WHERE stream_id = $1 AND stream_revision = 1`, [stream, before!.data, before!.hash]);
    }
    assert.deepEqual((await verifyChains({ adapter: store.adapter, stream })).breaks, [], 'restored');
  });

  it('a revision removed from the middle is a revision gap; a stream deleted whole or cut short is caught by the anchor', async () => {
    const gap = await lead(3);
    const victim = await lead(3);
    const cut = await lead(3);
    const anchored = await verifyChains({ adapter: store.adapter, anchorsSql: readSql });
    assert.ok(anchored.anchorWritten);
    const saved = (await sql.query<Record<string, unknown>>(`SELECT * FROM annals_events WHERE stream_id = ANY($1) ORDER BY position`, [[gap.stream, victim.stream, cut.stream]])).rows;
    await sql.query(`DELETE FROM annals_events WHERE stream_id = $1 AND stream_revision = 1`, [gap.stream]);
    await sql.query(`DELETE FROM annals_events WHERE stream_id = $1`, [victim.stream]);
    await sql.query(`DELETE FROM annals_events WHERE stream_id = $1 AND stream_revision = 2`, [cut.stream]);
    try {
      const report = await verifyChains({ adapter: store.adapter, anchorsSql: readSql });
      // Per-stream chains see the gap only: the deleted stream and the cut tail leave valid chains behind.
      assert.deepEqual(
        report.breaks.map((b) => [b.streamId, b.streamRevision, b.kind, b.expected, b.found]),
        [[gap.stream, 2n, 'revision', '1', '2']],
      );
      const mismatch = report.anchorMismatches.find((m) => m.anchor.seq === anchored.anchorWritten!.seq);
      assert.ok(mismatch, formatChainReport(report));
      assert.equal(mismatch.kind, 'heads');
      assert.equal(mismatch.found!.streams, anchored.anchorWritten.streams - 1, 'one stream fewer than anchored');
      assert.equal(mismatch.found!.events, anchored.anchorWritten.events - 3n - 1n, "the victim's 3 events and the cut tail (a gap inside a stream is the chain's finding)");
      assert.match(formatChainReport(report), /ANCHOR {2}anchor #\d+ at position \d+: \d+ streams \/ \d+ events expected/);
      assert.equal(report.anchorWritten, undefined);
    } finally {
      for (const r of saved) {
        await sql.query(
          `INSERT INTO annals_events (position, stream_id, stream_revision, event_id, type, schema_version, data, metadata, occurred_at, recorded_at, prev_hash, hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING`,
          [r.position, r.stream_id, r.stream_revision, r.event_id, r.type, r.schema_version, r.data, r.metadata, r.occurred_at, r.recorded_at, r.prev_hash, r.hash].map((v) => (typeof v === 'bigint' ? v.toString() : v)),
        );
      }
    }
    const restored = await verifyChains({ adapter: store.adapter, anchorsSql: readSql, writeAnchor: false });
    assert.deepEqual([restored.breaks, restored.anchorMismatches], [[], []], formatChainReport(restored));
  });

  it('an anchor edited or removed from the anchor table is reported', async () => {
    await lead(1);
    await verifyChains({ adapter: store.adapter, anchorsSql: readSql });
    const anchors = await readAnchors(readSql);
    assert.ok(anchors.length >= 2);
    const first = anchors[0]!;
    await readSql.query(`UPDATE annals_chain_anchors SET streams = streams + 1 WHERE seq = $1`, [first.seq.toString()]);
    try {
      const report = await verifyChains({ adapter: store.adapter, anchorsSql: readSql, writeAnchor: false });
      assert.ok(report.anchorMismatches.some((m) => m.kind === 'anchor-chain' && m.anchor.seq === first.seq && /was edited/.test(m.detail)), formatChainReport(report));
    } finally {
      await readSql.query(`UPDATE annals_chain_anchors SET streams = $2 WHERE seq = $1`, [first.seq.toString(), first.streams]);
    }
    const middle = anchors[1]!;
    await readSql.query(`DELETE FROM annals_chain_anchors WHERE seq = $1`, [middle.seq.toString()]);
    try {
      const report = await verifyChains({ adapter: store.adapter, anchorsSql: readSql, writeAnchor: false });
      assert.ok(report.anchorMismatches.some((m) => m.kind === 'anchor-chain' && /missing|does not link/.test(m.detail)), formatChainReport(report));
    } finally {
      await readSql.query(
        `INSERT INTO annals_chain_anchors(seq, position, streams, events, heads_digest, prev_hash, anchor_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [middle.seq.toString(), middle.position.toString(), middle.streams, middle.events.toString(), middle.headsDigest, middle.prevHash, middle.anchorHash, middle.createdAt],
      );
    }
  });

  it("still verifies after a subject's key was destroyed (the chain covers ciphertext)", async () => {
    const { id, stream } = await lead(3);
    await keyStore.destroy({ tenantId: 'acme', subjectId: id }, { actor: 'dpo', reason: 'request #7' });
    const [e] = await store.readStream(stream);
    assert.equal(e?.erased, true, 'the personal fields read as erased now');
    assert.deepEqual((await verifyChains({ adapter: store.adapter, stream })).breaks, []);
    const all = await verifyChains({ adapter: store.adapter, anchorsSql: readSql });
    assert.deepEqual([all.breaks, all.anchorMismatches], [[], []], formatChainReport(all));
  });

  it('works on any adapter through the port: hostile stream ids, and a tampered record from a non-SQL adapter', async () => {
    const records = await store.adapter.readAll({ maxCount: 100_000 });
    const victim = records[records.length - 1]!;
    // A decorator standing in for an adapter we cannot edit by hand (EventStoreDB): one record's data changes on the way out.
    const tampered: EventStoreAdapter = {
      ...store.adapter,
      readAll: async (o) => (await store.adapter.readAll(o)).map((r): StoredRecord => (r.eventId === victim.eventId ? { ...r, data: `${r.data} ` } : r)),
    };
    const report = await verifyChains({ adapter: tampered, anchorsSql: readSql, writeAnchor: false, batchSize: 7 });
    assert.deepEqual(
      report.breaks.map((b) => [b.streamId, b.streamRevision, b.kind]),
      [[victim.streamId, victim.streamRevision, 'content-hash']],
    );
    // Stream ids that would collide in a naive "id:rev:hash" encoding of the heads digest.
    const { headsDigest } = await import('../../platform/event-store/chain-walk.js');
    const x = headsDigest(new Map([['a:1', { revision: 0n, hash: 'h' }]]));
    const y = headsDigest(new Map([['a', { revision: 1n, hash: ':0:h' }]]));
    assert.notEqual(x.digest, y.digest);
    const nul = headsDigest(new Map([['lead-\u0000\uD800', { revision: 0n, hash: '' }]]));
    assert.match(nul.digest, /^[0-9a-f]{64}$/);
  });
});

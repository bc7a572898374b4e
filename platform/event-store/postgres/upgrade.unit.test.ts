import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PGlite } from '@electric-sql/pglite';
import { raw } from '../contract.js';
import { verifyChain } from '../hash-chain.js';
import { DuplicateEventIdError, type EventStoreAdapter, type EventToStore } from '../port.js';
import { openPglite, pgliteClient } from '../../sql/client.js';
import { migrationChecksum } from '../../sql/migrate.js';
import { postgresEventStore } from './adapter.js';
import { FROZEN_V1_EVENTS_SQL, buildV1EventStore } from './frozen-v1.testing.js';
import { eventStoreMigrations } from './schema.js';

// An existing database, made by the release before migrations had checksums, upgraded by the current code:
// the changed append function must be live afterwards (a name-only migrator kept the old one forever).
describe('event store upgrade from a database the previous release made', () => {
  let db: PGlite;
  let store: EventStoreAdapter;
  const old = [raw(1), raw(2)];
  const oldAppend = (stream: string, expected: number, events: typeof old) =>
    db.query(`SELECT * FROM annals_append($1, $2, $3::uuid[], $4::text[], $5::integer[], $6::text[], $7::text[], $8::timestamptz[])`, [
      stream,
      expected,
      events.map((e) => e.eventId),
      events.map((e) => e.type),
      events.map((e) => e.schemaVersion),
      events.map((e) => e.data),
      events.map((e) => e.metadata),
      events.map((e) => (JSON.parse(e.metadata) as { occurredAt: string }).occurredAt),
    ]);

  before(async () => {
    db = await openPglite();
    await buildV1EventStore(pgliteClient(db, { closeDb: false }));
    await oldAppend('upgrade-1', -1, old);
    await oldAppend('upgrade-subject', -1, [withSubject(raw(5), 'subject-old')]);
    // The old function did not know retries: the same append again is a plain conflict.
    await assert.rejects(oldAppend('upgrade-1', -1, old), (e: { code?: string }) => e.code === 'AN409');
    store = await postgresEventStore(pgliteClient(db));
  });
  after(() => store.close());

  it('records checksums and re-applies the append function; the new body is the one PostgreSQL runs', async () => {
    const { rows } = await db.query<{ name: string; checksum: string | null }>(`SELECT name, checksum FROM annals_migrations ORDER BY name`);
    assert.deepEqual(
      rows,
      eventStoreMigrations.map((m) => ({ name: m.name, checksum: migrationChecksum(m) })).sort((a, b) => a.name.localeCompare(b.name)),
    );
    const src = await db.query<{ prosrc: string }>(`SELECT prosrc FROM pg_proc WHERE proname = 'annals_append'`);
    assert.equal(src.rows.length, 1, 'one annals_append, replaced rather than overloaded');
    assert.match(src.rows[0]!.prosrc, /AN422/);
  });

  it('behaves as the new code: a retry of the append the old code wrote is an idempotent success, an overlap is refused', async () => {
    const again = await store.append('upgrade-1', old, 'no_stream');
    assert.equal(again.nextExpectedRevision, 1n);
    await assert.rejects(store.append('upgrade-1', [old[1]!, raw(3)], 0n), DuplicateEventIdError);
  });

  it('continues the old chain: events before and after the upgrade verify as one stream', async () => {
    await store.append('upgrade-1', [raw(3)], 1n);
    const records = await store.readStream('upgrade-1');
    assert.deepEqual(records.map((r) => r.streamRevision), [0n, 1n, 2n]);
    assert.equal(verifyChain(records), undefined);
  });

  it('the next change of the function reaches this database too (re-applied by checksum, not skipped by name)', async () => {
    // As if this database had been made by a release whose annals_append text differed from today's:
    // the old body is live and the recorded checksum is that release's.
    const fnStart = FROZEN_V1_EVENTS_SQL.indexOf('CREATE OR REPLACE FUNCTION annals_append');
    await db.exec(FROZEN_V1_EVENTS_SQL.slice(fnStart));
    await db.query(`UPDATE annals_migrations SET checksum = 'checksum-of-an-older-text' WHERE name = 'event-store/fn-annals_append'`);
    const src = async () => (await db.query<{ prosrc: string }>(`SELECT prosrc FROM pg_proc WHERE proname = 'annals_append'`)).rows[0]!.prosrc;
    assert.doesNotMatch(await src(), /AN422/);
    const reopened = await postgresEventStore(pgliteClient(db, { closeDb: false }));
    assert.match(await src(), /AN422/);
    await reopened.close();
  });

  it('fills subject_id of the rows written before it (003), so the erasure lookup finds them; new rows get theirs from the append', async () => {
    await store.append('upgrade-subject', [withSubject(raw(6), 'subject-old'), withSubject(raw(7), 'subject-new'), raw(8)], 0n);
    const found = async (subject: string) => (await store.readBySubject({ subjectIds: [subject], streamIds: [] })).map((r) => r.streamRevision);
    assert.deepEqual(await found('subject-old'), [0n, 1n]);
    assert.deepEqual(await found('subject-new'), [2n]);
    const { rows } = await db.query<{ subject_id: string | null }>(`SELECT subject_id FROM annals_events WHERE stream_id = 'upgrade-subject' ORDER BY stream_revision`);
    assert.deepEqual(rows.map((r) => r.subject_id), ['subject-old', 'subject-old', 'subject-new', null]);
  });

  it('a second start applies nothing', async () => {
    const again = await postgresEventStore(pgliteClient(db, { closeDb: false }));
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM annals_migrations`);
    assert.equal(rows[0]!.n, eventStoreMigrations.length);
    await again.close();
  });
});

function withSubject(e: EventToStore, subjectId: string): EventToStore {
  return { ...e, metadata: JSON.stringify({ ...(JSON.parse(e.metadata) as object), subjectId }) };
}

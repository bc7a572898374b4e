import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freshDatabase } from '../../testing/fresh-database.js';
import { requireEnv } from '../../testing/require-env.js';
import { eventStoreContract, raw } from '../contract.js';
import { pgClient, type SqlClient } from '../../sql/client.js';
import { postgresEventStore } from './adapter.js';

// The same contract on a real PostgreSQL server (`annals stack up`), where 16 writers really run in parallel
// and commit out of position order: the case the xid8/xmin design exists for.
eventStoreContract('PostgreSQL server', async () => postgresEventStore(pgClient(requireEnv('EVENTSTORE_URL'), { max: 24 })), {
  writers: 16,
  appendsPerWriter: 30,
});

describe('PostgreSQL server: the append plan', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let client: SqlClient;
  before(async () => {
    db = await freshDatabase(requireEnv('EVENTSTORE_URL'), 'annals_es_plan');
    client = pgClient(db.url, { max: 1 });
  });
  after(async () => {
    await client?.close();
    await db?.drop();
  });

  it('an append on a connection that planned it while the store was small scans no table (one probe per index)', async () => {
    // A fresh store and one connection: PL/pgSQL switches to its generic plans after five calls, made here
    // while the table holds a few pages. A seq-scan plan cached then would read the whole table on every
    // later append (appends slowed 2× in the bench as the store grew).
    const store = await postgresEventStore(client);
    const ten = () => Array.from({ length: 10 }, (_, i) => raw(i));
    for (let i = 0; i < 8; i++) await store.append(`plan-${i}`, ten(), 'no_stream');
    const scans = await client.transaction(async (tx) => {
      const counts = async () =>
        (await tx.query<{ seq: string }>(`SELECT seq_scan::text AS seq FROM pg_stat_xact_user_tables WHERE relname = 'annals_events'`)).rows[0]?.seq ?? '0';
      const before = Number(await counts());
      const events = ten();
      await tx.query(`SELECT * FROM annals_append('plan-x', -1, $1::uuid[], $2::text[], $3::integer[], $4::text[], $5::text[], $6::timestamptz[])`, [
        events.map((e) => e.eventId),
        events.map((e) => e.type),
        events.map((e) => e.schemaVersion),
        events.map((e) => e.data),
        events.map((e) => e.metadata),
        events.map(() => '2026-01-01T00:00:00Z'),
      ]);
      return Number(await counts()) - before;
    });
    assert.equal(scans, 0, 'sequential scans of annals_events during one append');
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freshDatabase } from '../../testing/fresh-database.js';
import { requireEnv } from '../../testing/require-env.js';
import { eventStoreContract, raw } from '../contract.js';
import pg from 'pg';
import { pgClient, type SqlClient } from '../../sql/client.js';
import { WrongExpectedRevisionError } from '../port.js';
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

  it('prepares the append call and nothing that reads a table (a generic read plan could keep a seq scan)', async () => {
    // One connection (max 1): pg_prepared_statements lists what this store prepared on it.
    const store = await postgresEventStore(client);
    for (let i = 0; i < 7; i++) await store.append(`prep-${i}`, [raw(i)], 'no_stream');
    await store.append('prep-0', [raw(9)], 0n);
    for (let i = 0; i < 7; i++) {
      await store.readStream(`prep-${i}`);
      await store.readStream(`prep-${i}`, { fromRevision: 1n, toRevision: 4n });
      await store.readAll({ after: BigInt(i), maxCount: 3 });
      await store.headPosition();
    }
    const { rows } = await client.query<{ statement: string }>(`SELECT statement FROM pg_prepared_statements ORDER BY prepare_time`);
    assert.equal(rows.length, 1, rows.map((r) => r.statement).join('\n---\n'));
    assert.match(rows[0]!.statement, /^SELECT code, detail, message, next_revision, last_position FROM annals_append_many\(/);
  });
});

describe('PostgreSQL server: group commit', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let client: SqlClient;
  before(async () => {
    db = await freshDatabase(requireEnv('EVENTSTORE_URL'), 'annals_es_group');
    client = pgClient(db.url, { max: 4 });
  });
  after(async () => {
    await client?.close();
    await db?.drop();
  });

  it("a group that loses a race with another process's transaction is retried append by append: only the loser fails", async () => {
    const store = await postgresEventStore(client, { maxInFlight: 1 });
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      // Another process has written race-x's first event and not committed yet: our group cannot see it,
      // writes race-x at the same revision, and waits on the unique index until that transaction ends.
      await other.query('BEGIN');
      const theirs = raw(0);
      await other.query(`SELECT * FROM annals_append('race-x', -1, $1::uuid[], $2::text[], $3::integer[], $4::text[], $5::text[], $6::timestamptz[])`, [
        [theirs.eventId],
        [theirs.type],
        [1],
        [theirs.data],
        [theirs.metadata],
        ['2026-01-01T00:00:00Z'],
      ]);
      // One in flight alone, so the three behind it go as one group.
      const first = store.append('race-first', [raw(1)], 'no_stream');
      const group = Promise.allSettled([store.append('race-y', [raw(2)], 'no_stream'), store.append('race-x', [raw(3)], 'no_stream'), store.append('race-z', [raw(4)], 'no_stream')]);
      await first;
      await waitFor(async () => (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0]!.n > 0, 10_000);
      await other.query('COMMIT');
      const [y, x, z] = await group;
      assert.ok(x!.status === 'rejected' && x.reason instanceof WrongExpectedRevisionError, `race-x: ${x!.status === 'rejected' ? String(x.reason) : 'appended'}`);
      assert.equal((x.reason as WrongExpectedRevisionError).actual, 0n);
      assert.ok(y!.status === 'fulfilled' && z!.status === 'fulfilled', 'the others of the group were appended');
      assert.notEqual(y.value.position >> 20n, z.value.position >> 20n, 'each on its own, after the group failed');
      assert.deepEqual((await store.readStream('race-x')).map((r) => r.eventId), [theirs.eventId]);
    } finally {
      await other.end();
    }
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

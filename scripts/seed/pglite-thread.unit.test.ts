import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { WrongExpectedRevisionError } from '../../platform/event-store/port.js';
import type { SqlClient } from '../../platform/sql/client.js';
import { pgliteThreadClient } from './pglite-thread.js';

/** The seed's embedded database on a thread of its own: the SqlClient contract, across the thread. */
describe('PGlite on its own thread (annals seed, embedded)', { timeout: 120_000 }, () => {
  let dir: string;
  let db: SqlClient;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'annals-pglite-thread-'));
    db = await pgliteThreadClient(join(dir, 'db'));
    await db.exec('CREATE TABLE t (k text PRIMARY KEY, v bigint)');
  });
  after(async () => {
    await db?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers rows and carries the error fields the adapters read (code, detail)', async () => {
    const { rows } = await db.query<{ s: string; n: string }>(`SELECT $1::text AS s, ($2::bigint * 2)::text AS n`, ['Zoë 🐙', '4611686018427387903']);
    assert.deepEqual(rows, [{ s: 'Zoë 🐙', n: '9223372036854775806' }]);
    await assert.rejects(db.query('SELECT 1/0'), (e: Error & { code?: string }) => e.code === '22012' && /division by zero/.test(e.message));
    await assert.rejects(db.query(`SELECT $1::text`, ['a\u0000b']), (e: Error & { code?: string }) => e.code === '22021');
    await db.query(`INSERT INTO t VALUES ('dup', 1)`);
    await assert.rejects(db.query(`INSERT INTO t VALUES ('dup', 2)`), (e: Error & { code?: string; constraint?: string }) => e.code === '23505' && e.constraint === 't_pkey');
  });

  it('a transaction commits, rolls back on a throw (the caller sees its own error), and holds the database meanwhile', async () => {
    await db.transaction(async (tx) => {
      await tx.query(`INSERT INTO t VALUES ('a', 1)`);
    });
    const mine = new Error('mine');
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query(`INSERT INTO t VALUES ('b', 1)`);
        throw mine;
      }),
      (e) => e === mine,
    );
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const tx = db.transaction(async (t) => {
      await t.query(`INSERT INTO t VALUES ('c', 1)`);
      order.push('tx wrote');
      await held;
      order.push('tx ends');
    });
    await new Promise((r) => setTimeout(r, 50));
    const outside = db.query<{ n: string }>(`SELECT count(*)::text AS n FROM t WHERE k IN ('a', 'b', 'c')`).then((r) => {
      order.push('outside read');
      return r.rows[0]!.n;
    });
    await new Promise((r) => setTimeout(r, 100));
    release();
    await tx;
    assert.equal(await outside, '2', 'a and c: b was rolled back; the read waited for c to commit');
    assert.deepEqual(order, ['tx wrote', 'tx ends', 'outside read']);
  });

  it('the event store adapter works on it: a stale append is WrongExpectedRevisionError', async () => {
    const store = await postgresEventStore(db, {});
    const e = { eventId: randomUUID(), type: 'X', schemaVersion: 1, data: '{}', metadata: JSON.stringify({ tenantId: 't', occurredAt: '2026-01-01T00:00:00.000Z' }) };
    await store.append('s-1', [e], 'no_stream');
    await assert.rejects(store.append('s-1', [{ ...e, eventId: randomUUID() }], 'no_stream'), WrongExpectedRevisionError);
    assert.equal((await store.readStream('s-1')).length, 1);
  });

  it('after close, a statement is refused instead of hanging', async () => {
    await db.close();
    await assert.rejects(db.query('SELECT 1'), /exited/);
  });
});

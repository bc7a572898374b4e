import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { requireEnv } from '../testing/require-env.js';
import { pgClient, type SqlClient } from './client.js';

/**
 * `{ prepare: true }` on a real server: a named statement per text and connection, parsed once and then only
 * bound. One connection (max 1), so pg_prepared_statements shows what this pool prepared.
 */
describe('prepared statements on a PostgreSQL server', () => {
  let c: SqlClient;
  before(() => {
    c = pgClient(requireEnv('EVENTSTORE_URL'), { max: 1, applicationName: 'annals-prepare-test' });
  });
  after(async () => {
    await c?.close();
  });

  const prepared = async (text: string): Promise<number> => {
    const { rows } = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1`, [text]);
    return rows[0]!.n;
  };

  it('prepares a text once per connection and reuses it; an unprepared text stays unnamed', async () => {
    const text = `SELECT $1::int + 1 AS n, $2::text AS s`;
    for (const [i, s] of [[1, 'a'], [2, '😀'], [3, '']] as const) {
      const { rows } = await c.query<{ n: number; s: string }>(text, [i, s], { prepare: true });
      assert.deepEqual(rows, [{ n: i + 1, s }]);
    }
    assert.equal(await prepared(text), 1);
    const plain = `SELECT $1::int * 2 AS n`;
    assert.deepEqual((await c.query<{ n: number }>(plain, [21])).rows, [{ n: 42 }]);
    assert.equal(await prepared(plain), 0);
  });

  it('two texts get two statements, in a transaction too', async () => {
    const texts = [`SELECT $1::int AS n /* a */`, `SELECT $1::int AS n /* b */`];
    const got = await c.transaction(async (tx) => Promise.all(texts.map(async (t, i) => (await tx.query<{ n: number }>(t, [i], { prepare: true })).rows[0]!.n)));
    assert.deepEqual(got, [0, 1]);
    for (const t of texts) assert.equal(await prepared(t), 1, t);
  });

  it('a prepared statement that fails does not poison the pool, and follows a function replaced under it', async () => {
    // pg-pool drops a connection whose query failed: the next call prepares again on a fresh one.
    const fn = `annals_prepare_test_${process.pid}_${Date.now()}`;
    await c.exec(`CREATE FUNCTION ${fn}(x int) RETURNS int LANGUAGE sql AS 'SELECT 100 / x'`);
    try {
      const text = `SELECT ${fn}($1) AS n`;
      assert.deepEqual((await c.query<{ n: number }>(text, [4], { prepare: true })).rows, [{ n: 25 }]);
      await assert.rejects(c.query(text, [0], { prepare: true }), /division by zero/);
      assert.deepEqual((await c.query<{ n: number }>(text, [5], { prepare: true })).rows, [{ n: 20 }]);
      assert.equal(await prepared(text), 1);
      // A migration re-running CREATE OR REPLACE: the server re-plans the prepared statement.
      await c.exec(`CREATE OR REPLACE FUNCTION ${fn}(x int) RETURNS int LANGUAGE sql AS 'SELECT 1000 / x'`);
      assert.deepEqual((await c.query<{ n: number }>(text, [5], { prepare: true })).rows, [{ n: 200 }]);
    } finally {
      await c.exec(`DROP FUNCTION ${fn}(int)`);
    }
  });

  it('stops preparing past 256 distinct texts (text built per call by mistake), and still answers', async () => {
    const fresh = pgClient(requireEnv('EVENTSTORE_URL'), { max: 1, applicationName: 'annals-prepare-test' });
    try {
      for (let i = 0; i < 300; i++) {
        const { rows } = await fresh.query<{ n: number }>(`SELECT ${i}::int + $1::int AS n`, [1], { prepare: true });
        assert.equal(rows[0]!.n, i + 1);
      }
      const { rows } = await fresh.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_prepared_statements`);
      assert.equal(rows[0]!.n, 256);
    } finally {
      await fresh.close();
    }
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { hostileStrings } from '../../platform/pii/testing.js';
import { openPglite, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import { parseEvent, type EventEnvelope } from '../../schemas/events/registry.js';
import { applyEvents } from './apply.js';
import { InlineLiteralError, inlineParameters, insertShape, scriptOf } from './coalesce.js';
import { registerProjection } from './generations.js';
import type { PostgresProjection, SqlStatement } from './projection.js';

const insert = (id: number, name: string): SqlStatement => ({ sql: `INSERT INTO t (id, name, kind) VALUES ($1, $2, 'x') ON CONFLICT (id) DO NOTHING`, params: [id, name] });

describe('merging runs of single-row INSERTs (coalesce.ts)', () => {
  test('consecutive identical INSERT … VALUES become one multi-row INSERT; other statements keep their place', () => {
    const update: SqlStatement = { sql: `UPDATE t SET name = $2 WHERE id = $1`, params: [1, 'b'] };
    const script = scriptOf([insert(1, 'a'), insert(2, "o'hara"), update, insert(3, 'c')], { merge: true });
    assert.equal(
      script,
      [
        `INSERT INTO t (id, name, kind) VALUES ('1', 'a', 'x'),\n('2', 'o''hara', 'x') ON CONFLICT (id) DO NOTHING`,
        `UPDATE t SET name = 'b' WHERE id = '1'`,
        `INSERT INTO t (id, name, kind) VALUES ('3', 'c', 'x') ON CONFLICT (id) DO NOTHING`,
      ].join(';\n'),
    );
    assert.equal(scriptOf([insert(1, 'a'), insert(2, 'b')], { merge: false }).split(';\n').length, 2);
  });

  test('a NUL is never inlined into a script (the server would refuse the whole message): InlineLiteralError, before anything is sent', () => {
    const s: SqlStatement = { sql: `INSERT INTO t (a, b) VALUES ($1, $2)`, params: ['ok', 'Acme\u0000Inc'] };
    assert.throws(() => inlineParameters(s), (e: unknown) => e instanceof InlineLiteralError && e.code === 'PROJECTION_ERR_NUL_IN_LITERAL' && e.parameter === 2);
    assert.throws(() => scriptOf([s, s], { merge: true }), InlineLiteralError);
    // In JSON the NUL travels escaped (six characters, no NUL byte): inlined like any text; jsonb refuses
    // it on the server (22P05), a failure the runtime blames on its event like any other.
    assert.match(scriptOf([{ sql: `SELECT $1::jsonb`, params: [{ company: 'Acme\u0000Inc' }] }], { merge: false }), /Acme\\\\u0000Inc/);
    assert.equal(inlineParameters({ sql: `SELECT $1`, params: ['lone \ud800 surrogate'] }), `SELECT 'lone \ud800 surrogate'`);
  });

  test('only where merging cannot change the result: no subquery in the tuple, no placeholder outside it', () => {
    assert.ok(insertShape(`INSERT INTO t (a, b) VALUES ($1, coalesce($2, 'x)'))`));
    assert.equal(insertShape(`INSERT INTO t (a, b) VALUES ($1, (SELECT max(b) FROM t))`), undefined, 'a later row would not see an earlier one');
    assert.equal(insertShape(`INSERT INTO t (a) VALUES ($1) ON CONFLICT (a) DO UPDATE SET b = $2`), undefined);
    assert.equal(insertShape(`INSERT INTO t (a) SELECT $1 FROM u`), undefined);
    assert.equal(insertShape(`WITH x AS (INSERT INTO t (a) VALUES ($1) RETURNING a) UPDATE u SET a = 1`), undefined);
    assert.equal(insertShape(`UPDATE t SET a = $1`), undefined);
  });

  describe('on PostgreSQL (PGlite)', () => {
    let sql: SqlClient;
    before(async () => {
      sql = pgliteClient(await openPglite());
    });
    after(() => sql.close());

    test('inlined literals read back as the very values, quotes and backslashes included (fast path for plain text, pg escapeLiteral otherwise)', async () => {
      const values = [...hostileStrings.filter((s) => !s.includes('\u0000')), "O'Brien", 'back\\slash', "both ' and \\", "''", '\\', '$1', "E'x'", 'plain text'];
      for (const v of values) {
        const inlined = inlineParameters({ sql: `SELECT $1::text AS v, $2::text AS w`, params: [v, `${v}!`] });
        assert.equal(inlined, `SELECT ${pg.escapeLiteral(v)}::text AS v, ${pg.escapeLiteral(`${v}!`)}::text AS w`);
        // A lone surrogate has no UTF-8 form: the server stores U+FFFD whichever way it is sent.
        if (/\p{Surrogate}/u.test(v)) continue;
        const { rows } = await sql.query<{ v: string; w: string }>(inlined);
        assert.deepEqual(rows[0], { v, w: `${v}!` });
      }
    });

    test('ON CONFLICT DO NOTHING: the merged statement keeps the first row, as statements one by one do', async () => {
      const statements = [insert(1, 'first'), insert(2, 'b'), insert(1, 'second')];
      const results: unknown[] = [];
      for (const merge of [true, false]) {
        await sql.exec(`DROP TABLE IF EXISTS t; CREATE TABLE t (id int PRIMARY KEY, name text, kind text)`);
        await sql.exec(scriptOf(statements, { merge }));
        results.push((await sql.query(`SELECT * FROM t ORDER BY id`)).rows);
      }
      assert.deepEqual(results[0], [
        { id: 1, name: 'first', kind: 'x' },
        { id: 2, name: 'b', kind: 'x' },
      ]);
      assert.deepEqual(results[0], results[1]);
    });

    test('a merged ON CONFLICT DO UPDATE that meets one row twice fails; applyEvents falls back and counts both', async () => {
      const counter: PostgresProjection = {
        name: 'coalesce-test',
        version: 1,
        tables: ['counters'],
        eventTypes: ['LeadScored'],
        ddl: (tables) => `CREATE TABLE ${tables.counters} (lead_id uuid PRIMARY KEY, n int NOT NULL)`,
        project: (event, tables) =>
          event.type === 'LeadScored'
            ? [{ sql: `INSERT INTO ${tables.counters} (lead_id, n) VALUES ($1, 1) ON CONFLICT (lead_id) DO UPDATE SET n = ${tables.counters}.n + 1`, params: [event.data.leadId] }]
            : [],
      };
      const reg = await registerProjection(sql, counter);
      const lead = '00000000-0000-7000-8000-000000000001';
      // Two streams scoring the same lead, so the revision guard lets both through.
      const events = [scored(`lead-${lead}`, lead, 1n), scored(`other-${lead}`, lead, 2n), scored(`lead-${lead}`, lead, 3n, 1n)];
      const statements = events.flatMap((e) => counter.project(e, reg.tables));
      await assert.rejects(sql.exec(scriptOf(statements, { merge: true })), { code: '21000' }, 'merged, the statement fails');
      const r = await sql.transaction((tx) => applyEvents(tx, counter, { name: counter.name, generation: reg.generation, tables: reg.tables }, events));
      assert.equal(r.applied, 3);
      assert.deepEqual((await sql.query(`SELECT n FROM ${reg.tables.counters}`)).rows, [{ n: 3 }]);
    });
  });
});

function scored(streamId: string, leadId: string, position: bigint, streamRevision = 0n): EventEnvelope {
  return parseEvent({
    eventId: `00000000-0000-7000-8000-${position.toString().padStart(12, '0')}`,
    type: 'LeadScored',
    schemaVersion: 1,
    streamId,
    streamRevision,
    position,
    data: { leadId, score: 10, factors: [] },
    metadata: { tenantId: 't', actor: { userId: 'u', roles: ['sales'] }, correlationId: 'c', causationId: 'c', occurredAt: '2025-01-01T00:00:00.000Z' },
  });
}

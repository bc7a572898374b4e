import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PGlite } from '@electric-sql/pglite';
import { openPglite, pgliteClient, type SqlClient } from './client.js';
import { MigrationChangedError, migrate, migrationChecksum, type Migration } from './migrate.js';

// The migration policy: versioned migrations run once and are then frozen (a changed text refuses to start),
// repeatable ones (idempotent definitions) are re-applied whenever their text changes.
describe('migrate', () => {
  let db: PGlite;
  let sql: SqlClient;
  before(async () => {
    db = await openPglite();
    sql = pgliteClient(db);
  });
  after(() => sql.close());

  const table: Migration = { name: 'test/001-table', sql: `CREATE TABLE t_items (id int PRIMARY KEY, note text);` };
  const fn = (body: string): Migration => ({
    name: 'test/fn-item_note',
    repeatable: true,
    sql: `CREATE OR REPLACE FUNCTION item_note() RETURNS text LANGUAGE sql AS $$ SELECT ${body}::text $$;`,
  });
  const note = async () => (await sql.query<{ n: string }>(`SELECT item_note() AS n`)).rows[0]!.n;
  const recorded = async () =>
    new Map((await sql.query<{ name: string; checksum: string | null }>(`SELECT name, checksum FROM annals_migrations WHERE name LIKE 'test/%'`)).rows.map((r) => [r.name, r.checksum]));

  it('applies each migration once, records its checksum, and applies nothing the second time', async () => {
    assert.deepEqual(await migrate(sql, [table, fn(`'v1'`)]), ['test/001-table', 'test/fn-item_note']);
    assert.deepEqual(await migrate(sql, [table, fn(`'v1'`)]), []);
    assert.equal(await note(), 'v1');
    assert.deepEqual(await recorded(), new Map([[table.name, migrationChecksum(table)], ['test/fn-item_note', migrationChecksum(fn(`'v1'`))]]));
  });

  it('re-applies a repeatable definition whose text changed, so the new code reaches an existing database', async () => {
    assert.deepEqual(await migrate(sql, [table, fn(`'v2'`)]), ['test/fn-item_note']);
    assert.equal(await note(), 'v2');
    assert.equal((await recorded()).get('test/fn-item_note'), migrationChecksum(fn(`'v2'`)));
  });

  it('refuses to start when an applied versioned migration was edited, naming it, and applies nothing', async () => {
    const edited = { ...table, sql: `CREATE TABLE t_items (id int PRIMARY KEY, note text, extra text);` };
    const later: Migration = { name: 'test/002-more', sql: `CREATE TABLE t_more (id int);` };
    const err = await migrate(sql, [edited, later, fn(`'v3'`)]).then(
      () => assert.fail('expected a refusal'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof MigrationChangedError);
    assert.equal(err.code, 'SQL_ERR_MIGRATION_CHANGED');
    assert.match(err.message, /test\/001-table/);
    assert.match(err.message, /new migration/);
    assert.equal(await note(), 'v2', 'the repeatable one was not applied either');
    const more = await sql.query(`SELECT 1 FROM pg_tables WHERE tablename = 't_more'`);
    assert.equal(more.rows.length, 0, 'the later one was not applied');
  });

  it('a CRLF checkout of the same text is not a change', async () => {
    const crlf = { ...table, sql: table.sql.replace(/\n/g, '\r\n') + '\r\n' };
    assert.deepEqual(await migrate(sql, [crlf, fn(`'v2'`)]), []);
  });

  it('rows recorded before checksums (NULL): a versioned one adopts the current text, a repeatable one is re-applied', async () => {
    await sql.query(`UPDATE annals_migrations SET checksum = NULL WHERE name LIKE 'test/%'`);
    await db.exec(`CREATE OR REPLACE FUNCTION item_note() RETURNS text LANGUAGE sql AS $$ SELECT 'stale'::text $$;`);
    assert.deepEqual(await migrate(sql, [table, fn(`'v2'`)]), ['test/fn-item_note']);
    assert.equal(await note(), 'v2');
    assert.equal((await recorded()).get(table.name), migrationChecksum(table));
  });

  it('refuses a list that names a migration twice', async () => {
    await assert.rejects(migrate(sql, [table, table]), /listed twice/);
  });
});

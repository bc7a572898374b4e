import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashMatcher, valueHash } from '../../platform/pii/scanner.js';
import { openPglite, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import { pgSearchProjection } from '../../projections/postgres/search/projection.js';
import { postgresReadModelTarget } from '../../projections/postgres/target.js';
import { History, searchHistory, searchIds } from '../../projections/search/testing.js';
import { postgresSearch } from '../../query-api/search/postgres.js';
import { searchPipelineSuite } from './testing.js';

searchPipelineSuite('embedded (PGlite: search table + full-text + pg_trgm)', async () => {
  const sql = pgliteClient(await openPglite());
  return { target: postgresReadModelTarget(sql, pgSearchProjection), port: postgresSearch(sql), visible: async () => undefined, close: () => sql.close() };
});

// The erasure certificate's scanner of the embedded search model covers its term dictionary (whose rows
// name no subject): after an erasure through the real target, the erased surname is neither in a document
// nor in the dictionary, and a word the dictionary failed to forget fails the scan.
describe('search erasure scanner (embedded): documents and term dictionary', () => {
  let sql: SqlClient;
  before(async () => {
    sql = pgliteClient(await openPglite());
  });
  after(() => sql?.close());

  it('finds nothing after the erasure; a kept word of the erased subject is found', async () => {
    const target = postgresReadModelTarget(sql, pgSearchProjection);
    const live = (await target.register()) && (await target.live());
    assert.ok(live);
    const h = new History();
    searchHistory(h, 'tenant-a');
    await target.apply({ generation: live, items: h.events.map((event) => ({ position: event.position, event })) });
    const [key, salt] = ['k', 's'];
    const matcher = hashMatcher(key, salt, ['Ellen', 'Ripley', 'ripley@weyland.example'].map((v) => valueHash(key, salt, v)));
    const scan = () => target.scanner.scan({ tenantId: 'tenant-a', subjectIds: [searchIds.erased], matcher });
    const clean = await scan();
    assert.equal(clean.found, 0, JSON.stringify(clean));
    assert.equal((await postgresSearch(sql).search({ tenantId: 'tenant-a', text: 'Riplye' })).length, 0, 'the erased surname, mistyped, finds nothing');
    await sql.query(`INSERT INTO search_terms_g${live.generation} (tenant_id, term, refs) VALUES ('tenant-a', 'ripley', 1)`);
    const leaked = await scan();
    assert.equal(leaked.found, 1, JSON.stringify(leaked));
    assert.equal(leaked.findings[0]?.valueHash, valueHash(key, salt, 'Ripley'));
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openPglite, pgliteClient, type SqlClient } from '../../../platform/sql/client.js';
import { hashMatcher, valueHash } from '../../../platform/pii/scanner.js';
import type { SearchDocument } from '../../../schemas/read-models/search/documents.js';
import { searchTermsFromDocuments, tsLexeme } from '../../../schemas/read-models/search/postgres.js';
import { foldAll, searchIds, twoTenantSearchHistory } from '../../search/testing.js';
import { openReadModel } from '../testing.js';
import { pgSearchProjection } from './projection.js';

/**
 * The embedded search table holds exactly the documents the pure projector folds (the same documents as
 * Elasticsearch), whatever the delivery: in order, every event twice, or the history replayed again
 * backwards after it (late, out-of-order redeliveries).
 */
describe('search read model (PostgreSQL/PGlite)', () => {
  let db: SqlClient;
  let rm: Awaited<ReturnType<typeof openReadModel>>;
  before(async () => {
    db = pgliteClient(await openPglite());
    rm = await openReadModel(pgSearchProjection, db);
  });
  after(() => db.close());
  const order = (a: SearchDocument, b: SearchDocument) => (keyOf(a) < keyOf(b) ? -1 : 1);
  const keyOf = (d: SearchDocument) => `${d.tenantId}/${d.kind}/${d.id}`;
  const { events } = twoTenantSearchHistory();
  const expected = [...foldAll(events).values()].sort(order);

  const documents = async (events: Parameters<Awaited<ReturnType<typeof openReadModel>>['replay']>[0], deliverTwice = false) => {
    const g = await rm.replay(events, { deliverTwice });
    const rows = await g.rows('search_documents');
    return rows.map((r) => r.doc as SearchDocument).sort(order);
  };

  it('holds the pure projector\'s documents (same as Elasticsearch), with position = the document version', async () => {
    const docs = await documents(events);
    assert.deepEqual(docs, expected);
  });

  it('duplicates and late, out-of-order redeliveries leave the table unchanged', async () => {
    assert.deepEqual(await documents(events, true), expected);
    assert.deepEqual(await documents([...events, ...events.slice().reverse()]), expected);
  });

  it('generated search columns follow the document (lower-cased name/email/company; erased documents hold no personal value)', async () => {
    const g = await rm.replay(events);
    const rows = await g.rows('search_documents');
    const john = rows.find((r) => (r.doc as SearchDocument).firstName === 'John' && r.tenant_id === 'tenant-a')!;
    assert.deepEqual([john.name, john.email, john.company, john.state], ['john smith', 'john@globex.example', 'acme corporation', 'active']);
    for (const r of rows.filter((r) => r.state === 'erased')) {
      assert.ok(!/ripley|ellen|kyle|reese/i.test(JSON.stringify(r)), `erased row still holds a personal value: ${JSON.stringify(r)}`);
    }
  });

  // The typo path's term dictionary (schemas/read-models/search/postgres.ts), kept by a trigger.
  type Term = { tenant_id: string; term: string; refs: number };
  const byKey = (a: Term, b: Term) => (`${a.tenant_id}/${a.term}` < `${b.tenant_id}/${b.term}` ? -1 : 1);
  const dictionary = async (g: Awaited<ReturnType<typeof rm.replay>>) => ((await g.rows('search_terms')) as Term[]).sort(byKey);
  const recomputed = async (g: Awaited<ReturnType<typeof rm.replay>>) =>
    (await db.query<Term>(searchTermsFromDocuments(g.tables.search_documents!))).rows.sort(byKey);

  it('the term dictionary counts exactly the words of the active documents, per tenant, whatever the delivery', async () => {
    for (const [what, history, twice] of [
      ['in order', events, false],
      ['every event twice', events, true],
      ['replayed backwards after', [...events, ...events.slice().reverse()], false],
    ] as const) {
      const g = await rm.replay(history, { deliverTwice: twice });
      const terms = await dictionary(g);
      assert.deepEqual(terms, await recomputed(g), what);
      const a = new Map(terms.filter((t) => t.tenant_id === 'tenant-a').map((t) => [t.term, t.refs]));
      // John Smyth became John Smith (and ACME's CTO); Jane Smith; Jon Smith merged into John; Ellen Ripley and Kyle Reese erased.
      assert.equal(a.get('smith'), 2, `${what}: John and Jane Smith (the merged Jon Smith no longer counts)`);
      assert.equal(a.get('john'), 1, what);
      for (const gone of ['smyth', 'jon', 'ripley', 'ellen', 'kyle', 'reese']) assert.ok(!a.has(gone), `${what}: "${gone}" is still in the dictionary`);
      for (const kept of ['acme', 'corporation', 'cto', 'sarah', 'connor', 'initech', 'renewal']) assert.ok(a.has(kept), `${what}: "${kept}" missing`);
      // Emails are matched by prefix, never fuzzily: no email in the dictionary.
      assert.ok(terms.every((t) => !t.term.includes('@')), what);
      // Per tenant: tenant-b's words are its own rows.
      assert.deepEqual(
        terms.filter((t) => t.tenant_id === 'tenant-b').map((t) => [t.term, t.refs]),
        terms.filter((t) => t.tenant_id === 'tenant-a').map((t) => [t.term, t.refs]),
      );
    }
  });

  it('the erasure scanner finds a word no live document carries (an erased surname the dictionary kept), and nothing otherwise', async () => {
    const g = await rm.replay(events);
    const [key, salt] = ['scanner-key', 'salt-1'];
    const matcher = hashMatcher(key, salt, ['Ellen', 'Ripley', 'ripley@weyland.example'].map((v) => valueHash(key, salt, v)));
    const scan = (tenantId: string) => pgSearchProjection.scanLive!(db, g.tables, { tenantId, subjectIds: [searchIds.erased], matcher });
    const clean = await scan('tenant-a');
    assert.deepEqual(clean.findings, []);
    assert.ok(clean.examined > 10, 'every word of the tenant was checked');
    // What a trigger that failed to forget would leave: the erased surname, and a word nobody ever had.
    await db.query(`INSERT INTO ${g.tables.search_terms} (tenant_id, term, refs) VALUES ('tenant-a', 'ripley', 1), ('tenant-a', 'o''bri\\en', 1)`);
    const leaked = await scan('tenant-a');
    assert.equal(leaked.findings.length, 2, JSON.stringify(leaked));
    assert.ok(leaked.findings.some((f) => f.valueHash === valueHash(key, salt, 'Ripley') && f.location.startsWith('search_terms.term')));
    assert.deepEqual((await scan('tenant-b')).findings, [], 'the other tenant holds no such word');
  });

  it('a dictionary word becomes an exact tsquery lexeme whatever it holds (quotes, backslashes, tsquery syntax)', async () => {
    for (const term of ["o'brien", 'a\\b', "''", 'x:*', 'a & b', '!(c)', '\\', 'é😀']) {
      const { rows } = await db.query<{ same: boolean; other: boolean }>(
        `SELECT array_to_tsvector(ARRAY[$1::text]) @@ $2::tsquery AS same, array_to_tsvector(ARRAY['other']) @@ $2::tsquery AS other`,
        [term, tsLexeme(term)],
      );
      assert.deepEqual(rows[0], { same: true, other: false }, term);
    }
  });
});


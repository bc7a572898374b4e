import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@elastic/elasticsearch';
import { openPglite, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import { aliasOf, documentIdOf, indexOf, searchIndexMappings, searchIndexSettings } from '../../schemas/read-models/elasticsearch/indices.js';
import { searchKinds, type SearchDocument, type SearchKind } from '../../schemas/read-models/search/documents.js';
import { searchDocumentsDdl, searchDocumentsView, searchTermsDdl, searchTermsView } from '../../schemas/read-models/search/postgres.js';
import type { SearchHit, SearchPort } from './port.js';

/**
 * THE search suite: the same documents, the same queries, the same documents expected at the top, for
 * every adapter of the search port (SPEC: embedded search "passes the same search suite as Elasticsearch";
 * ranking within the expected set may differ). Each adapter's test file provides a store loaded with
 * `suiteDocuments(tenant, other)`; the suite only searches.
 */
export interface LoadedSearch {
  readonly port: SearchPort;
  /** The tenant whose documents the suite searches; `otherTenantOf(tenant)` holds the better matches. */
  readonly tenant: string;
  close(): Promise<void>;
}

const T = '2026-01-01T00:00:00.000Z';
let position = 0;
function doc(tenantId: string, kind: SearchKind, id: string, fields: Partial<SearchDocument>): SearchDocument {
  return {
    tenantId,
    kind,
    id,
    state: 'active',
    status: kind === 'contact' ? 'active' : kind === 'lead' ? 'New' : 'open',
    firstName: null,
    lastName: null,
    name: null,
    email: null,
    company: null,
    title: null,
    contactId: null,
    mergedInto: null,
    position: ++position,
    updatedAt: T,
    ...fields,
  };
}

/** Ids of the suite's documents (the other tenant's are prefixed `x-`, so a leak is visible in a diff). */
export const ids = {
  johnSmith: 'c-john-smith',
  janeSmith: 'c-jane-smith',
  johnDoe: 'c-john-doe',
  smithers: 'c-johnny-smithers',
  maria: 'c-maria-garcia',
  merged: 'c-john-smith-duplicate',
  erased: 'c-erased',
  sarah: 'l-sarah-connor',
  robert: 'l-robert-paulson',
  globexDeal: 'd-globex-renewal',
  acmeDeal: 'd-acme-expansion',
} as const;

/** The suite's documents for `tenant`, and better matches for every query in `other` (which must never show). */
export function suiteDocuments(tenant: string, other: string): SearchDocument[] {
  const c = (id: string, firstName: string, lastName: string, email: string | null, company: string | null, extra: Partial<SearchDocument> = {}) =>
    doc(tenant, 'contact', id, { firstName, lastName, email, company, ...extra });
  return [
    c(ids.johnSmith, 'John', 'Smith', 'jsmith@globex.example', 'Globex', { title: 'Engineer' }),
    c(ids.janeSmith, 'Jane', 'Smith', 'jane@initech.example', 'Initech'),
    c(ids.johnDoe, 'John', 'Doe', 'jdoe@umbrella.example', 'Umbrella'),
    c(ids.smithers, 'Johnny', 'Smithers', 'jsmithers@hooli.example', 'Hooli'),
    c(ids.maria, 'Maria', 'Garcia', 'maria.garcia@acme-corp.example', 'ACME Corporation', { title: 'CFO' }),
    // Not findable: a merged duplicate (an exact "John Smith") and an erased subject.
    c(ids.merged, 'John', 'Smith', 'john.smith@globex.example', 'Globex', { state: 'merged', status: 'merged', mergedInto: ids.johnSmith }),
    doc(tenant, 'contact', ids.erased, { state: 'erased', status: 'erased', company: 'Erasedco Smith' }),
    doc(tenant, 'lead', ids.sarah, { name: 'Sarah Connor', email: 'sarah@cyberdyne.example', company: 'Cyberdyne Systems' }),
    doc(tenant, 'lead', ids.robert, { name: 'Robert Paulson', email: 'bob@acme-corp.example', company: 'ACME Corporation', status: 'Qualified' }),
    doc(tenant, 'deal', ids.globexDeal, { name: 'Globex renewal 2026', contactId: ids.johnSmith }),
    doc(tenant, 'deal', ids.acmeDeal, { name: 'ACME Corporation expansion', contactId: ids.maria }),
    // Another tenant: exact matches of every query (a tenant leak would rank them first).
    doc(other, 'contact', `x-${ids.johnSmith}`, { firstName: 'Jonh', lastName: 'Smiht', email: 'jsmith@globex.example', company: 'ACME' }),
    doc(other, 'contact', `x-smi`, { firstName: 'Smi', lastName: 'Smi', email: 'smi@smi.example', company: 'Smi' }),
    doc(other, 'lead', `x-acme`, { name: 'Acme', email: 'acme@acme.example', company: 'acme' }),
    doc(other, 'deal', `x-deal`, { name: 'acme' }),
    // Words only the other tenant has: a typo of them finds nothing here (the embedded adapter's dictionary is per tenant).
    doc(other, 'contact', `x-quintus`, { firstName: 'Quintus', lastName: 'Zebulon', email: 'qz@zebulon.example', company: 'Zebulon Labs' }),
  ];
}

const HOSTILE = [
  'John\u0000Smith',
  '\u0000',
  '\ud800Smith',
  'Smith\udfff',
  'x'.repeat(10_000),
  `${'Smith '.repeat(2_000)}`,
  '"*?~(',
  'smi*',
  'john~2 AND smith^10 OR (a:b)',
  '/.*/',
  '\\',
  '%_%',
  "'; DROP TABLE search_documents; --",
  'a:* | b & !c',
  '{"query":{"match_all":{}}}',
  '\u202e\u200b\ufeff',
  '😀 Smith',
  '   ',
  '',
];

export function searchSuite(name: string, open: () => Promise<LoadedSearch>): void {
  describe(`search suite: ${name}`, () => {
    let loaded: LoadedSearch;
    let tenant: string;
    before(async () => {
      loaded = await open();
      tenant = loaded.tenant;
    });
    after(() => loaded?.close());
    const search = (text: string, options: { kinds?: SearchKind[]; first?: number; tenantId?: string; matchPersonal?: boolean } = {}): Promise<SearchHit[]> =>
      loaded.port.search({
        tenantId: options.tenantId ?? tenant,
        text,
        ...(options.kinds ? { kinds: options.kinds } : {}),
        ...(options.first ? { first: options.first } : {}),
        ...(options.matchPersonal === false ? { matchPersonal: false } : {}),
      });
    const top = (hits: SearchHit[], n: number) => new Set(hits.slice(0, n).map((h) => h.id));
    const mine = (hits: SearchHit[]) => {
      for (const h of hits) assert.ok(!h.id.startsWith('x-'), `another tenant's document ${h.id} was returned`);
    };

    it('"Jonh Smiht" (two transposition typos) finds John Smith first', async () => {
      const hits = await search('Jonh Smiht');
      mine(hits);
      assert.equal(hits[0]?.id, ids.johnSmith, JSON.stringify(hits));
    });

    it('"acme" finds the company "ACME Corporation": its contact, lead and deal are the top three', async () => {
      const hits = await search('acme');
      mine(hits);
      assert.deepEqual(top(hits, 3), new Set([ids.maria, ids.robert, ids.acmeDeal]), JSON.stringify(hits));
    });

    it('an email prefix finds the email first', async () => {
      for (const prefix of ['jsmith@glob', 'JSmith@Globex.ex', 'jsmith@globex.example']) {
        const hits = await search(prefix);
        mine(hits);
        assert.equal(hits[0]?.id, ids.johnSmith, `${prefix}: ${JSON.stringify(hits)}`);
      }
    });

    it('"smi" (a partial word) finds the Smiths', async () => {
      const hits = await search('smi');
      mine(hits);
      assert.deepEqual(top(hits, 3), new Set([ids.johnSmith, ids.janeSmith, ids.smithers]), JSON.stringify(hits));
    });

    it('the exact name is first, and a merged duplicate or an erased subject is never found', async () => {
      const hits = await search('John Smith');
      mine(hits);
      assert.equal(hits[0]?.id, ids.johnSmith);
      assert.ok(!hits.some((h) => h.id === ids.merged || h.id === ids.erased), JSON.stringify(hits));
      assert.deepEqual(await search('Erasedco'), []);
    });

    it('tenant isolation: the other tenant\'s better matches are never returned, not even with first: 1', async () => {
      for (const q of ['Jonh Smiht', 'smi', 'acme', 'jsmith@globex.example', 'Smi Smi']) {
        const hits = await search(q, { first: 1 });
        mine(hits);
      }
      // And the other tenant sees only its own documents.
      const theirs = await search('acme', { tenantId: otherTenantOf(tenant) });
      assert.ok(theirs.length > 0 && theirs.every((h) => h.id.startsWith('x-')), JSON.stringify(theirs));
      assert.deepEqual(await search('acme', { tenantId: `${tenant}\u0000` }), []);
      // A typo of words only the other tenant has: nothing here, their document there.
      assert.deepEqual(await search('Qiuntus Zeblon'), []);
      assert.equal((await search('Qiuntus Zeblon', { tenantId: otherTenantOf(tenant) }))[0]?.id, 'x-quintus');
      assert.deepEqual(await search('acme', { tenantId: tenant.toUpperCase() }), []);
    });

    it('types restrict the kinds; first bounds the answer; best match first (scores descending)', async () => {
      const deals = await search('acme', { kinds: ['deal'] });
      assert.deepEqual(deals.map((h) => [h.kind, h.id]), [['deal', ids.acmeDeal]]);
      const leads = await search('acme', { kinds: ['lead', 'contact'] });
      assert.ok(leads.every((h) => h.kind !== 'deal'));
      assert.equal((await search('smi', { first: 2 })).length, 2);
      const all = await search('john smith globex');
      for (let i = 1; i < all.length; i++) assert.ok(all[i - 1]!.score >= all[i]!.score, 'scores descend');
      for (const kind of searchKinds) assert.ok((await search('a', { kinds: [kind] })).every((h) => h.kind === kind));
    });

    it('a caller who may not read personal values is matched on business text only: a name or an email confirms nothing', async () => {
      const business = (text: string) => search(text, { matchPersonal: false });
      // (An email's domain may name a company: "jsmith@globex…" finds Globex's records, as "globex" does.)
      for (const q of ['John Smith', 'Jonh Smiht', 'Sarah Connor', 'smi', 'maria.garcia', 'Jane', 'jsmithers', 'jdoe@']) {
        assert.deepEqual(await business(q), [], q);
      }
      assert.deepEqual(top(await business('acme'), 3), new Set([ids.maria, ids.robert, ids.acmeDeal]));
      assert.equal((await business('Globex renewal'))[0]?.id, ids.globexDeal);
      assert.equal((await business('Enginer'))[0]?.id, ids.johnSmith, 'a job title, with a typo');
      assert.equal((await business('cyberdyne'))[0]?.id, ids.sarah, 'a lead found by its company');
    });

    it('hostile text never fails and never leaks: NUL, lone surrogates, 10k characters, query-language syntax', async () => {
      for (const q of HOSTILE) {
        const hits = await search(q);
        assert.ok(Array.isArray(hits), JSON.stringify(q.slice(0, 40)));
        mine(hits);
      }
      // A NUL inside a name is a separator, not the end of the query.
      assert.equal((await search('John\u0000Smith'))[0]?.id, ids.johnSmith);
    });
  });
}

export const otherTenantOf = (tenant: string): string => `${tenant}-other`;

/** Loads documents into a fresh generation of the embedded search table (view `search_documents`). */
export async function loadPostgresDocuments(sql: SqlClient, docs: readonly SearchDocument[], generation = 1): Promise<void> {
  const table = `${searchDocumentsView.name}_t${generation}`;
  const terms = `${searchTermsView.name}_t${generation}`;
  await sql.exec(`${searchDocumentsDdl(table, (s) => `${table}_${s}`)}${searchTermsDdl(table, terms, (s) => `${table}_${s}`)}
    CREATE OR REPLACE VIEW ${searchDocumentsView.name} AS SELECT * FROM ${table};
    CREATE OR REPLACE VIEW ${searchTermsView.name} AS SELECT * FROM ${terms};`);
  for (const d of docs) {
    await sql.query(`INSERT INTO ${table} (tenant_id, kind, id, doc, position) VALUES ($1, $2, $3, $4::jsonb, $5)`, [d.tenantId, d.kind, d.id, JSON.stringify(d), d.position]);
  }
}

/** An in-memory PGlite holding the suite's documents. */
export async function openSuitePglite(tenant: string): Promise<SqlClient> {
  const sql = pgliteClient(await openPglite());
  await loadPostgresDocuments(sql, suiteDocuments(tenant, otherTenantOf(tenant)));
  return sql;
}

/** Creates generation 1 of the three indices under `prefix` with their aliases and indexes `docs` (refreshed). */
export async function loadElasticsearchDocuments(client: Client, prefix: string, docs: readonly SearchDocument[]): Promise<void> {
  for (const kind of searchKinds) {
    await client.indices.create({ index: indexOf(kind, 1, prefix), settings: searchIndexSettings, mappings: searchIndexMappings as never, aliases: { [aliasOf(kind, prefix)]: {} } });
  }
  const operations = docs.flatMap((d) => [{ index: { _index: aliasOf(d.kind, prefix), _id: documentIdOf(d.tenantId, d.id), version: d.position, version_type: 'external' as const } }, d]);
  const r = await client.bulk({ operations, refresh: true });
  if (r.errors) throw new Error(`bulk failed: ${JSON.stringify(r.items.find((i) => i.index?.error))}`);
}

export async function dropElasticsearchPrefix(client: Client, prefix: string): Promise<void> {
  await client.indices.delete({ index: `${prefix}*`, ignore_unavailable: true, allow_no_indices: true }).catch(() => undefined);
}

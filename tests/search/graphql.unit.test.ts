import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signDevToken } from '../../platform/auth/sign.js';
import { createTokenVerifier } from '../../platform/auth/verify.js';
import { openPglite, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import type { Role } from '../../schemas/events/common.js';
import { pgSearchProjection } from '../../projections/postgres/search/projection.js';
import { postgresReadModelTarget } from '../../projections/postgres/target.js';
import { History, searchHistory, searchIds, searchIdsFrom } from '../../projections/search/testing.js';
import { DEFAULT_LIMITS } from '../../query-api/config.js';
import { postgresSearch } from '../../query-api/search/postgres.js';
import { createQueryApi, type QueryApi } from '../../query-api/service.js';
import { AUDIENCE, ISSUER, openReadModelsOn, SECRET, silentLogger } from '../query-api/testing.js';

/**
 * GraphQL `search` over the embedded read models the real projections wrote (entities + the search model):
 * best match first, the union's member types, tenant isolation, analyst masking (and no matching on personal
 * values for analysts), argument checks, hostile text never a 500.
 */
describe('GraphQL search (embedded)', () => {
  let sql: SqlClient;
  let api: QueryApi;
  let bare: QueryApi;
  const theirs = searchIdsFrom(100);
  before(async () => {
    sql = pgliteClient(await openPglite());
    const h = new History();
    searchHistory(h, 'tenant-a');
    searchHistory(h, 'tenant-b', theirs);
    const models = await openReadModelsOn(sql);
    await models.apply(h.events);
    const target = postgresReadModelTarget(sql, pgSearchProjection);
    const live = await target.register();
    await target.apply({ generation: live, items: h.events.map((event) => ({ position: event.position, event })) });
    const verifier = createTokenVerifier({ keys: { kind: 'secret', secret: SECRET }, issuer: ISSUER, audience: AUDIENCE });
    api = await createQueryApi({ readSql: sql, verifier, logger: silentLogger, limits: DEFAULT_LIMITS, services: { search: postgresSearch(sql) } });
    bare = await createQueryApi({ readSql: sql, verifier, logger: silentLogger, limits: DEFAULT_LIMITS });
  });
  after(async () => {
    await api?.stop();
    await bare?.stop();
    await sql?.close();
  });

  const gql = async (query: string, o: { tenant?: string; roles?: Role[]; variables?: Record<string, unknown>; app?: QueryApi } = {}) => {
    const token = await signDevToken({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, tenant: o.tenant ?? 'tenant-a', sub: 'u', roles: o.roles ?? ['sales'], ttlSeconds: 600 });
    const res = await (o.app ?? api).app.inject({
      method: 'POST',
      url: '/graphql',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      payload: JSON.stringify({ query, ...(o.variables ? { variables: o.variables } : {}) }),
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { status: res.statusCode, body: res.json() as { data: any; errors?: { extensions: { code: string } }[] } };
  };
  const SEARCH = `query($text: String!, $types: [SearchType!], $first: Int) {
    search(text: $text, types: $types, first: $first) {
      __typename
      ... on Contact { id firstName lastName email company status }
      ... on Lead { id name email company }
      ... on Deal { id dealName: name }
    }
  }`;

  it('"Jonh Smiht" answers John Smith first, as a Contact with its fields', async () => {
    const r = await gql(SEARCH, { variables: { text: 'Jonh Smiht' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.data.search[0], { __typename: 'Contact', id: searchIds.john, firstName: 'John', lastName: 'Smith', email: 'john@globex.example', company: 'ACME Corporation', status: 'ACTIVE' });
  });

  it('types restrict the union members; a lead is found by its name; merged and erased are never found', async () => {
    const deals = await gql(SEARCH, { variables: { text: 'acme', types: ['DEAL'] } });
    assert.deepEqual(deals.body.data.search, [{ __typename: 'Deal', id: searchIds.deal, dealName: 'ACME renewal' }]);
    const lead = await gql(SEARCH, { variables: { text: 'Sara Conor' } });
    assert.equal(lead.body.data.search[0].__typename, 'Lead');
    assert.equal(lead.body.data.search[0].id, searchIds.lead);
    const all = await gql(SEARCH, { variables: { text: 'Jon Smith Ripley Ellen', first: 100 } });
    const found = all.body.data.search.map((x: { id: string }) => x.id);
    assert.ok(!found.includes(searchIds.duplicate) && !found.includes(searchIds.erased), found.join(','));
  });

  it('tenant isolation: the other tenant sees only its own John, and never this one', async () => {
    const a = await gql(SEARCH, { variables: { text: 'Jonh Smiht' } });
    const b = await gql(SEARCH, { tenant: 'tenant-b', variables: { text: 'Jonh Smiht' } });
    assert.equal(b.body.data.search[0].id, theirs.john);
    const aIds = new Set(a.body.data.search.map((x: { id: string }) => x.id));
    for (const x of b.body.data.search) assert.ok(!aIds.has(x.id));
    const c = await gql(SEARCH, { tenant: 'tenant-c', variables: { text: 'acme' } });
    assert.deepEqual(c.body.data.search, []);
  });

  it('analysts get masked results, and a name or an email they type matches nothing', async () => {
    const r = await gql(SEARCH, { roles: ['analyst'], variables: { text: 'acme', types: ['CONTACT'] } });
    assert.equal(r.body.data.search[0].id, searchIds.john);
    assert.notEqual(r.body.data.search[0].email, 'john@globex.example');
    assert.notEqual(r.body.data.search[0].firstName, 'John');
    assert.equal(r.body.data.search[0].company, 'ACME Corporation');
    for (const text of ['John Smith', 'Jonh Smiht', 'Sarah Connor', 'jane@', 'smi']) {
      assert.deepEqual((await gql(SEARCH, { roles: ['analyst'], variables: { text } })).body.data.search, [], text);
    }
  });

  it('hostile text is never a 500; first out of range is a coded 400 error; no port → SEARCH_ERR_NOT_CONFIGURED', async () => {
    for (const text of ['\u0000', '\ud800x', 'x'.repeat(10_000), '"*?~(', "'; DROP TABLE contacts; --", '%_\\', '{"$ne":1}']) {
      const r = await gql(SEARCH, { variables: { text } });
      assert.equal(r.status, 200, JSON.stringify(text.slice(0, 20)));
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      assert.ok(Array.isArray(r.body.data.search));
    }
    for (const first of [0, -1, 101, 2 ** 31 - 1]) {
      const r = await gql(SEARCH, { variables: { text: 'acme', first } });
      // (A huge `first` is refused by the cost limit before the resolver runs: either way a coded 400.)
      assert.ok(['QUERY_ERR_INVALID_ARGUMENT', 'QUERY_ERR_TOO_COSTLY'].includes(r.body.errors?.[0]?.extensions.code ?? ''), `first ${first}: ${JSON.stringify(r.body)}`);
      assert.equal(r.status, 400);
    }
    const r = await gql(SEARCH, { app: bare, variables: { text: 'acme' } });
    assert.equal(r.body.errors?.[0]?.extensions.code, 'SEARCH_ERR_NOT_CONFIGURED');
  });
});

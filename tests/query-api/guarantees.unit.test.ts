import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { fixtureHistory, ids, pageIds } from './fixture.js';
import { openReadModels, openTestApi, type GqlBody, type ReadModels, type TestApi } from './testing.js';

/**
 * The query API's guarantees: pagination at the boundaries, cursors bound to their query, one statement
 * per field per request, tenant isolation (with its security log line), analyst masking, erased subjects,
 * auth refusals, limits, and bad input answered as coded GraphQL errors (never a 500, never a stack).
 */
const T = { timeout: 30_000 };

describe('query API guarantees', () => {
  let rm: ReadModels;
  let t: TestApi;
  let p: TestApi;
  const logLines: Record<string, unknown>[] = [];
  before(async () => {
    rm = await openReadModels();
    await rm.apply(fixtureHistory().events);
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n')) if (line.trim()) logLines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    t = await openTestApi(rm.sql, { logger: pino({ level: 'info' }, sink), limits: { maxDepth: 8, maxCost: 5_000 } });
    p = await openTestApi(rm.sql, { defaultTenant: 'tenant-p', limits: { maxPageSize: 30 } });
  });
  after(async () => {
    await p?.close();
    await t?.close();
    await rm?.close();
  });

  const ok = (r: { status: number; body: GqlBody }) => {
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
    assert.equal(r.status, 200);
    return r.body.data;
  };
  /** The one error of a refused request, with the checks every refusal must pass. */
  const refused = (r: { status: number; body: GqlBody }, code: string, status = 400) => {
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.ok(r.body.errors && r.body.errors.length >= 1, 'an errors array');
    const e = r.body.errors.find((x) => x.extensions.code === code);
    assert.ok(e, `expected ${code}, got ${JSON.stringify(r.body.errors)}`);
    assert.match(String(e.extensions.correlationId), /\S/);
    assert.doesNotMatch(JSON.stringify(r.body), /\n\s+at |\.ts:\d+/, 'no stack trace');
    return e;
  };

  describe('pagination (25 contacts in tenant-p, five created at the same instant)', () => {
    const Q = `query($first: Int, $after: String, $last: Int, $before: String, $f: ContactFilter) {
      contacts(first: $first, after: $after, last: $last, before: $before, filter: $f) {
        edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      } }`;
    const pageOf = async (v: Record<string, unknown>) => ok(await p.gql(Q, { variables: v })).contacts;
    const idsOf = (c: { edges: { node: { id: string } }[] }) => c.edges.map((e) => e.node.id);

    it('forward pages of 10 visit every contact once, in a stable order, the last page says so', T, async () => {
      const all = idsOf(await pageOf({ first: 30 }));
      assert.equal(all.length, 25);
      assert.equal(new Set(all).size, 25);
      // Newest first; the five created at one instant come first, ordered by id descending (the tie-breaker).
      assert.deepEqual(all.slice(0, 5), pageIds.slice(20).reverse());
      const seen: string[] = [];
      let after: string | null = null;
      const shapes: [number, boolean, boolean][] = [];
      for (let i = 0; i < 5; i++) {
        const c = await pageOf({ first: 10, after });
        seen.push(...idsOf(c));
        shapes.push([c.edges.length, c.pageInfo.hasNextPage, c.pageInfo.hasPreviousPage]);
        if (!c.pageInfo.hasNextPage) break;
        after = c.pageInfo.endCursor;
      }
      assert.deepEqual(shapes, [
        [10, true, false],
        [10, true, true],
        [5, false, true],
      ]);
      assert.deepEqual(seen, all);
    });

    it('exactly one page: first = the number of rows has no next page', T, async () => {
      const c = await pageOf({ first: 25 });
      assert.equal(c.edges.length, 25);
      assert.equal(c.pageInfo.hasNextPage, false);
      const five = await pageOf({ first: 5, f: { tags: ['same'] } });
      assert.deepEqual([five.edges.length, five.pageInfo.hasNextPage], [5, false]);
    });

    it('empty: a filter matching nothing, and first: 0', T, async () => {
      const none = await pageOf({ first: 10, f: { tags: ['nothing'] } });
      assert.deepEqual(none, { edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null } });
      const zero = await pageOf({ first: 0 });
      assert.deepEqual(zero.edges, []);
      const afterLast = await pageOf({ first: 10, after: (await pageOf({ first: 30 })).pageInfo.endCursor });
      assert.deepEqual([afterLast.edges.length, afterLast.pageInfo.hasNextPage, afterLast.pageInfo.hasPreviousPage], [0, false, true]);
    });

    it('backward: last/before walks the same order from the end', T, async () => {
      const all = idsOf(await pageOf({ first: 30 }));
      const seen: string[] = [];
      let before: string | null = null;
      const shapes: [number, boolean, boolean][] = [];
      for (let i = 0; i < 5; i++) {
        const c = await pageOf({ last: 10, before });
        seen.unshift(...idsOf(c));
        shapes.push([c.edges.length, c.pageInfo.hasPreviousPage, c.pageInfo.hasNextPage]);
        if (!c.pageInfo.hasPreviousPage) break;
        before = c.pageInfo.startCursor;
      }
      assert.deepEqual(shapes, [
        [10, true, false],
        [10, true, true],
        [5, false, true],
      ]);
      assert.deepEqual(seen, all);
      // Both bounds: what lies strictly between two cursors.
      const full = await pageOf({ first: 30 });
      const between = await pageOf({ first: 30, after: full.edges[2]!.cursor, before: full.edges[6]!.cursor });
      assert.deepEqual(idsOf(between), all.slice(3, 6));
    });

    it('totalCount is counted only when selected', T, async () => {
      p.sql.reset();
      ok(await p.gql(`{ contacts(first: 3) { nodes { id } } }`));
      assert.equal(p.sql.statements.filter((s) => /count\(\*\)/.test(s)).length, 0);
      p.sql.reset();
      assert.equal(ok(await p.gql(`{ contacts(first: 3) { totalCount } }`)).contacts.totalCount, 25);
      assert.equal(p.sql.statements.filter((s) => /count\(\*\)/.test(s)).length, 1);
    });

    it('cursors: garbage is QUERY_ERR_BAD_CURSOR; a cursor of another filter, order or connection is QUERY_ERR_CURSOR_MISMATCH', T, async () => {
      const c = await pageOf({ first: 2 });
      const cursor = c.pageInfo.endCursor as string;
      let e = refused(await p.gql(Q, { variables: { first: 2, after: 'not-a-cursor!' } }), 'QUERY_ERR_BAD_CURSOR');
      assert.equal(e.extensions.field, 'contacts.after');
      refused(await p.gql(Q, { variables: { first: 2, after: Buffer.from('{"v":1}').toString('base64url') } }), 'QUERY_ERR_BAD_CURSOR');
      e = refused(await p.gql(Q, { variables: { first: 2, after: cursor, f: { tags: ['even'] } } }), 'QUERY_ERR_CURSOR_MISMATCH');
      assert.equal(e.extensions.field, 'contacts.after');
      refused(await p.gql(`query($a: String) { contacts(first: 2, after: $a, orderBy: { field: CREATED_AT }) { nodes { id } } }`, { variables: { a: cursor } }), 'QUERY_ERR_CURSOR_MISMATCH');
      refused(await p.gql(`query($a: String) { deals(first: 2, after: $a) { nodes { id } } }`, { variables: { a: cursor } }), 'QUERY_ERR_CURSOR_MISMATCH');
      // A forged cursor with the right fingerprint and a key that is not a timestamp.
      const body = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as { f: string };
      const forged = Buffer.from(JSON.stringify({ v: 1, f: body.f, k: ['year 0000', pageIds[0]] })).toString('base64url');
      refused(await p.gql(Q, { variables: { first: 2, after: forged } }), 'QUERY_ERR_BAD_CURSOR');
    });

    it('page sizes: over QUERY_MAX_PAGE_SIZE, negative, or first and last together are refused', T, async () => {
      let e = refused(await p.gql(Q, { variables: { first: 31 } }), 'QUERY_ERR_PAGE_SIZE');
      assert.equal(e.extensions.field, 'contacts.first');
      assert.equal(e.extensions.limit, 'QUERY_MAX_PAGE_SIZE');
      refused(await p.gql(Q, { variables: { last: -1 } }), 'QUERY_ERR_PAGE_SIZE');
      refused(await p.gql(Q, { variables: { first: 1, last: 1 } }), 'QUERY_ERR_PAGE_SIZE');
      // A non-null list field refused: its null bubbles up to data: null (400).
      e = refused(await p.gql(`{ contacts(first: 1) { nodes { timeline(first: 1000) { type } } } }`), 'QUERY_ERR_PAGE_SIZE');
      assert.equal(e.extensions.field, 'Contact.timeline.first');
    });
  });

  describe('loaders: one SQL statement per field per request', () => {
    it('deals(first: 50) with contact, contact.deals, contact.consents and stage history: 6 statements whatever the rows', T, async () => {
      t.sql.reset();
      const d = ok(
        await t.gql(`{ deals(first: 50) { nodes { id contact { id email deals { id } consents { purpose } timeline(first: 2) { type } } stageHistory { toStage } } } }`),
      );
      assert.equal(d.deals.nodes.length, 5);
      assert.ok(d.deals.nodes.every((n: { contact: unknown }) => n.contact !== null));
      // page, contact by id, contact.deals, contact.consents, contact.timeline, deal.stageHistory
      assert.equal(t.sql.statements.length, 6, t.sql.statements.join('\n---\n'));
      t.sql.reset();
      ok(await t.gql(`{ deals(first: 2) { nodes { id contact { id email deals { id } consents { purpose } timeline(first: 2) { type } } stageHistory { toStage } } } }`));
      assert.equal(t.sql.statements.length, 6, 'the same count for 2 rows as for 5');
    });

    it('budgets with allocations and spend; leads with converted contact and deal: one statement per field', T, async () => {
      t.sql.reset();
      ok(await t.gql(`{ budgets(first: 10) { nodes { allocations { campaign } spend { vendor } } } }`));
      assert.equal(t.sql.statements.length, 3);
      t.sql.reset();
      ok(await t.gql(`{ leads(first: 10) { nodes { convertedContact { id } convertedDeal { id } consents { purpose } } } }`));
      assert.equal(t.sql.statements.length, 4);
    });
  });

  describe('tenants, roles, masking, erasure', () => {
    it("another tenant's id reads as null, with a security log line; lists never cross tenants", T, async () => {
      logLines.splice(0);
      const d = ok(await t.gql(`{ contact(id: "${ids.otherContact}") { id } deal(id: "${ids.otherDeal}") { id } }`));
      assert.deepEqual(d, { contact: null, deal: null });
      const security = logLines.filter((l) => l.security === 'cross-tenant-access');
      assert.deepEqual(security.map((l) => [l.entity, l.id, l.tenantId]).sort(), [
        ['contact', ids.otherContact, 'tenant-a'],
        ['deal', ids.otherDeal, 'tenant-a'],
      ]);
      const list = ok(await t.gql(`{ contacts(first: 50, filter: { company: "Acme" }) { nodes { id } } deals(first: 50) { nodes { id } } }`));
      assert.ok(!list.contacts.nodes.some((n: { id: string }) => n.id === ids.otherContact));
      assert.ok(!list.deals.nodes.some((n: { id: string }) => n.id === ids.otherDeal));
      // From tenant-b, the same ids are its own, and tenant-a's are not.
      const b = await t.token({ tenant: 'tenant-b' });
      const fromB = ok(await t.gql(`{ contact(id: "${ids.otherContact}") { id } alice: contact(id: "${ids.alice}") { id } }`, { token: b }));
      assert.deepEqual(fromB, { contact: { id: ids.otherContact }, alice: null });
      // A tenant claim that is not an id of the product is refused before any query.
      refused(await t.gql(`{ me { tenantId } }`, { token: await t.token({ tenant: 'ACME' }) }), 'AUTH_ERR_CLAIMS_INVALID', 401);
    });

    it('analyst: personal fields masked (a***@example.com), business fields clear, personal filters refused', T, async () => {
      const analyst = await t.token({ roles: ['analyst'] });
      const d = ok(
        await t.gql(
          `{ contact(id: "${ids.alice}") { firstName lastName email phone company title tags customFields timeline { summary outcome } consents { source } deals { name } }
             lead(id: "${ids.leadQualified}") { name email notes company bant { need authority } } }`,
          { token: analyst },
        ),
      );
      assert.deepEqual(
        { ...d.contact, timeline: d.contact.timeline.filter((e: { outcome: unknown }) => e.outcome !== null) },
        {
          firstName: 'A***',
          lastName: 'S***',
          email: 'a***@example.com',
          phone: '***42',
          company: 'Acme',
          title: 'CTO',
          tags: ['vip', 'emea'],
          customFields: { birthday: '***' },
          timeline: [{ summary: '***', outcome: '***' }],
          consents: [{ source: '***' }, { source: '***' }],
          deals: [{ name: 'Acme upsell' }, { name: 'Acme renewal' }],
        },
      );
      assert.deepEqual(d.lead, { name: 'Q***', email: 'q***@example.com', notes: '***', company: 'Globex', bant: { need: '***', authority: 'decision-maker' } });
      const e = refused(await t.gql(`{ contacts(filter: { email: "alice@example.com" }) { nodes { id } } }`, { token: analyst }), 'AUTH_ERR_FORBIDDEN', 403);
      assert.equal(e.extensions.field, 'contacts.filter.email');
      // Every other role reads in clear.
      for (const role of ['sales', 'manager', 'admin', 'marketing', 'auditor', 'dpo'] as const) {
        const c = ok(await t.gql(`{ contact(id: "${ids.alice}") { email } }`, { token: await t.token({ roles: [role] }) }));
        assert.equal(c.contact.email, 'alice@example.com', role);
      }
    });

    it('erased subjects: personal fields read "[erased]" for every role; the rest stays', T, async () => {
      for (const roles of [['sales'], ['analyst']] as const) {
        const d = ok(
          await t.gql(
            `{ contact(id: "${ids.erin}") { firstName lastName email phone customFields status erased erasedAt createdAt }
               rebuilt: contact(id: "${ids.rebuilt}") { firstName lastName company }
               lead(id: "${ids.leadErased}") { name email notes erased source } }`,
            { token: await t.token({ roles: [...roles] }) },
          ),
        );
        assert.deepEqual({ ...d.contact, erasedAt: undefined, createdAt: undefined }, {
          firstName: '[erased]',
          lastName: '[erased]',
          email: '[erased]',
          phone: '[erased]',
          customFields: null,
          status: 'ERASED',
          erased: true,
          erasedAt: undefined,
          createdAt: undefined,
        });
        assert.ok(d.contact.erasedAt && d.contact.createdAt);
        // Values a rebuild read as "[erased]" are not masked into "[***".
        assert.deepEqual(d.rebuilt, { firstName: '[erased]', lastName: '[erased]', company: 'Rebuilt Inc' });
        assert.deepEqual(d.lead, { name: '[erased]', email: '[erased]', notes: '[erased]', erased: true, source: 'SOCIAL' });
      }
    });

    it('auth: no token, an expired token, a forged one, a token without a product role', T, async () => {
      refused(await t.gql(`{ me { userId } }`, { token: null }), 'AUTH_ERR_TOKEN_MISSING', 401);
      const expired = await t.token({ now: new Date(Date.now() - 3_600_000), ttlSeconds: 60 });
      const e = refused(await t.gql(`{ contact(id: "${ids.alice}") { email } }`, { token: expired }), 'AUTH_ERR_TOKEN_EXPIRED', 401);
      assert.equal(e.message, 'the token has expired');
      const good = await t.token();
      const forged = `${good.slice(0, good.lastIndexOf('.'))}.${'A'.repeat(43)}`;
      refused(await t.gql(`{ me { userId } }`, { token: forged }), 'AUTH_ERR_TOKEN_INVALID', 401);
      refused(await t.gql(`{ me { userId } }`, { token: await t.token({ roles: ['janitor' as never] }) }), 'AUTH_ERR_FORBIDDEN', 403);
    });

    it('the correlation id: echoed, in every error, and generated when absent', T, async () => {
      const r = await t.gql(`{ contact(id: "nope") { id } }`, { headers: { 'x-correlation-id': 'trace-42' } });
      assert.equal(r.headers['x-correlation-id'], 'trace-42');
      assert.equal(r.body.errors?.[0]?.extensions.correlationId, 'trace-42');
      const g = await t.gql(`{ contact(id: "nope") { id } }`);
      assert.equal(g.body.errors?.[0]?.extensions.correlationId, g.headers['x-correlation-id']);
    });
  });

  describe('bad input: a coded GraphQL error naming the field, never a 500 or a stack', () => {
    it('malformed query, unknown field, wrong argument type', T, async () => {
      refused(await t.gql(`{ contact(id: "x") { id `), 'QUERY_ERR_SYNTAX');
      let e = refused(await t.gql(`{ contacts { nodes { id shoeSize } } }`), 'QUERY_ERR_VALIDATION');
      assert.equal(e.extensions.field, 'contacts.nodes.shoeSize');
      e = refused(await t.gql(`{ contacts(first: "ten") { nodes { id } } }`), 'QUERY_ERR_VALIDATION');
      assert.equal(e.extensions.field, 'contacts.first');
      refused(await t.gql(`query($f: Int!) { contacts(first: $f) { nodes { id } } }`), 'QUERY_ERR_VALIDATION');
    });

    it('a non-UUID id', T, async () => {
      for (const bad of ['42', 'not-a-uuid', "' OR 1=1 --", `${ids.alice}x`]) {
        const e = refused(await t.gql(`query($id: ID!) { contact(id: $id) { id } }`, { variables: { id: bad } }), 'QUERY_ERR_INVALID_ID', 200);
        assert.equal(e.extensions.field, 'contact.id');
        assert.deepEqual(e.path, ['contact']);
      }
      refused(await t.gql(`{ deal(id: "1") { id } }`), 'QUERY_ERR_INVALID_ID', 200);
      refused(await t.gql(`{ consents(subjectId: "1") { purpose } }`), 'QUERY_ERR_INVALID_ID');
    });

    it('invalid instants and dates: no zone, year 0000, Feb 30, not a string', T, async () => {
      for (const bad of ['2025-03-01T09:00:00', '0000-01-01T00:00:00Z', '2025-02-30T00:00:00Z', 'yesterday', '2025-03-01T25:00:00Z']) {
        const r = await t.gql(`query($d: DateTime) { contacts(filter: { createdAfter: $d }) { nodes { id } } }`, { variables: { d: bad } });
        const e = refused(r, 'QUERY_ERR_INVALID_INSTANT');
        assert.equal(e.extensions.field, '$d');
      }
      const lit = refused(await t.gql(`{ deals(filter: { openedAfter: "2025-13-01T00:00:00Z" }) { nodes { id } } }`), 'QUERY_ERR_INVALID_INSTANT');
      assert.equal(lit.extensions.field, 'deals.filter.openedAfter');
      refused(await t.gql(`{ deals(filter: { openedAfter: 20250101 }) { nodes { id } } }`), 'QUERY_ERR_INVALID_INSTANT');
      refused(await t.gql(`{ deals(filter: { expectedCloseFrom: "2025-02-30" }) { nodes { id } } }`), 'QUERY_ERR_INVALID_ARGUMENT');
    });

    it('hostile strings and numbers in filters: NUL, lone surrogates, too long, huge amounts, inverted ranges', T, async () => {
      const q = `query($f: DealFilter) { deals(filter: $f) { nodes { id } } }`;
      // deals is non-null: a refused argument leaves data null (400).
      let e = refused(await t.gql(q, { variables: { f: { ownerId: 'rep\u00001' } } }), 'QUERY_ERR_INVALID_ARGUMENT');
      assert.equal(e.extensions.field, 'deals.filter.ownerId');
      e = refused(await t.gql(q, { variables: { f: { stage: ['ok', 'bad\ud800'] } } }), 'QUERY_ERR_INVALID_ARGUMENT');
      assert.equal(e.extensions.field, 'deals.filter.stage[1]');
      refused(await t.gql(q, { variables: { f: { pipeline: 'x'.repeat(201) } } }), 'QUERY_ERR_INVALID_ARGUMENT');
      refused(await t.gql(q, { variables: { f: { valueMin: '99999999999999999999' } } }), 'QUERY_ERR_INVALID_ARGUMENT');
      refused(await t.gql(q, { variables: { f: { valueMin: 1.5 } } }), 'QUERY_ERR_INVALID_ARGUMENT');
      e = refused(await t.gql(q, { variables: { f: { valueMin: 10, valueMax: 5 } } }), 'QUERY_ERR_INVALID_ARGUMENT');
      assert.equal(e.extensions.field, 'deals.filter.valueMin');
      refused(await t.gql(`query($t: [String!]) { contacts(filter: { tags: $t }) { nodes { id } } }`, { variables: { t: ['\u0000'] } }), 'QUERY_ERR_INVALID_ARGUMENT');
      // A lone surrogate in the query text itself (JSON allows the escape; GraphQL's lexer refuses it).
      const r = await t.api.app.inject({
        method: 'POST',
        url: '/graphql',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await t.token()}` },
        payload: '{"query":"{ contacts(filter: { company: \\"\\ud800\\" }) { nodes { id } } }"}',
      });
      assert.notEqual(r.statusCode, 500);
      assert.equal((r.json() as GqlBody).errors?.[0]?.extensions.code, 'QUERY_ERR_SYNTAX');
    });

    it('malformed requests: not JSON, no query, variables not an object, a GET mutation, text/plain', T, async () => {
      const auth = { authorization: `Bearer ${await t.token()}` };
      const post = (payload: string, type = 'application/json') => t.api.app.inject({ method: 'POST', url: '/graphql', headers: { 'content-type': type, ...auth }, payload });
      const codeOf = async (res: Awaited<ReturnType<typeof post>>) => {
        assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${res.statusCode} ${res.body}`);
        const body = res.json() as GqlBody;
        assert.doesNotMatch(res.body, /\n\s+at /);
        assert.match(String(body.errors?.[0]?.extensions.correlationId), /\S/);
        return body.errors?.[0]?.extensions.code;
      };
      assert.equal(await codeOf(await post('{"query": ')), 'HTTP_ERR_MALFORMED_JSON');
      assert.equal(await codeOf(await post('{}')), 'QUERY_ERR_BAD_REQUEST');
      assert.equal(await codeOf(await post('[1,2]')), 'QUERY_ERR_BAD_REQUEST');
      assert.equal(await codeOf(await post('{"query":"{ me { userId } }","variables":"x"}')), 'QUERY_ERR_BAD_REQUEST');
      assert.equal(await codeOf(await post('{"query":"{ me { userId } }"}', 'text/plain')), 'HTTP_ERR_UNSUPPORTED_MEDIA_TYPE');
      const get = await t.api.app.inject({ method: 'GET', url: `/graphql?query=${encodeURIComponent('{ me { userId } }')}&variables=nope`, headers: auth });
      assert.equal(await codeOf(get), 'QUERY_ERR_BAD_REQUEST');
      const viaGet = await t.api.app.inject({ method: 'GET', url: `/graphql?query=${encodeURIComponent('{ me { userId } }')}`, headers: auth });
      assert.equal(viaGet.statusCode, 200, viaGet.body);
    });

    it('a huge document is refused while parsing (more than 10000 tokens)', T, async () => {
      const huge = `{ ${Array.from({ length: 6_000 }, (_, i) => `a${i}: me { userId }`).join(' ')} }`;
      const e = refused(await t.gql(huge), 'QUERY_ERR_SYNTAX');
      assert.match(e.message, /10000 tokens/);
    });

    it('depth and cost limits: refused before any statement, naming the limit', T, async () => {
      t.sql.reset();
      const deep = `{ contacts { nodes { mergedInto { mergedInto { mergedInto { mergedInto { mergedInto { mergedInto { mergedInto { id } } } } } } } } } }`;
      const e = refused(await t.gql(deep), 'QUERY_ERR_TOO_DEEP');
      assert.equal(e.extensions.limit, 'QUERY_MAX_DEPTH');
      assert.equal(e.extensions.max, 8);
      assert.match(e.message, /QUERY_MAX_DEPTH/);
      const costly = `query($n: Int) { deals(first: $n) { nodes { contact { deals(first: 30) { stageHistory { toStage at } } } } } }`;
      const c = refused(await t.gql(costly, { variables: { n: 100 } }), 'QUERY_ERR_TOO_COSTLY');
      assert.equal(c.extensions.limit, 'QUERY_MAX_COST');
      assert.ok(Number(c.extensions.actual) > 5_000);
      assert.equal(t.sql.statements.length, 0, 'nothing was read');
      // The same document with a small page is within the limit (cost depends on the variables).
      ok(await t.gql(costly, { variables: { n: 2 } }));
      // A measure is remembered per document only when no variable sets it: both are refused again.
      refused(await t.gql(costly, { variables: { n: 100 } }), 'QUERY_ERR_TOO_COSTLY');
      refused(await t.gql(deep), 'QUERY_ERR_TOO_DEEP');
      // Introspection's own depth is not counted.
      ok(await t.gql(`{ __schema { types { name fields { name type { name ofType { name ofType { name ofType { name ofType { name } } } } } } } } }`));
    });
  });
});

describe('query API deployment switches', () => {
  let rm: ReadModels;
  before(async () => {
    rm = await openReadModels();
  });
  after(async () => {
    await rm?.close();
  });

  it('rate limit: past QUERY_RATE_LIMIT_MAX_PER_WINDOW a user gets 429 with Retry-After and HTTP_ERR_RATE_LIMITED; another user does not', T, async () => {
    const api = await openTestApi(rm.sql, { limits: { rateLimit: { maxPerWindow: 2, windowMs: 60_000 } } });
    try {
      const u1 = await api.token({ sub: 'u1' });
      assert.equal((await api.gql(`{ me { userId } }`, { token: u1 })).status, 200);
      assert.equal((await api.gql(`{ me { userId } }`, { token: u1 })).status, 200);
      const r = await api.gql(`{ me { userId } }`, { token: u1 });
      assert.equal(r.status, 429);
      assert.equal(r.body.errors?.[0]?.extensions.code, 'HTTP_ERR_RATE_LIMITED');
      assert.match(String(r.headers['retry-after']), /^\d+$/);
      assert.equal((await api.gql(`{ me { userId } }`, { token: await api.token({ sub: 'u2' }) })).status, 200);
    } finally {
      await api.close();
    }
  });

  it('introspection and GraphiQL off (production): refused with QUERY_ERR_INTROSPECTION_DISABLED, /graphiql 404; on: served', T, async () => {
    const off = await openTestApi(rm.sql, { limits: { introspection: false, graphiql: false } });
    const on = await openTestApi(rm.sql, { limits: { introspection: true, graphiql: true } });
    try {
      const r = await off.gql(`{ __schema { queryType { name } } }`);
      assert.equal(r.body.errors?.[0]?.extensions.code, 'QUERY_ERR_INTROSPECTION_DISABLED');
      assert.equal((await off.api.app.inject({ method: 'GET', url: '/graphiql' })).statusCode, 404);
      assert.equal((await on.gql(`{ __schema { queryType { name } } }`)).body.data.__schema.queryType.name, 'Query');
      const page = await on.api.app.inject({ method: 'GET', url: '/graphiql' });
      assert.equal(page.statusCode, 200);
      assert.match(page.headers['content-type'] as string, /text\/html/);
    } finally {
      await off.close();
      await on.close();
    }
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { Role } from '../../schemas/events/common.js';
import { signDevToken } from '../../platform/auth/sign.js';
import { createTokenVerifier } from '../../platform/auth/verify.js';
import { createHistoryReader } from '../../platform/audit/history.js';
import { encodeAuditCursor } from '../../platform/audit/input.js';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { createPiiCodec } from '../../platform/pii/codec.js';
import { sqlKeyStore, type KeyStore } from '../../platform/pii/key-store.js';
import { parseMasterKey } from '../../platform/pii/master-key.js';
import { hostileStrings } from '../../platform/pii/testing.js';
import { openPglite, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import { DEFAULT_LIMITS } from '../../query-api/config.js';
import { createQueryApi, type QueryApi } from '../../query-api/service.js';
import { auditFolds } from '../../write-side/audit-folds.js';
import { bearer, send, testApp, token as writeToken, type TestApp } from '../../write-side/testing.js';
import { AUDIENCE, ISSUER, SECRET, type GqlBody } from './testing.js';

/**
 * GraphQL auditTrail and …AsOf (issue 11 §2) end to end: commands through the real command API on an
 * encrypted PGlite event store (a clock the test moves), read back through the query API whose history
 * reader folds with the write side's deciders, as the composition roots wire it.
 */
describe('GraphQL auditTrail and …AsOf', { timeout: 90_000 }, () => {
  let sql: SqlClient;
  let store: EventStore;
  let keyStore: KeyStore;
  let w: TestApp;
  let api: QueryApi;
  const lines: string[] = [];
  let now = new Date('2026-03-01T09:00:00.000Z');

  before(async () => {
    sql = pgliteClient(await openPglite());
    keyStore = await sqlKeyStore(sql, { masterKey: parseMasterKey(randomBytes(32).toString('base64')), cacheTtlMs: 0 });
    store = createEventStore(await postgresEventStore(sql), { codec: createPiiCodec({ keyStore }) });
    w = await testApp({ store, clock: () => now });
    const logger = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    api = await createQueryApi({
      readSql: sql,
      verifier: createTokenVerifier({ keys: { kind: 'secret', secret: SECRET }, issuer: ISSUER, audience: AUDIENCE }),
      logger,
      limits: DEFAULT_LIMITS,
      services: { history: createHistoryReader({ store, folds: auditFolds }) },
    });
  });
  after(async () => {
    await api.stop();
    await w.close();
    await store.close();
  });

  const tokenFor = (roles: Role[], tenant = 'acme') => signDevToken({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, tenant, sub: `u-${roles.join('-')}`, roles, ttlSeconds: 600 });
  const gql = async (query: string, variables: Record<string, unknown>, roles: Role[] = ['auditor'], o: { tenant?: string; headers?: Record<string, string> } = {}) => {
    const res = await api.app.inject({
      method: 'POST',
      url: '/graphql',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await tokenFor(roles, o.tenant)}`, ...(o.headers ?? {}) },
      payload: JSON.stringify({ query, variables }),
    });
    return { status: res.statusCode, body: res.json() as GqlBody };
  };
  const write = async (method: 'POST' | 'PATCH', url: string, body: unknown, tenant = 'acme') => {
    const res = await send(w.app, method, url, body, bearer(await writeToken({ tenant, sub: 'seller-1', roles: ['manager'] })));
    assert.ok(res.statusCode < 300, res.body);
    return res.json<{ id: string; position: string }>();
  };
  const TRAIL = `query($id: ID!, $first: Int, $after: String) {
    auditTrail(entityId: $id, first: $first, after: $after) {
      edges { cursor node { type occurredAt position streamId revision actor { userId roles } correlationId causationId
        changes { field before after erased } data erased erasedFields } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;

  it('contactAsOf before creation, at it, after an update; dealAsOf and budgetAsOf from the same folds', async () => {
    now = new Date('2026-03-01T09:00:00.000Z');
    const { id } = await write('POST', '/api/v1/contacts', { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', company: 'Engines', tags: ['a'] });
    now = new Date('2026-03-02T09:00:00.000Z');
    await write('PATCH', `/api/v1/contacts/${id}`, { company: 'Analytical Engines Ltd' });
    const Q = `query($id: ID!, $at: DateTime!) { contactAsOf(id: $id, at: $at) { id at status firstName email company tags revision position createdAt updatedAt erased state } }`;
    const before = await gql(Q, { id, at: '2026-03-01T08:59:59.999Z' });
    assert.equal(before.body.errors, undefined, JSON.stringify(before.body.errors));
    assert.equal(before.body.data.contactAsOf, null, 'before creation: null');
    const first = (await gql(Q, { id, at: '2026-03-01T10:00:00+01:00' })).body.data.contactAsOf;
    assert.deepEqual([first.status, first.firstName, first.email, first.company, first.revision], ['ACTIVE', 'Ada', 'ada@example.com', 'Engines', 0]);
    const later = (await gql(Q, { id, at: '2026-03-02T09:00:00Z' })).body.data.contactAsOf;
    assert.deepEqual([later.company, later.revision, later.createdAt, later.updatedAt], ['Analytical Engines Ltd', 1, '2026-03-01T09:00:00.000Z', '2026-03-02T09:00:00.000Z']);
    assert.equal(later.state.company, 'Analytical Engines Ltd', 'the decider state itself');

    const deal = await write('POST', '/api/v1/deals', { name: 'Big', contactId: id, value: { amountMinor: 500_00, currency: 'EUR' }, expectedCloseDate: '2030-06-30', ownerId: 'seller' });
    now = new Date('2026-03-03T09:00:00.000Z');
    await write('POST', `/api/v1/deals/${deal.id}/stage`, { stage: 'negotiation' });
    const d = `query($id: ID!, $at: DateTime!) { dealAsOf(id: $id, at: $at) { status stage probability value { minor currency } contactId } }`;
    assert.deepEqual((await gql(d, { id: deal.id, at: '2026-03-02T12:00:00Z' })).body.data.dealAsOf, { status: 'OPEN', stage: 'prospecting', probability: 10, value: { minor: 500_00, currency: 'EUR' }, contactId: id });
    assert.equal((await gql(d, { id: deal.id, at: '2026-03-03T09:00:00Z' })).body.data.dealAsOf.stage, 'negotiation');

    const budget = await write('POST', '/api/v1/budgets', { name: 'Q1 ads', category: 'advertising', period: { start: '2026-01-01', end: '2026-12-31' }, amount: { amountMinor: 1000_00, currency: 'EUR' }, ownerId: 'mkt' });
    now = new Date('2026-03-04T09:00:00.000Z');
    await write('POST', `/api/v1/budgets/${budget.id}/allocations`, { campaign: 'spring', amount: { amountMinor: 300_00, currency: 'EUR' } });
    const b = `query($id: ID!, $at: DateTime!) { budgetAsOf(id: $id, at: $at) { status amount { minor } periodStart allocations { campaign amount { minor currency } } spent { minor } } }`;
    assert.deepEqual((await gql(b, { id: budget.id, at: '2026-03-04T09:00:00Z' })).body.data.budgetAsOf, {
      status: 'OPEN',
      amount: { minor: 1000_00 },
      periodStart: '2026-01-01',
      allocations: [{ campaign: 'spring', amount: { minor: 300_00, currency: 'EUR' } }],
      spent: { minor: 0 },
    });
    assert.deepEqual((await gql(b, { id: budget.id, at: '2026-03-03T09:00:00Z' })).body.data.budgetAsOf.allocations, []);
  });

  it('auditTrail and …AsOf: auditor, dpo and admin only; every other role is refused with a code naming the field', async () => {
    const { id } = await write('POST', '/api/v1/contacts', { firstName: 'Role', lastName: 'Check' });
    for (const role of ['sales', 'analyst', 'marketing', 'manager'] as Role[]) {
      const r = await gql(TRAIL, { id }, [role]);
      assert.equal(r.body.data, null, role);
      assert.equal(r.body.errors?.[0]?.extensions.code, 'AUTH_ERR_FORBIDDEN', role);
      assert.equal(r.body.errors?.[0]?.extensions['field'], 'auditTrail', role);
      const asOf = await gql(`query($id: ID!) { contactAsOf(id: $id, at: "2030-01-01T00:00:00Z") { id } }`, { id }, [role]);
      assert.equal(asOf.body.errors?.[0]?.extensions.code, 'AUTH_ERR_FORBIDDEN', `${role} as-of`);
    }
    for (const role of ['auditor', 'dpo', 'admin'] as Role[]) {
      const r = await gql(TRAIL, { id }, [role]);
      assert.equal(r.body.errors, undefined, role);
      assert.equal(r.body.data.auditTrail.edges[0].node.data.firstName, 'Role', `${role} reads personal values in clear`);
    }
  });

  it('an erased subject: every event stays, personal values read "[erased]" and are flagged', async () => {
    now = new Date('2026-03-05T09:00:00.000Z');
    const { id } = await write('POST', '/api/v1/contacts', { firstName: 'Grace', lastName: 'Hopper', email: 'grace@example.com', company: 'Navy' });
    await write('PATCH', `/api/v1/contacts/${id}`, { phone: '+1 555 0100', company: 'US Navy' });
    await keyStore.destroy({ tenantId: 'acme', subjectId: id }, { actor: 'dpo-1', reason: 'erasure request' });
    const r = await gql(TRAIL, { id }, ['dpo']);
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
    const nodes = r.body.data.auditTrail.edges.map((e: { node: unknown }) => e.node);
    assert.deepEqual(nodes.map((n: { type: string }) => n.type), ['ContactCreated', 'ContactUpdated']);
    assert.ok(nodes.every((n: { erased: boolean }) => n.erased));
    const phone = nodes[1].changes.find((c: { field: string }) => c.field === 'phone');
    assert.deepEqual(phone, { field: 'phone', before: null, after: '[erased]', erased: true });
    const company = nodes[1].changes.find((c: { field: string }) => c.field === 'company');
    assert.deepEqual(company, { field: 'company', before: 'Navy', after: 'US Navy', erased: false }, 'plain fields unchanged');
    assert.equal(nodes[0].data.email, '[erased]');
    assert.ok(nodes[0].erasedFields.includes('email'));
    assert.ok(!JSON.stringify(r.body).includes('grace@example.com') && !JSON.stringify(r.body).includes('Hopper'));
    const asOf = await gql(`query($id: ID!) { contactAsOf(id: $id, at: "2030-01-01T00:00:00Z") { firstName email erased } }`, { id }, ['auditor']);
    assert.deepEqual(asOf.body.data.contactAsOf, { firstName: '[erased]', email: '[erased]', erased: true });
  });

  it('pagination: pages by opaque cursor to the end; bad, foreign and oversize arguments are refused with a code and the field', async () => {
    const { id } = await write('POST', '/api/v1/contacts', { firstName: 'Paged' });
    for (const c of ['A', 'B', 'C', 'D']) await write('PATCH', `/api/v1/contacts/${id}`, { company: c });
    const p1 = (await gql(TRAIL, { id, first: 2 })).body.data.auditTrail;
    assert.deepEqual(p1.edges.map((e: { node: { revision: number } }) => e.node.revision), [0, 1]);
    assert.deepEqual([p1.pageInfo.hasNextPage, p1.pageInfo.hasPreviousPage], [true, false]);
    const p2 = (await gql(TRAIL, { id, first: 2, after: p1.pageInfo.endCursor })).body.data.auditTrail;
    assert.deepEqual(p2.edges.map((e: { node: { revision: number } }) => e.node.revision), [2, 3]);
    const p3 = (await gql(TRAIL, { id, first: 2, after: p2.pageInfo.endCursor })).body.data.auditTrail;
    assert.deepEqual(p3.edges.map((e: { node: { revision: number } }) => e.node.revision), [4]);
    assert.deepEqual([p3.pageInfo.hasNextPage, p3.pageInfo.hasPreviousPage], [false, true]);
    assert.equal(p3.edges[0].cursor, p3.pageInfo.endCursor);

    const refused = async (vars: Record<string, unknown>, code: string, field: string, q = TRAIL) => {
      const r = await gql(q, vars);
      assert.equal(r.body.errors?.[0]?.extensions.code, code, JSON.stringify(vars).slice(0, 80));
      assert.equal(r.body.errors?.[0]?.extensions['field'], field, JSON.stringify(vars).slice(0, 80));
      assert.ok(r.status < 500 && !JSON.stringify(r.body).includes(' at '), 'never a 500, never a stack');
    };
    await refused({ id, after: 'garbage' }, 'QUERY_ERR_BAD_CURSOR', 'auditTrail.after');
    await refused({ id, after: '' }, 'QUERY_ERR_BAD_CURSOR', 'auditTrail.after');
    await refused({ id, after: encodeAuditCursor('01900000-0000-7000-8000-000000000001', 5n) }, 'QUERY_ERR_CURSOR_MISMATCH', 'auditTrail.after');
    await refused({ id, first: 0 }, 'QUERY_ERR_PAGE_SIZE', 'auditTrail.first');
    await refused({ id, first: DEFAULT_LIMITS.maxPageSize + 1 }, 'QUERY_ERR_PAGE_SIZE', 'auditTrail.first');
    assert.equal((await gql(TRAIL, { id, first: 1_000_000 })).body.errors?.[0]?.extensions.code, 'QUERY_ERR_TOO_COSTLY', 'a huge page is refused by the cost limit first');
    for (const bad of ['42', 'contact-1', '01900000-0000-7000-8000-00000000000g', ...hostileStrings.slice(0, 9)]) {
      await refused({ id: bad }, 'QUERY_ERR_INVALID_ID', 'auditTrail.entityId');
    }
    const AT = `query($id: ID!, $at: DateTime!) { contactAsOf(id: $id, at: $at) { id } }`;
    for (const at of ['0000-01-01T00:00:00Z', '2026-01-01T00:00:00+15:00', 'yesterday', '2026-02-30T00:00:00Z', '2026-01-01', '\u0000']) {
      const r = await gql(AT, { id, at });
      assert.equal(r.body.errors?.[0]?.extensions.code, 'QUERY_ERR_INVALID_INSTANT', at);
      assert.ok(String(r.body.errors?.[0]?.extensions['field'] ?? r.body.errors?.[0]?.message).includes('at'), `names the argument: ${JSON.stringify(r.body.errors?.[0])}`);
    }
    await refused({ id: 'nope', at: '2026-01-01T00:00:00Z' }, 'QUERY_ERR_INVALID_ID', 'contactAsOf.id', AT);
  });

  it('another tenant’s entity: an empty trail and a null as-of, plus a security log line', async () => {
    const { id } = await write('POST', '/api/v1/contacts', { firstName: 'Foreign' }, 'globex');
    lines.length = 0;
    const r = await gql(TRAIL, { id }, ['admin'], { tenant: 'acme' });
    assert.deepEqual(r.body.data.auditTrail.edges, []);
    const a = await gql(`query($id: ID!) { contactAsOf(id: $id, at: "2030-01-01T00:00:00Z") { id } }`, { id }, ['admin'], { tenant: 'acme' });
    assert.equal(a.body.data.contactAsOf, null);
    const security = lines.filter((l) => l.includes('cross-tenant-access'));
    assert.equal(security.length, 2, lines.join(''));
    assert.ok(security.every((l) => l.includes(id) && l.includes('"tenantId":"acme"')), 'the line names the id and the caller’s tenant');
    assert.ok(!lines.join('').includes('Foreign'), 'no personal value in the log');
  });

  it('X-Consistent-With: a malformed token is refused with its code; event-store fields never wait', async () => {
    const { id, position } = await write('POST', '/api/v1/contacts', { firstName: 'Token' });
    const ok = await gql(TRAIL, { id }, ['auditor'], { headers: { 'x-consistent-with': position } });
    assert.equal(ok.body.errors, undefined);
    assert.deepEqual(ok.body.extensions?.['consistency'], { stale: false, requested: position, waitedMs: 0 });
    for (const bad of ['-1', 'abc', '1e9', '99999999999999999999', '']) {
      const r = await gql(TRAIL, { id }, ['auditor'], { headers: { 'x-consistent-with': bad } });
      assert.equal(r.body.errors?.[0]?.extensions.code, 'CONSISTENCY_ERR_BAD_POSITION', bad);
      assert.equal(r.body.errors?.[0]?.extensions['field'], 'X-Consistent-With');
    }
    // Without a gate (no relay table wired), a read-model field is answered but named unchecked, never called fresh.
    const unchecked = await gql(`query($id: ID!) { contact(id: $id) { id } }`, { id }, ['auditor'], { headers: { 'x-consistent-with': position } });
    assert.deepEqual((unchecked.body.extensions?.['consistency'] as { unchecked?: string[] })?.unchecked, ['contacts']);
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createHistoryReader, type HistoryReader } from '../platform/audit/history.js';
import { decodeAuditCursor, encodeAuditCursor, parseEntityId, parseInstant } from '../platform/audit/input.js';
import { createEventStore, type EventStore } from '../platform/event-store/event-store.js';
import { postgresEventStore } from '../platform/event-store/postgres/adapter.js';
import { createPiiCodec } from '../platform/pii/codec.js';
import { sqlKeyStore, type KeyStore } from '../platform/pii/key-store.js';
import { parseMasterKey } from '../platform/pii/master-key.js';
import { hostileStrings } from '../platform/pii/testing.js';
import { openPglite, pgliteClient } from '../platform/sql/client.js';
import { auditFolds } from './audit-folds.js';
import { bearer, send, testApp, token, type TestApp } from './testing.js';

/**
 * The readers of history (GraphQL auditTrail / …AsOf, `annals replay history`) fold streams with the
 * deciders' own evolve (auditFolds): commands go in through the real command API on an encrypted PGlite
 * store, with a clock the test moves, and the history reads back what changed, when, and as of when.
 */
describe('history reader on the deciders’ folds', { timeout: 60_000 }, () => {
  let t: TestApp;
  let store: EventStore;
  let keyStore: KeyStore;
  let reader: HistoryReader;
  let now = new Date('2026-01-01T10:00:00.000Z');
  const at = (iso: string) => {
    now = new Date(iso);
  };
  before(async () => {
    const sql = pgliteClient(await openPglite());
    keyStore = await sqlKeyStore(sql, { masterKey: parseMasterKey(randomBytes(32).toString('base64')), cacheTtlMs: 0 });
    store = createEventStore(await postgresEventStore(sql), { codec: createPiiCodec({ keyStore }) });
    t = await testApp({ store, clock: () => now });
    reader = createHistoryReader({ store, folds: auditFolds });
  });
  after(async () => {
    await t.close();
    await store.close();
  });
  const sales = async (tenant = 'tenant-a') => bearer(await token({ tenant, sub: 'u-sales', roles: ['sales'] }));

  it('as-of before creation is null; before and after an update it is the state then (prefix of the stream)', async () => {
    const h = await sales();
    at('2026-01-01T10:00:00.000Z');
    const created = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', company: 'Engines' }, h);
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json<{ id: string }>().id;
    at('2026-01-01T11:00:00.000Z');
    assert.equal((await send(t.app, 'PATCH', `/api/v1/contacts/${id}`, { company: 'Analytical Engines Ltd', tags: ['vip'] }, h)).statusCode, 200);

    assert.equal(await reader.stateAsOf('contact', id, new Date('2026-01-01T09:59:59.999Z'), { tenantId: 'tenant-a' }), null, 'before creation');
    const v1 = await reader.stateAsOf('contact', id, new Date('2026-01-01T10:00:00.000Z'), { tenantId: 'tenant-a' });
    assert.equal(v1?.state['company'], 'Engines', 'at the creation instant (occurredAt ≤ at)');
    assert.equal(v1?.state['email'], 'ada@example.com', 'personal values decrypted');
    assert.equal(v1?.revision, 0n);
    const mid = await reader.stateAsOf('contact', id, new Date('2026-01-01T10:59:59.999Z'), { tenantId: 'tenant-a' });
    assert.equal(mid?.state['company'], 'Engines');
    const v2 = await reader.stateAsOf('contact', id, new Date('2026-01-01T11:00:00.000Z'), { tenantId: 'tenant-a' });
    assert.equal(v2?.state['company'], 'Analytical Engines Ltd');
    assert.deepEqual(v2?.state['tags'], ['vip']);
    assert.equal(v2?.revision, 1n);
    assert.equal(v2?.createdAt, '2026-01-01T10:00:00.000Z');
    assert.equal(v2?.updatedAt, '2026-01-01T11:00:00.000Z');
    assert.equal(await reader.stateAsOf('contact', id, new Date('2030-01-01T00:00:00Z'), { tenantId: 'tenant-b' }), null, 'another tenant: absent');

    const trail = await reader.entityHistory(id, { tenantId: 'tenant-a' });
    assert.deepEqual(trail.map((e) => e.type), ['ContactCreated', 'ContactUpdated']);
    assert.deepEqual(trail[1]!.changes, [
      { field: 'company', before: 'Engines', after: 'Analytical Engines Ltd', erased: false },
      { field: 'tags', before: [], after: ['vip'], erased: false },
    ]);
    const created0 = new Map(trail[0]!.changes.map((c) => [c.field, c]));
    assert.deepEqual(created0.get('firstName'), { field: 'firstName', before: null, after: 'Ada', erased: false });
    assert.deepEqual(created0.get('status'), { field: 'status', before: null, after: 'Active', erased: false });
    assert.equal(trail[0]!.actor.userId, 'u-sales');
    assert.ok(trail[0]!.correlationId.length > 0 && trail[0]!.causationId.length > 0);
  });

  it('deal and budget changes come from the same fold: stage + probability, one allocation by key', async () => {
    const h = bearer(await token({ tenant: 'tenant-a', sub: 'u-mgr', roles: ['manager'] }));
    const c = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'Buyer' }, h);
    const deal = await send(t.app, 'POST', '/api/v1/deals', { name: 'Big', contactId: c.json<{ id: string }>().id, value: { amountMinor: 500_00, currency: 'EUR' }, expectedCloseDate: '2030-06-30', ownerId: 'seller' }, h);
    assert.equal(deal.statusCode, 201, deal.body);
    const dealId = deal.json<{ id: string }>().id;
    assert.equal((await send(t.app, 'POST', `/api/v1/deals/${dealId}/stage`, { stage: 'proposal' }, h)).statusCode, 200);
    const dealTrail = await reader.entityHistory(dealId, { tenantId: 'tenant-a' });
    assert.deepEqual(dealTrail[1]!.changes.map((x) => [x.field, x.before, x.after]), [
      ['stage', 'prospecting', 'proposal'],
      ['probability', 10, 50],
    ]);

    const budget = await send(t.app, 'POST', '/api/v1/budgets', { name: 'Q1 ads', category: 'advertising', period: { start: '2026-01-01', end: '2026-12-31' }, amount: { amountMinor: 1000_00, currency: 'EUR' }, ownerId: 'mkt' }, h);
    const budgetId = budget.json<{ id: string }>().id;
    assert.equal((await send(t.app, 'POST', `/api/v1/budgets/${budgetId}/allocations`, { campaign: '__proto__', amount: { amountMinor: 600_00, currency: 'EUR' } }, h)).statusCode, 200);
    const budgetTrail = await reader.entityHistory(budgetId, { tenantId: 'tenant-a' });
    assert.deepEqual(budgetTrail[1]!.changes.map((x) => [x.field, x.before, x.after]), [['allocations.__proto__', null, 600_00]], 'a hostile map key is a plain field');
    const asOf = await reader.stateAsOf('budget', budgetId, new Date('2099-01-01T00:00:00Z'), {});
    assert.deepEqual(asOf?.state['allocations'], { ['__proto__']: 600_00 });
  });

  it('an erased subject: the trail keeps every event, its personal values read "[erased]" and are flagged', async () => {
    const h = await sales();
    const created = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'Grace', lastName: 'Hopper', email: 'grace@example.com', company: 'Navy' }, h);
    const id = created.json<{ id: string }>().id;
    await send(t.app, 'POST', `/api/v1/consents/${id}/grant`, { purpose: 'marketing_email', lawfulBasis: 'consent', source: 'web form', noticeVersion: 'v1' }, h);
    await keyStore.destroy({ tenantId: 'tenant-a', subjectId: id }, { actor: 'dpo-1', reason: 'erasure request' });
    const trail = await reader.entityHistory(id, { tenantId: 'tenant-a' });
    assert.deepEqual(trail.map((e) => e.type), ['ContactCreated', 'ConsentGranted'], 'the contact and its consent stream, in position order');
    const first = trail[0]!;
    assert.equal(first.erased, true);
    const email = first.changes.find((c) => c.field === 'email');
    assert.deepEqual(email, { field: 'email', before: null, after: '[erased]', erased: true });
    assert.equal(first.changes.find((c) => c.field === 'company')?.erased, false, 'a plain field is not flagged');
    assert.ok(first.erasedFields.includes('email') && first.erasedFields.includes('firstName'));
    const text = JSON.stringify(trail, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    assert.ok(!text.includes('grace@example.com') && !text.includes('Hopper'), 'no personal value survives erasure');
  });

  it('another tenant’s entity reads as absent and is reported; pagination by opaque cursor', async () => {
    const h = await sales('tenant-c');
    const created = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'Page', lastName: 'One' }, h);
    const id = created.json<{ id: string }>().id;
    for (const company of ['A', 'B', 'C', 'D']) await send(t.app, 'PATCH', `/api/v1/contacts/${id}`, { company }, h);
    const reported: string[] = [];
    assert.deepEqual(await reader.entityHistory(id, { tenantId: 'tenant-a', onOtherTenant: (s) => reported.push(s) }), []);
    assert.deepEqual(reported, [`contact-${id}`]);

    const p1 = await reader.auditPage(id, { first: 2 }, { tenantId: 'tenant-c' });
    assert.deepEqual(p1.entries.map((e) => e.type), ['ContactCreated', 'ContactUpdated']);
    assert.equal(p1.hasNextPage, true);
    assert.equal(p1.hasPreviousPage, false);
    const p2 = await reader.auditPage(id, { first: 2, after: p1.endCursor }, { tenantId: 'tenant-c' });
    assert.deepEqual(p2.entries.map((e) => e.changes[0]?.after), ['B', 'C']);
    const p3 = await reader.auditPage(id, { first: 2, after: p2.endCursor }, { tenantId: 'tenant-c' });
    assert.deepEqual(p3.entries.map((e) => e.changes[0]?.after), ['D']);
    assert.equal(p3.hasNextPage, false);
    const empty = await reader.auditPage(id, { first: 2, after: p3.endCursor }, { tenantId: 'tenant-c' });
    assert.deepEqual(empty.entries, []);
    assert.equal(empty.endCursor, null);

    const other = encodeAuditCursor('01900000-0000-7000-8000-000000000001', 1n);
    await assert.rejects(reader.auditPage(id, { first: 2, after: other }, { tenantId: 'tenant-c' }), { code: 'AUDIT_ERR_BAD_CURSOR', details: { field: 'after' } });
    for (const bad of ['', 'not a cursor', 'eyJ4Ijox', '\u0000', 'x'.repeat(300), Buffer.from('["audit1","x","-1"]').toString('base64url')]) {
      assert.throws(() => decodeAuditCursor(bad, id), { code: 'AUDIT_ERR_BAD_CURSOR' }, JSON.stringify(bad));
    }
  });

  it('bad instants and ids are refused with a code naming the argument', () => {
    for (const bad of ['0000-01-01T00:00:00Z', '2026-01-01T00:00:00+15:00', 'yesterday', '2026-02-30T00:00:00Z', '2026-01-01', '2026-01-01T00:00:00', '10000-01-01T00:00:00Z', ...hostileStrings, 12, null]) {
      assert.throws(() => parseInstant(bad, 'at'), { code: 'AUDIT_ERR_INVALID_INSTANT', details: { field: 'at' } }, JSON.stringify(bad)?.slice(0, 40));
    }
    assert.equal(parseInstant('2026-01-01T12:00:00+14:00', 'at').toISOString(), '2025-12-31T22:00:00.000Z');
    assert.equal(parseInstant('0001-01-01T00:00:00Z', 'at').toISOString(), '0001-01-01T00:00:00.000Z');
    for (const bad of ['42', 'contact-1', '', '01900000-0000-7000-8000-00000000000g', ...hostileStrings]) {
      assert.throws(() => parseEntityId(bad, 'entityId'), { code: 'AUDIT_ERR_INVALID_ID', details: { field: 'entityId' } });
    }
    assert.equal(parseEntityId('01900000-0000-7000-8000-0000000000AB', 'id'), '01900000-0000-7000-8000-0000000000ab');
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, send, testApp, token, type TestApp } from '../testing.js';

describe('budget routes', () => {
  let t: TestApp;
  let h: Record<string, string>;
  before(async () => {
    t = await testApp({ clock: () => new Date('2026-03-15T12:00:00Z') });
    h = bearer(await token({ roles: ['marketing'] }));
  });
  after(() => t.close());

  const create = async () => {
    const res = await send(t.app, 'POST', '/api/v1/budgets', { name: 'Q1 ads', category: 'advertising', period: { start: '2026-01-01', end: '2026-12-31' }, amount: { amountMinor: 1000_00, currency: 'EUR' }, ownerId: 'mkt' }, h);
    assert.equal(res.statusCode, 201, res.body);
    return String(res.json().id);
  };
  const post = (id: string, path: string, body?: unknown, headers = h) => send(t.app, 'POST', `/api/v1/budgets/${id}/${path}`, body, headers);
  const spend = (ref: string, amountMinor: number, extra: Record<string, unknown> = {}) => ({
    vendor: 'AdCo',
    campaign: 'spring',
    amount: { amountMinor, currency: 'EUR' },
    spentAt: '2026-03-01T10:00:00Z',
    externalReference: ref,
    ...extra,
  });
  const expectProblem = (res: Awaited<ReturnType<typeof send>>, status: number, code: string) => {
    assert.equal(res.statusCode, status, res.body);
    assert.equal(res.json().code, code);
  };

  it('create, allocate, spend (thresholds), the same reference twice records once, close', async () => {
    const id = await create();
    assert.equal((await post(id, 'allocations', { campaign: 'spring', amount: { amountMinor: 600_00, currency: 'EUR' } })).statusCode, 200);
    assert.equal((await post(id, 'spend', spend('INV-1', 850_00))).statusCode, 200);
    const again = await post(id, 'spend', spend('INV-1', 850_00));
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().revision, '3');
    const types = (await t.store.readStream(`budget-${id}`)).map((e) => e.type);
    assert.deepEqual(types, ['BudgetCreated', 'BudgetAllocated', 'BudgetSpendRecorded', 'BudgetThresholdReached']);
    assert.equal((await post(id, 'close')).statusCode, 200);
    expectProblem(await post(id, 'spend', spend('INV-2', 1)), 422, 'BUDGET_ERR_CLOSED');
  });

  it('rejections: allocation over the amount, overrun without override, override by a non-manager', async () => {
    const id = await create();
    expectProblem(await post(id, 'allocations', { campaign: 'x', amount: { amountMinor: 2000_00, currency: 'EUR' } }), 422, 'BUDGET_ERR_ALLOCATION_EXCEEDS_AMOUNT');
    expectProblem(await post(id, 'allocations', { campaign: 'x', amount: { amountMinor: 1, currency: 'USD' } }), 422, 'BUDGET_ERR_CURRENCY_MISMATCH');
    expectProblem(await post(id, 'spend', spend('INV-9', 1500_00)), 422, 'BUDGET_ERR_OVERRUN');
    expectProblem(await post(id, 'spend', spend('INV-9', 1500_00, { override: true })), 403, 'BUDGET_ERR_OVERRIDE_FORBIDDEN');
    assert.equal((await post(id, 'spend', spend('INV-9', 1500_00, { override: true }), bearer(await token({ roles: ['manager'] })))).statusCode, 200);
    expectProblem(await post(id, 'spend', spend('INV-10', 1, { spentAt: '2025-01-01T00:00:00Z' })), 422, 'BUDGET_ERR_SPEND_OUTSIDE_PERIOD');
  });

  it('schema, role and tenant', async () => {
    const id = await create();
    const bad = await post(id, 'spend', { vendor: 'v', amount: { amountMinor: 0, currency: 'EUR' }, spentAt: 'yesterday', note: 'x' });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(bad.json<{ errors: { path: string }[] }>().errors.map((e) => e.path).sort(), ['body.amount.amountMinor', 'body.campaign', 'body.externalReference', 'body.note', 'body.spentAt']);
    expectProblem(await post(id, 'close', undefined, bearer(await token({ roles: ['sales'] }))), 403, 'AUTH_ERR_FORBIDDEN');
    expectProblem(await post(id, 'close', undefined, bearer(await token({ tenant: 'tenant-q', roles: ['admin'] }))), 404, 'BUDGET_ERR_NOT_FOUND');
  });
});

describe('subject routes (GDPR) on a write side built without the erasure workflow', () => {
  let t: TestApp;
  before(async () => {
    t = await testApp();
  });
  after(() => t.close());

  it('erase and export: dpo/admin get 501 problem+json, other roles 403', async () => {
    const id = '01900000-0000-7000-8000-000000000009';
    const dpo = bearer(await token({ roles: ['dpo'] }));
    const erase = await send(t.app, 'POST', `/api/v1/subjects/${id}/erase`, undefined, dpo);
    assert.equal(erase.statusCode, 501);
    assert.equal(erase.json().code, 'GDPR_ERR_NOT_CONFIGURED');
    assert.equal((await send(t.app, 'GET', `/api/v1/subjects/${id}/export`, undefined, bearer(await token({ roles: ['admin'] })))).statusCode, 501);
    assert.equal((await send(t.app, 'POST', `/api/v1/subjects/${id}/erase`, undefined, bearer(await token({ roles: ['manager'] })))).statusCode, 403);
    assert.equal((await send(t.app, 'GET', `/api/v1/subjects/${id}/export`, undefined, bearer(await token({ roles: ['sales'] })))).statusCode, 403);
  });
});

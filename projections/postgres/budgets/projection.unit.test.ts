import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { budgetsProjection } from './projection.js';
import { History, openReadModel, uuid, type ReadModelDb } from '../testing.js';

const budgetId = uuid(1, 'b');
const other = uuid(2, 'b');
const stream = `budget-${budgetId}`;
const eur = (amountMinor: number) => ({ amountMinor, currency: 'EUR' });

function created(h: History, id = budgetId, tenantId?: string) {
  return h.append(
    `budget-${id}`,
    'BudgetCreated',
    { budgetId: id, name: 'Q1 demand gen', category: 'marketing', period: { start: '2025-01-01', end: '2025-03-31' }, amount: eur(1_000_000), ownerId: 'mgr-1' },
    tenantId ? { tenantId } : {},
  );
}

let spendNo = 0;
function spend(h: History, amountMinor: number, campaign = 'spring', options: { overridden?: boolean; tenantId?: string } = {}) {
  spendNo += 1;
  return h.append(
    stream,
    'BudgetSpendRecorded',
    {
      spendId: uuid(spendNo, 's'),
      vendor: 'AdCorp',
      campaign,
      amount: eur(amountMinor),
      spentAt: '2025-01-15T00:00:00.000Z',
      externalReference: `INV-${spendNo}`,
      overridden: options.overridden ?? false,
    },
    options.tenantId ? { tenantId: options.tenantId } : {},
  );
}

describe('budgets projection', () => {
  let db: ReadModelDb;
  before(async () => {
    db = await openReadModel(budgetsProjection);
  });
  after(() => db.close());

  it('BudgetCreated inserts an open budget with everything remaining', async () => {
    const h = new History();
    const e = created(h);
    const [row] = await (await db.replay(h.events)).rows('budgets');
    assert.deepEqual(
      { ...row },
      {
        tenant_id: 'tenant-a',
        budget_id: budgetId,
        name: 'Q1 demand gen',
        category: 'marketing',
        period_start: '2025-01-01T00:00:00.000Z',
        period_end: '2025-03-31T00:00:00.000Z',
        currency: 'EUR',
        amount_minor: 1_000_000,
        allocated_minor: 0,
        spent_minor: 0,
        remaining_minor: 1_000_000,
        unallocated_minor: 1_000_000,
        overrun: false,
        threshold_80_at: null,
        threshold_100_at: null,
        thresholds_reached: [],
        owner_id: 'mgr-1',
        status: 'open',
        created_at: e.occurredAt,
        closed_at: null,
        updated_at: e.occurredAt,
        revision: 0,
        position: 1,
      },
    );
  });

  it('BudgetAllocated sets a campaign’s allocation (re-allocating replaces, 0 removes) and keeps the total equal to their sum', async () => {
    const h = new History();
    created(h);
    h.append(stream, 'BudgetAllocated', { campaign: 'spring', amount: eur(400_000) });
    h.append(stream, 'BudgetAllocated', { campaign: 'summer', amount: eur(300_000) });
    h.append(stream, 'BudgetAllocated', { campaign: 'spring', amount: eur(250_000) });
    let g = await db.replay(h.events);
    assert.deepEqual(
      (await g.rows('budget_allocations', 'campaign')).map((r) => [r.campaign, r.amount_minor, r.currency]),
      [
        ['spring', 250_000, 'EUR'],
        ['summer', 300_000, 'EUR'],
      ],
    );
    let [row] = await g.rows('budgets');
    assert.deepEqual([row?.allocated_minor, row?.unallocated_minor, row?.revision], [550_000, 450_000, 3]);
    h.append(stream, 'BudgetAllocated', { campaign: 'summer', amount: eur(0) });
    g = await db.replay(h.events);
    assert.deepEqual((await g.rows('budget_allocations')).map((r) => r.campaign), ['spring']);
    [row] = await g.rows('budgets');
    assert.equal(row?.allocated_minor, 250_000);
  });

  it('BudgetSpendRecorded adds a spend line and moves spent / remaining', async () => {
    const h = new History();
    created(h);
    const first = spend(h, 300_000);
    spend(h, 200_000, 'summer');
    const g = await db.replay(h.events);
    const [row] = await g.rows('budgets');
    assert.deepEqual([row?.spent_minor, row?.remaining_minor, row?.overrun, row?.revision], [500_000, 500_000, false, 2]);
    const lines = await g.rows('budget_spend', 'position');
    assert.equal(lines.length, 2);
    assert.deepEqual(
      { ...lines[0] },
      {
        tenant_id: 'tenant-a',
        budget_id: budgetId,
        spend_id: uuid(spendNo - 1, 's'),
        vendor: 'AdCorp',
        campaign: 'spring',
        amount_minor: 300_000,
        currency: 'EUR',
        spent_at: '2025-01-15T00:00:00.000Z',
        external_reference: `INV-${spendNo - 1}`,
        overridden: false,
        recorded_at: first.occurredAt,
        actor_id: 'user-1',
        position: 2,
      },
    );
  });

  it('a spend line delivered twice is counted once', async () => {
    const h = new History();
    created(h);
    const e = spend(h, 300_000);
    const g = await db.replay([...h.events, e]);
    assert.equal((await g.rows('budgets'))[0]?.spent_minor, 300_000);
    assert.equal((await g.rows('budget_spend')).length, 1);
  });

  it('BudgetThresholdReached records when 80% and 100% were first reached; an overrun shows negative remaining', async () => {
    const h = new History();
    created(h);
    spend(h, 850_000);
    const at80 = h.append(stream, 'BudgetThresholdReached', { threshold: 80, spentMinor: 850_000, amountMinor: 1_000_000 });
    let [row] = await (await db.replay(h.events)).rows('budgets');
    assert.deepEqual([row?.threshold_80_at, row?.threshold_100_at, row?.thresholds_reached], [at80.occurredAt, null, [80]]);
    spend(h, 250_000, 'spring', { overridden: true });
    const at100 = h.append(stream, 'BudgetThresholdReached', { threshold: 100, spentMinor: 1_100_000, amountMinor: 1_000_000 });
    const g = await db.replay(h.events);
    [row] = await g.rows('budgets');
    assert.deepEqual(
      [row?.threshold_80_at, row?.threshold_100_at, row?.thresholds_reached, row?.spent_minor, row?.remaining_minor, row?.overrun],
      [at80.occurredAt, at100.occurredAt, [80, 100], 1_100_000, -100_000, true],
    );
    assert.deepEqual((await g.rows('budget_spend', 'position')).map((r) => r.overridden), [false, true]);
  });

  it('BudgetClosed closes with the final figures', async () => {
    const h = new History();
    created(h);
    h.append(stream, 'BudgetAllocated', { campaign: 'spring', amount: eur(600_000) });
    spend(h, 550_000);
    const closed = h.append(stream, 'BudgetClosed', { spentMinor: 550_000, allocatedMinor: 600_000, amountMinor: 1_000_000 }, { roles: ['manager'] });
    const [row] = await (await db.replay(h.events)).rows('budgets');
    assert.deepEqual(
      [row?.status, row?.closed_at, row?.spent_minor, row?.allocated_minor, row?.remaining_minor, row?.revision],
      ['closed', closed.occurredAt, 550_000, 600_000, 450_000, 3],
    );
  });

  it('keeps tenants apart', async () => {
    const h = new History();
    created(h);
    created(h, budgetId, 'tenant-b');
    created(h, other);
    spend(h, 100_000, 'spring', { tenantId: 'tenant-b' });
    h.append(stream, 'BudgetAllocated', { campaign: 'spring', amount: eur(5) }, { tenantId: 'tenant-b' });
    const g = await db.replay(h.events);
    assert.deepEqual(
      (await g.rows('budgets', 'tenant_id, budget_id')).map((r) => [r.tenant_id, r.budget_id, r.spent_minor, r.allocated_minor]),
      [
        ['tenant-a', budgetId, 0, 0],
        ['tenant-a', other, 0, 0],
        ['tenant-b', budgetId, 100_000, 5],
      ],
    );
    assert.deepEqual((await g.rows('budget_spend')).map((r) => r.tenant_id), ['tenant-b']);
    assert.deepEqual((await g.rows('budget_allocations')).map((r) => r.tenant_id), ['tenant-b']);
  });

  it('replaying the same history into a fresh generation yields the same rows', async () => {
    const h = new History();
    created(h);
    h.append(stream, 'BudgetAllocated', { campaign: 'spring', amount: eur(600_000) });
    spend(h, 900_000);
    h.append(stream, 'BudgetThresholdReached', { threshold: 80, spentMinor: 900_000, amountMinor: 1_000_000 });
    h.append(stream, 'BudgetClosed', { spentMinor: 900_000, allocatedMinor: 600_000, amountMinor: 1_000_000 });
    const first = await (await db.replay(h.events)).dump();
    const second = await (await db.replay(h.events)).dump();
    assert.deepEqual(second, first);
  });
});

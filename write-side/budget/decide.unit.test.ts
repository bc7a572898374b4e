import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BudgetEvent } from '../../schemas/events/budget.js';
import type { Role } from '../../schemas/events/common.js';
import type { CommandMetadata } from '../kernel/decider.js';
import { spec } from '../kernel/spec.js';
import { RecordSpendData, type BudgetCommand, type CreateBudget, type RecordSpend } from './commands.js';
import { budgetDecider } from './decide.js';

const budgetId = '0190a6e2-7a4b-7c1d-8e2f-0000000b0d9e';
const spendId = (n: number) => `0190a6e2-7a4b-7c1d-8e2f-${n.toString().padStart(12, '0')}`;
const meta = (...roles: Role[]): CommandMetadata => ({
  now: new Date('2025-03-01T10:00:00.000Z'),
  actor: { userId: 'user-1', roles },
  tenantId: 'tenant-a',
});
const eur = (amountMinor: number) => ({ amountMinor, currency: 'EUR' });

const cmd = <T extends BudgetCommand['type']>(type: T, data: Extract<BudgetCommand, { type: T }>['data'], roles: Role[] = ['marketing']) =>
  ({ type, data, metadata: meta(...roles) }) as BudgetCommand;

const createData: CreateBudget['data'] = {
  budgetId,
  name: 'Q1 paid social',
  category: 'advertising',
  period: { start: '2025-01-01', end: '2025-03-31' },
  amount: eur(100_000),
  ownerId: 'user-1',
};
const created: BudgetEvent = { type: 'BudgetCreated', data: createData };
const allocated = (campaign: string, amountMinor: number): BudgetEvent => ({ type: 'BudgetAllocated', data: { campaign, amount: eur(amountMinor) } });

const spend = (n: number, amountMinor: number, over: Partial<RecordSpend['data']> = {}): RecordSpend['data'] => ({
  spendId: spendId(n),
  vendor: 'Meta Platforms Ireland',
  campaign: 'spring-launch',
  amount: eur(amountMinor),
  spentAt: '2025-02-10T09:30:00+01:00',
  externalReference: `INV-${n}`,
  override: false,
  ...over,
});
const spent = (n: number, amountMinor: number, overridden = false): BudgetEvent => {
  const { override: _override, ...data } = spend(n, amountMinor);
  return { type: 'BudgetSpendRecorded', data: { ...data, overridden } };
};
const threshold = (t: 80 | 100, spentMinor: number): BudgetEvent => ({
  type: 'BudgetThresholdReached',
  data: { threshold: t, spentMinor, amountMinor: 100_000 },
});
const closed: BudgetEvent = { type: 'BudgetClosed', data: { spentMinor: 0, allocatedMinor: 0, amountMinor: 100_000 } };

const given = spec(budgetDecider).given;

describe('budget decider', () => {
  describe('CreateBudget', () => {
    it('creates a budget', () => {
      given([]).when(cmd('CreateBudget', createData)).then([created]);
    });
    it('refuses an id that already exists', () => {
      const err = given([created]).when(cmd('CreateBudget', createData)).thenThrows('BUDGET_ERR_ALREADY_EXISTS');
      assert.equal(err.errorClass, 'conflict');
    });
    it('refuses a period that ends before it starts', () => {
      given([])
        .when(cmd('CreateBudget', { ...createData, period: { start: '2025-03-31', end: '2025-01-01' } }))
        .thenThrows('BUDGET_ERR_INVALID_PERIOD');
    });
    it('refuses a zero amount', () => {
      given([]).when(cmd('CreateBudget', { ...createData, amount: eur(0) })).thenThrows('BUDGET_ERR_INVALID_AMOUNT');
    });
  });

  describe('AllocateBudget', () => {
    it('allocates to a campaign', () => {
      given([created]).when(cmd('AllocateBudget', { campaign: 'spring-launch', amount: eur(60_000) })).then([allocated('spring-launch', 60_000)]);
    });
    it('allows allocations that sum exactly to the amount', () => {
      given([created, allocated('spring-launch', 60_000)])
        .when(cmd('AllocateBudget', { campaign: 'retargeting', amount: eur(40_000) }))
        .then([allocated('retargeting', 40_000)]);
    });
    it('replaces a campaign allocation rather than adding to it', () => {
      given([created, allocated('spring-launch', 60_000), allocated('retargeting', 40_000)])
        .when(cmd('AllocateBudget', { campaign: 'spring-launch', amount: eur(50_000) }))
        .then([allocated('spring-launch', 50_000)]);
    });
    it('is a no-op when the allocation is unchanged', () => {
      given([created, allocated('spring-launch', 60_000)]).when(cmd('AllocateBudget', { campaign: 'spring-launch', amount: eur(60_000) })).thenNothing();
    });
    it('refuses allocations summing beyond the amount', () => {
      given([created, allocated('spring-launch', 60_000)])
        .when(cmd('AllocateBudget', { campaign: 'retargeting', amount: eur(40_001) }))
        .thenThrows('BUDGET_ERR_ALLOCATION_EXCEEDS_AMOUNT');
    });
    it('refuses another currency', () => {
      given([created])
        .when(cmd('AllocateBudget', { campaign: 'spring-launch', amount: { amountMinor: 1, currency: 'USD' } }))
        .thenThrows('BUDGET_ERR_CURRENCY_MISMATCH');
    });
    it('refuses a budget that does not exist', () => {
      const err = given([]).when(cmd('AllocateBudget', { campaign: 'x', amount: eur(1) })).thenThrows('BUDGET_ERR_NOT_FOUND');
      assert.equal(err.errorClass, 'not-found');
    });
    it('refuses a closed budget', () => {
      given([created, closed]).when(cmd('AllocateBudget', { campaign: 'x', amount: eur(1) })).thenThrows('BUDGET_ERR_CLOSED');
    });
  });

  describe('RecordSpend', () => {
    it('records a spend below every threshold', () => {
      given([created]).when(cmd('RecordSpend', spend(1, 10_000))).then([spent(1, 10_000)]);
    });
    it('emits the 80% threshold when a spend reaches it', () => {
      given([created, spent(1, 70_000)])
        .when(cmd('RecordSpend', spend(2, 10_000)))
        .then([spent(2, 10_000), threshold(80, 80_000)]);
    });
    it('emits the 80% threshold only once', () => {
      given([created, spent(1, 85_000), threshold(80, 85_000)]).when(cmd('RecordSpend', spend(2, 5_000))).then([spent(2, 5_000)]);
    });
    it('emits 100% when the spend lands exactly on the amount, without needing an override', () => {
      given([created, spent(1, 85_000), threshold(80, 85_000)])
        .when(cmd('RecordSpend', spend(2, 15_000)))
        .then([spent(2, 15_000), threshold(100, 100_000)]);
    });
    it('emits 80% then 100% when one overriding spend jumps from 70% to 105%', () => {
      given([created, spent(1, 70_000)])
        .when(cmd('RecordSpend', spend(2, 35_000, { override: true }), ['manager']))
        .then([spent(2, 35_000, true), threshold(80, 105_000), threshold(100, 105_000)]);
    });
    it('emits 100% only once, even for further overrides', () => {
      given([created, spent(1, 105_000, true), threshold(80, 105_000), threshold(100, 105_000)])
        .when(cmd('RecordSpend', spend(2, 1_000, { override: true }), ['manager']))
        .then([spent(2, 1_000, true)]);
    });
    it('lets an admin override too', () => {
      given([created, spent(1, 100_000), threshold(80, 100_000), threshold(100, 100_000)])
        .when(cmd('RecordSpend', spend(2, 1, { override: true }), ['admin']))
        .then([spent(2, 1, true)]);
    });
    it('needs the override to be explicit (the command schema defaults it to false)', () => {
      const { override: _o, ...body } = spend(1, 10_000);
      assert.equal(RecordSpendData.parse(body).override, false);
    });
    it('does not mark a spend within the amount as overridden, even if the override was sent', () => {
      given([created]).when(cmd('RecordSpend', spend(1, 10_000, { override: true }), ['sales'])).then([spent(1, 10_000)]);
    });
    it('records the same external reference once: a repeat produces nothing', () => {
      given([created, spent(1, 10_000)]).when(cmd('RecordSpend', spend(1, 10_000))).thenNothing();
    });
    it('treats a repeat with another payload as the same spend', () => {
      given([created, spent(1, 10_000)])
        .when(cmd('RecordSpend', spend(9, 99_000, { externalReference: 'INV-1' })))
        .thenNothing();
    });
    it('treats a repeat after closing as already recorded, not as an error', () => {
      given([created, spent(1, 10_000), { type: 'BudgetClosed', data: { spentMinor: 10_000, allocatedMinor: 0, amountMinor: 100_000 } }])
        .when(cmd('RecordSpend', spend(1, 10_000)))
        .thenNothing();
    });
    it('refuses a spend that would take the total past 2^53 - 1 (no event could carry it exactly)', () => {
      const max = 999_999_999_999_999;
      const history: BudgetEvent[] = [created, ...Array.from({ length: 9 }, (_, i) => spent(i + 1, max, true))];
      given(history).when(cmd('RecordSpend', spend(10, max, { override: true }), ['manager'])).thenThrows('BUDGET_ERR_TOTAL_TOO_LARGE');
    });
    it('refuses an overrun without override', () => {
      given([created, spent(1, 90_000), threshold(80, 90_000)]).when(cmd('RecordSpend', spend(2, 10_001), ['manager'])).thenThrows('BUDGET_ERR_OVERRUN');
    });
    it('refuses an override by a role below manager', () => {
      const err = given([created, spent(1, 90_000), threshold(80, 90_000)])
        .when(cmd('RecordSpend', spend(2, 10_001, { override: true }), ['marketing', 'sales']))
        .thenThrows('BUDGET_ERR_OVERRIDE_FORBIDDEN');
      assert.equal(err.errorClass, 'forbidden');
    });
    it('refuses another currency', () => {
      given([created])
        .when(cmd('RecordSpend', spend(1, 0, { amount: { amountMinor: 100, currency: 'GBP' } })))
        .thenThrows('BUDGET_ERR_CURRENCY_MISMATCH');
    });
    it('refuses a spend dated outside the period', () => {
      given([created]).when(cmd('RecordSpend', spend(1, 100, { spentAt: '2025-04-01T00:30:00+02:00' }))).thenThrows('BUDGET_ERR_SPEND_OUTSIDE_PERIOD');
      given([created]).when(cmd('RecordSpend', spend(1, 100, { spentAt: '2024-12-31T23:59:59Z' }))).thenThrows('BUDGET_ERR_SPEND_OUTSIDE_PERIOD');
    });
    it('takes the calendar day in the offset the spend was written in', () => {
      // 2025-03-31 23:30 in Paris is already April 1st in UTC, yet it belongs to Q1.
      given([created]).when(cmd('RecordSpend', spend(1, 100, { spentAt: '2025-03-31T23:30:00+02:00' }))).thenMatches((es) => assert.equal(es.length, 1));
    });
    it('refuses a budget that does not exist', () => {
      given([]).when(cmd('RecordSpend', spend(1, 100))).thenThrows('BUDGET_ERR_NOT_FOUND');
    });
    it('refuses a closed budget', () => {
      given([created, closed]).when(cmd('RecordSpend', spend(1, 100))).thenThrows('BUDGET_ERR_CLOSED');
    });
  });

  describe('CloseBudget', () => {
    it('closes with the final figures', () => {
      given([created, allocated('spring-launch', 60_000), spent(1, 30_000)])
        .when(cmd('CloseBudget', {}))
        .then([{ type: 'BudgetClosed', data: { spentMinor: 30_000, allocatedMinor: 60_000, amountMinor: 100_000 } }]);
    });
    it('does not count a removed allocation', () => {
      given([created, allocated('spring-launch', 60_000), allocated('spring-launch', 0)])
        .when(cmd('CloseBudget', {}))
        .then([closed]);
    });
    it('refuses a budget that does not exist', () => {
      given([]).when(cmd('CloseBudget', {})).thenThrows('BUDGET_ERR_NOT_FOUND');
    });
    it('refuses a closed budget', () => {
      given([created, closed]).when(cmd('CloseBudget', {})).thenThrows('BUDGET_ERR_CLOSED');
    });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { badFields } from './testing.js';
import { BudgetEvent, budgetEvents } from './budget.js';
import { EventSchemaError } from './errors.js';
import { validateNewEvent } from './registry.js';

const created = {
  type: 'BudgetCreated',
  data: {
    budgetId: '0190a6e2-7a4b-7c1d-8e2f-0000000b0d9e',
    name: 'Q1 paid social',
    category: 'advertising',
    period: { start: '2025-01-01', end: '2025-03-31' },
    amount: { amountMinor: 100_000, currency: 'EUR' },
    ownerId: 'user-1',
  },
};
const spendRecorded = {
  type: 'BudgetSpendRecorded',
  data: {
    spendId: '0190a6e2-7a4b-7c1d-8e2f-000000000001',
    vendor: 'Meta Platforms Ireland',
    campaign: 'spring-launch',
    amount: { amountMinor: 10_000, currency: 'EUR' },
    spentAt: '2025-02-10T09:30:00+01:00',
    externalReference: 'INV-1',
    overridden: false,
  },
};

describe('budget event schemas', () => {
  it('registers every budget event at version 1, with no personal fields', () => {
    assert.deepEqual(
      budgetEvents.map((d) => [d.type, d.version, d.personalPaths.length]),
      ['BudgetCreated', 'BudgetAllocated', 'BudgetSpendRecorded', 'BudgetThresholdReached', 'BudgetClosed'].map((t) => [t, 1, 0]),
    );
  });

  it('accepts valid events, through the registry and the union', () => {
    const valid = [
      created,
      { type: 'BudgetAllocated', data: { campaign: 'spring-launch', amount: { amountMinor: 0, currency: 'EUR' } } },
      spendRecorded,
      { type: 'BudgetThresholdReached', data: { threshold: 80, spentMinor: 80_000, amountMinor: 100_000 } },
      { type: 'BudgetClosed', data: { spentMinor: 80_000, allocatedMinor: 0, amountMinor: 100_000 } },
    ];
    for (const e of valid) {
      assert.equal(validateNewEvent(e).schemaVersion, 1);
      assert.equal(BudgetEvent.safeParse(e).success, true, e.type);
    }
  });

  it('names a bad currency of the amount', () => {
    assert.deepEqual(badFields({ ...created, data: { ...created.data, amount: { amountMinor: 1, currency: 'eur' } } }), ['data.amount.currency']);
  });

  it('names the end of a period that ends before it starts', () => {
    try {
      validateNewEvent({ ...created, data: { ...created.data, period: { start: '2025-03-31', end: '2025-01-01' } } });
      assert.fail('validated');
    } catch (e) {
      assert.ok(e instanceof EventSchemaError);
      assert.deepEqual(e.issues, [{ field: 'data.period.end', rule: 'period end must not be before period start' }]);
    }
  });

  it('refuses a threshold other than 80 or 100', () => {
    assert.deepEqual(badFields({ type: 'BudgetThresholdReached', data: { threshold: 90, spentMinor: 1, amountMinor: 1 } }), ['data.threshold']);
  });

  it('names a missing override flag and an empty external reference', () => {
    const { overridden: _o, ...rest } = spendRecorded.data;
    assert.deepEqual(badFields({ ...spendRecorded, data: { ...rest, externalReference: '  ' } }).sort(), [
      'data.externalReference',
      'data.overridden',
    ]);
  });
});

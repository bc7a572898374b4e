import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { badFields } from './testing.js';
import { DealEvent, dealEvents } from './deal.js';
import { EventSchemaError } from './errors.js';
import { validateNewEvent } from './registry.js';

const opened = {
  type: 'DealOpened',
  data: {
    dealId: '0190a6e2-7a4b-7c1d-8e2f-1a2b3c4d5e6f',
    name: 'Acme renewal 2025',
    contactId: '0190a6e2-7a4b-7c1d-8e2f-000000000001',
    value: { amountMinor: 1_200_000, currency: 'EUR' },
    pipeline: 'default',
    stage: 'prospecting',
    probability: 10,
    expectedCloseDate: '2025-06-30',
    ownerId: 'user-1',
  },
};

describe('deal event schemas', () => {
  it('registers every deal event at version 1', () => {
    assert.deepEqual(
      dealEvents.map((d) => [d.type, d.version]),
      ['DealOpened', 'DealStageMoved', 'DealValueChanged', 'DealWon', 'DealLost', 'DealReopened'].map((t) => [t, 1]),
    );
  });

  it('carries no personal fields (the person is referenced by contactId)', () => {
    for (const d of dealEvents) assert.deepEqual(d.personalPaths, [], d.type);
  });

  it('accepts valid events, through the registry and the union', () => {
    const valid = [
      opened,
      { type: 'DealStageMoved', data: { from: 'prospecting', to: 'proposal', probability: 50 } },
      { type: 'DealValueChanged', data: { from: { amountMinor: 1, currency: 'EUR' }, to: { amountMinor: 2, currency: 'USD' } } },
      { type: 'DealWon', data: { stage: 'proposal', value: { amountMinor: 1, currency: 'EUR' }, probability: 100 } },
      { type: 'DealLost', data: { stage: 'proposal', value: { amountMinor: 1, currency: 'EUR' }, probability: 0, reason: 'Price', competitor: 'Globex' } },
      { type: 'DealReopened', data: { stage: 'qualification', probability: 20 } },
    ];
    for (const e of valid) {
      assert.equal(validateNewEvent(e).schemaVersion, 1);
      assert.equal(DealEvent.safeParse(e).success, true, e.type);
    }
  });

  it('names a bad currency', () => {
    assert.deepEqual(badFields({ ...opened, data: { ...opened.data, value: { amountMinor: 100, currency: 'euro' } } }), ['data.value.currency']);
  });

  it('names every bad field at once', () => {
    const fields = badFields({
      ...opened,
      data: { ...opened.data, probability: 101, stage: 'Proposal Stage', expectedCloseDate: '30/06/2025', value: { amountMinor: -1, currency: 'EUR' } },
    });
    assert.deepEqual(fields.sort(), ['data.expectedCloseDate', 'data.probability', 'data.stage', 'data.value.amountMinor']);
  });

  it('names the rule broken', () => {
    try {
      validateNewEvent({ type: 'DealStageMoved', data: { from: 'prospecting', to: 'proposal', probability: 150 } });
      assert.fail('validated');
    } catch (e) {
      assert.ok(e instanceof EventSchemaError);
      assert.deepEqual(e.issues, [{ field: 'data.probability', rule: 'probability is at most 100' }]);
    }
  });

  it('refuses a won deal whose probability is not 100', () => {
    assert.deepEqual(badFields({ type: 'DealWon', data: { stage: 'proposal', value: { amountMinor: 1, currency: 'EUR' }, probability: 75 } }), [
      'data.probability',
    ]);
  });

  it('refuses an over-long loss reason', () => {
    assert.deepEqual(
      badFields({ type: 'DealLost', data: { stage: 'proposal', value: { amountMinor: 1, currency: 'EUR' }, probability: 0, reason: 'x'.repeat(501) } }),
      ['data.reason'],
    );
  });
});

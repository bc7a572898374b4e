import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dealsProjection } from './projection.js';
import { History, openReadModel, uuid, type ReadModelDb } from '../testing.js';

const dealId = uuid(1, 'd');
const other = uuid(2, 'd');
const contactId = uuid(1, 'c');
const stream = `deal-${dealId}`;

function opened(h: History, id = dealId, options: { tenantId?: string; amountMinor?: number } = {}) {
  return h.append(
    `deal-${id}`,
    'DealOpened',
    {
      dealId: id,
      name: 'Initech CRM',
      contactId,
      value: { amountMinor: options.amountMinor ?? 1_000_000, currency: 'EUR' },
      pipeline: 'default',
      stage: 'prospecting',
      probability: 10,
      expectedCloseDate: '2025-06-30',
      ownerId: 'rep-1',
    },
    options.tenantId ? { tenantId: options.tenantId } : {},
  );
}

describe('deals projection', () => {
  let db: ReadModelDb;
  before(async () => {
    db = await openReadModel(dealsProjection);
  });
  after(() => db.close());

  it('DealOpened inserts an open deal with its weighted value and a first history row', async () => {
    const h = new History();
    const e = opened(h);
    const g = await db.replay(h.events);
    const [row] = await g.rows('deals');
    assert.deepEqual(
      { ...row },
      {
        tenant_id: 'tenant-a',
        deal_id: dealId,
        name: 'Initech CRM',
        contact_id: contactId,
        pipeline: 'default',
        stage: 'prospecting',
        probability: 10,
        value_minor: 1_000_000,
        currency: 'EUR',
        weighted_value_minor: '100000.00',
        owner_id: 'rep-1',
        status: 'open',
        expected_close_date: '2025-06-30T00:00:00.000Z',
        opened_at: e.occurredAt,
        closed_at: null,
        lost_reason: null,
        competitor: null,
        stage_entered_at: e.occurredAt,
        updated_at: e.occurredAt,
        revision: 0,
        position: 1,
      },
    );
    assert.deepEqual(await g.rows('deal_stage_history'), [
      {
        tenant_id: 'tenant-a',
        deal_id: dealId,
        position: 1,
        revision: 0,
        change: 'opened',
        from_stage: null,
        to_stage: 'prospecting',
        probability: 10,
        status: 'open',
        at: e.occurredAt,
        actor_id: 'user-1',
      },
    ]);
  });

  it('DealStageMoved changes stage and probability, so the weighted value follows, and records from → to with the actor', async () => {
    const h = new History();
    opened(h, dealId, { amountMinor: 333 });
    h.append(stream, 'DealStageMoved', { from: 'prospecting', to: 'qualification', probability: 20 }, { userId: 'rep-2' });
    const moved = h.append(stream, 'DealStageMoved', { from: 'qualification', to: 'negotiation', probability: 75 }, { userId: 'rep-3' });
    const g = await db.replay(h.events);
    const [row] = await g.rows('deals');
    assert.equal(row?.stage, 'negotiation');
    assert.equal(row?.probability, 75);
    assert.equal(row?.weighted_value_minor, '249.75');
    assert.equal(row?.stage_entered_at, moved.occurredAt);
    assert.equal(row?.revision, 2);
    const history = await g.rows('deal_stage_history', 'position');
    assert.deepEqual(
      history.map((r) => [r.change, r.from_stage, r.to_stage, r.probability, r.actor_id]),
      [
        ['opened', null, 'prospecting', 10, 'user-1'],
        ['moved', 'prospecting', 'qualification', 20, 'rep-2'],
        ['moved', 'qualification', 'negotiation', 75, 'rep-3'],
      ],
    );
  });

  it('DealValueChanged changes value and currency, and the weighted value with them', async () => {
    const h = new History();
    opened(h);
    h.append(stream, 'DealStageMoved', { from: 'prospecting', to: 'proposal', probability: 50 });
    h.append(stream, 'DealValueChanged', { from: { amountMinor: 1_000_000, currency: 'EUR' }, to: { amountMinor: 2_500_001, currency: 'USD' } });
    const g = await db.replay(h.events);
    const [row] = await g.rows('deals');
    assert.equal(row?.value_minor, 2_500_001);
    assert.equal(row?.currency, 'USD');
    assert.equal(row?.weighted_value_minor, '1250000.50');
    assert.equal((await g.rows('deal_stage_history')).length, 2, 'a value change is not a stage change');
  });

  it('DealWon closes the deal at probability 100 (weighted = value); DealLost at 0 with reason and competitor', async () => {
    const h = new History();
    opened(h);
    opened(h, other);
    const won = h.append(stream, 'DealWon', { stage: 'prospecting', value: { amountMinor: 1_100_000, currency: 'EUR' }, probability: 100 });
    h.append(`deal-${other}`, 'DealLost', {
      stage: 'prospecting',
      value: { amountMinor: 1_000_000, currency: 'EUR' },
      probability: 0,
      reason: 'Price',
      competitor: 'Globex',
    });
    const g = await db.replay(h.events);
    const rows = await g.rows('deals', 'deal_id');
    assert.deepEqual(
      rows.map((r) => [r.status, r.probability, r.value_minor, r.weighted_value_minor, r.lost_reason, r.competitor]),
      [
        ['won', 100, 1_100_000, '1100000.00', null, null],
        ['lost', 0, 1_000_000, '0.00', 'Price', 'Globex'],
      ],
    );
    assert.equal(rows[0]?.closed_at, won.occurredAt);
    const history = await g.rows('deal_stage_history', 'position');
    assert.deepEqual(
      history.filter((r) => r.change !== 'opened').map((r) => [r.deal_id, r.change, r.from_stage, r.to_stage, r.status]),
      [
        [dealId, 'won', 'prospecting', 'prospecting', 'won'],
        [other, 'lost', 'prospecting', 'prospecting', 'lost'],
      ],
    );
  });

  it('DealReopened reopens a lost deal into a stage, clearing the outcome, with history from the stage it was lost in', async () => {
    const h = new History();
    opened(h);
    h.append(stream, 'DealStageMoved', { from: 'prospecting', to: 'proposal', probability: 50 });
    h.append(stream, 'DealLost', { stage: 'proposal', value: { amountMinor: 1_000_000, currency: 'EUR' }, probability: 0, reason: 'Timing' });
    h.append(stream, 'DealReopened', { stage: 'qualification', probability: 20 }, { userId: 'manager-1' });
    const g = await db.replay(h.events);
    const [row] = await g.rows('deals');
    assert.deepEqual(
      [row?.status, row?.stage, row?.probability, row?.weighted_value_minor, row?.closed_at, row?.lost_reason],
      ['open', 'qualification', 20, '200000.00', null, null],
    );
    const [last] = await g.rows('deal_stage_history', 'position DESC');
    assert.deepEqual([last?.change, last?.from_stage, last?.to_stage, last?.status, last?.actor_id], ['reopened', 'proposal', 'qualification', 'open', 'manager-1']);
  });

  it('keeps tenants apart', async () => {
    const h = new History();
    opened(h);
    opened(h, dealId, { tenantId: 'tenant-b' });
    h.append(stream, 'DealStageMoved', { from: 'prospecting', to: 'proposal', probability: 50 }, { tenantId: 'tenant-b' });
    const g = await db.replay(h.events);
    assert.deepEqual(
      (await g.rows('deals', 'tenant_id')).map((r) => [r.tenant_id, r.stage]),
      [
        ['tenant-a', 'prospecting'],
        ['tenant-b', 'proposal'],
      ],
    );
    assert.deepEqual(
      (await g.rows('deal_stage_history', 'position')).map((r) => [r.tenant_id, r.change]),
      [
        ['tenant-a', 'opened'],
        ['tenant-b', 'opened'],
        ['tenant-b', 'moved'],
      ],
    );
  });

  it('replaying the same history into a fresh generation yields the same rows', async () => {
    const h = new History();
    opened(h);
    opened(h, other);
    h.append(stream, 'DealStageMoved', { from: 'prospecting', to: 'proposal', probability: 50 });
    h.append(stream, 'DealWon', { stage: 'proposal', value: { amountMinor: 1_000_000, currency: 'EUR' }, probability: 100 });
    h.append(stream, 'DealReopened', { stage: 'negotiation', probability: 75 });
    h.append(`deal-${other}`, 'DealValueChanged', { from: { amountMinor: 1_000_000, currency: 'EUR' }, to: { amountMinor: 5, currency: 'EUR' } });
    const first = await (await db.replay(h.events)).dump();
    const second = await (await db.replay(h.events)).dump();
    assert.deepEqual(second, first);
    assert.equal(first.deal_stage_history?.length, 5);
  });
});

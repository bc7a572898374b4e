import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DealEvent } from '../../schemas/events/deal.js';
import type { CommandMetadata } from '../kernel/decider.js';
import { spec } from '../kernel/spec.js';
import { OpenDealData, type DealCommand, type OpenDeal } from './commands.js';
import { dealDecider, makeDealDecider } from './decide.js';
import { defaultStageTable } from './pipelines.js';

const dealId = '0190a6e2-7a4b-7c1d-8e2f-1a2b3c4d5e6f';
const contactId = '0190a6e2-7a4b-7c1d-8e2f-000000000001';
const metadata: CommandMetadata = {
  now: new Date('2025-03-01T10:00:00.000Z'),
  actor: { userId: 'user-sales-1', roles: ['sales'] },
  tenantId: 'tenant-a',
};
const eur = (amountMinor: number) => ({ amountMinor, currency: 'EUR' });

const cmd = <T extends DealCommand['type']>(type: T, data: Extract<DealCommand, { type: T }>['data']) =>
  ({ type, data, metadata }) as DealCommand;

const opened: DealEvent = {
  type: 'DealOpened',
  data: {
    dealId,
    name: 'Acme renewal 2025',
    contactId,
    value: eur(1_200_000),
    pipeline: 'default',
    stage: 'prospecting',
    probability: 10,
    expectedCloseDate: '2025-06-30',
    ownerId: 'user-sales-1',
  },
};
const movedToProposal: DealEvent = { type: 'DealStageMoved', data: { from: 'prospecting', to: 'proposal', probability: 50 } };
const won: DealEvent = { type: 'DealWon', data: { stage: 'proposal', value: eur(1_200_000), probability: 100 } };
const lost: DealEvent = { type: 'DealLost', data: { stage: 'prospecting', value: eur(1_200_000), probability: 0, reason: 'Budget cut' } };

const given = spec(dealDecider).given;

describe('deal decider', () => {
  it('exports the SPEC stage table', () => {
    assert.deepEqual({ ...defaultStageTable }, { prospecting: 10, qualification: 20, proposal: 50, negotiation: 75 });
  });

  describe('OpenDeal', () => {
    const openData: OpenDeal['data'] = {
      dealId,
      name: 'Acme renewal 2025',
      contactId,
      value: eur(1_200_000),
      pipeline: 'default',
      stage: 'prospecting',
      expectedCloseDate: '2025-06-30',
      ownerId: 'user-sales-1',
    };
    const open = cmd('OpenDeal', openData);

    it('opens a deal with the probability of its stage', () => {
      given([]).when(open).then([opened]);
    });

    it('defaults to the default pipeline and its first stage (filled by the command schema)', () => {
      const { pipeline: _p, stage: _s, ...body } = openData;
      const parsed = OpenDealData.parse(body);
      assert.equal(parsed.pipeline, 'default');
      assert.equal(parsed.stage, 'prospecting');
      given([]).when(cmd('OpenDeal', parsed)).then([opened]);
    });

    it('takes the probability of a later starting stage from the table', () => {
      given([])
        .when(cmd('OpenDeal', { ...openData, stage: 'negotiation' }))
        .thenMatches(([e]) => {
          assert.equal(e?.type, 'DealOpened');
          assert.equal(e.type === 'DealOpened' && e.data.probability, 75);
        });
    });

    it('refuses an id that already exists', () => {
      const err = given([opened]).when(open).thenThrows('DEAL_ERR_ALREADY_EXISTS');
      assert.equal(err.errorClass, 'conflict');
    });

    it('refuses an unknown pipeline', () => {
      given([]).when(cmd('OpenDeal', { ...openData, pipeline: 'enterprise' })).thenThrows('DEAL_ERR_UNKNOWN_PIPELINE');
    });

    it('refuses a stage that is not in the pipeline (won/lost are outcomes, not stages)', () => {
      given([]).when(cmd('OpenDeal', { ...openData, stage: 'won' })).thenThrows('DEAL_ERR_UNKNOWN_STAGE');
    });

    it('uses the tables it is given (per-tenant pipelines later)', () => {
      spec(makeDealDecider({ enterprise: { discovery: 5 } }))
        .given([])
        .when(cmd('OpenDeal', { ...openData, pipeline: 'enterprise', stage: 'discovery' }))
        .thenMatches(([e]) => assert.equal(e?.type === 'DealOpened' && e.data.probability, 5));
    });
  });

  describe('MoveDealStage', () => {
    it('moves the stage with the probability of the table', () => {
      given([opened]).when(cmd('MoveDealStage', { stage: 'proposal' })).then([movedToProposal]);
    });
    it('refuses a deal that does not exist', () => {
      const err = given([]).when(cmd('MoveDealStage', { stage: 'proposal' })).thenThrows('DEAL_ERR_NOT_FOUND');
      assert.equal(err.errorClass, 'not-found');
    });
    it('refuses a won deal', () => {
      given([opened, won]).when(cmd('MoveDealStage', { stage: 'negotiation' })).thenThrows('DEAL_ERR_CLOSED');
    });
    it('refuses a lost deal', () => {
      given([opened, lost]).when(cmd('MoveDealStage', { stage: 'negotiation' })).thenThrows('DEAL_ERR_CLOSED');
    });
    it('refuses an unknown stage', () => {
      given([opened]).when(cmd('MoveDealStage', { stage: 'closing' })).thenThrows('DEAL_ERR_UNKNOWN_STAGE');
    });
    it('refuses the stage the deal is already in', () => {
      given([opened]).when(cmd('MoveDealStage', { stage: 'prospecting' })).thenThrows('DEAL_ERR_SAME_STAGE');
    });
  });

  describe('ChangeDealValue', () => {
    it('changes the value', () => {
      given([opened])
        .when(cmd('ChangeDealValue', { value: eur(1_500_000) }))
        .then([{ type: 'DealValueChanged', data: { from: eur(1_200_000), to: eur(1_500_000) } }]);
    });
    it('allows a change of currency', () => {
      const usd = { amountMinor: 1_300_000, currency: 'USD' };
      given([opened])
        .when(cmd('ChangeDealValue', { value: usd }))
        .then([{ type: 'DealValueChanged', data: { from: eur(1_200_000), to: usd } }]);
    });
    it('refuses a deal that does not exist', () => {
      given([]).when(cmd('ChangeDealValue', { value: eur(1) })).thenThrows('DEAL_ERR_NOT_FOUND');
    });
    it('refuses a closed deal', () => {
      given([opened, won]).when(cmd('ChangeDealValue', { value: eur(1) })).thenThrows('DEAL_ERR_CLOSED');
    });
    it('refuses an unchanged value', () => {
      given([opened]).when(cmd('ChangeDealValue', { value: eur(1_200_000) })).thenThrows('DEAL_ERR_SAME_VALUE');
    });
  });

  describe('WinDeal', () => {
    it('wins an open deal from its current stage and value', () => {
      given([opened, movedToProposal]).when(cmd('WinDeal', {})).then([won]);
    });
    it('refuses a deal that does not exist', () => {
      given([]).when(cmd('WinDeal', {})).thenThrows('DEAL_ERR_NOT_FOUND');
    });
    it('refuses a deal already won', () => {
      given([opened, won]).when(cmd('WinDeal', {})).thenThrows('DEAL_ERR_CLOSED');
    });
    it('refuses a lost deal (reopen first)', () => {
      given([opened, lost]).when(cmd('WinDeal', {})).thenThrows('DEAL_ERR_CLOSED');
    });
  });

  describe('LoseDeal', () => {
    it('loses an open deal with reason and competitor', () => {
      given([opened])
        .when(cmd('LoseDeal', { reason: 'Price', competitor: 'Globex' }))
        .then([
          {
            type: 'DealLost',
            data: { stage: 'prospecting', value: eur(1_200_000), probability: 0, reason: 'Price', competitor: 'Globex' },
          },
        ]);
    });
    it('loses without a competitor', () => {
      given([opened]).when(cmd('LoseDeal', { reason: 'Budget cut' })).then([lost]);
    });
    it('refuses a deal that does not exist', () => {
      given([]).when(cmd('LoseDeal', { reason: 'Price' })).thenThrows('DEAL_ERR_NOT_FOUND');
    });
    it('refuses a closed deal', () => {
      given([opened, lost]).when(cmd('LoseDeal', { reason: 'Price' })).thenThrows('DEAL_ERR_CLOSED');
    });
  });

  describe('ReopenDeal', () => {
    it('reopens a won deal at the stage it was won from', () => {
      given([opened, movedToProposal, won]).when(cmd('ReopenDeal', {})).then([{ type: 'DealReopened', data: { stage: 'proposal', probability: 50 } }]);
    });
    it('reopens a lost deal at a chosen stage', () => {
      given([opened, lost])
        .when(cmd('ReopenDeal', { stage: 'qualification' }))
        .then([{ type: 'DealReopened', data: { stage: 'qualification', probability: 20 } }]);
    });
    it('makes the deal movable again', () => {
      given([opened, lost, { type: 'DealReopened', data: { stage: 'prospecting', probability: 10 } }])
        .when(cmd('MoveDealStage', { stage: 'proposal' }))
        .then([movedToProposal]);
    });
    it('refuses a deal that does not exist', () => {
      given([]).when(cmd('ReopenDeal', {})).thenThrows('DEAL_ERR_NOT_FOUND');
    });
    it('refuses an open deal', () => {
      given([opened]).when(cmd('ReopenDeal', {})).thenThrows('DEAL_ERR_NOT_CLOSED');
    });
    it('refuses an unknown stage', () => {
      given([opened, lost]).when(cmd('ReopenDeal', { stage: 'won' })).thenThrows('DEAL_ERR_UNKNOWN_STAGE');
    });
  });
});

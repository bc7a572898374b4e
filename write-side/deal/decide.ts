import type { Money } from '../../schemas/events/common.js';
import type { DealEvent } from '../../schemas/events/deal.js';
import type { Decider } from '../kernel/decider.js';
import { DomainError, assertNever } from '../kernel/errors.js';
import type { DealCommand } from './commands.js';
import { LOST_PROBABILITY, WON_PROBABILITY, defaultPipelines, stageProbability, type PipelineTables } from './pipelines.js';
import { evolveDeal, initialDealState, type DealState, type ExistingDealState } from './state.js';
import { defineErrors } from '../../platform/errors/catalogue.js';

/** Error codes of the deal aggregate (documented in the command API's problem types). */
export const DealErrorCode = defineErrors('DEAL', {
  NotFound: 'DEAL_ERR_NOT_FOUND',
  AlreadyExists: 'DEAL_ERR_ALREADY_EXISTS',
  Closed: 'DEAL_ERR_CLOSED',
  NotClosed: 'DEAL_ERR_NOT_CLOSED',
  UnknownPipeline: 'DEAL_ERR_UNKNOWN_PIPELINE',
  UnknownStage: 'DEAL_ERR_UNKNOWN_STAGE',
  SameStage: 'DEAL_ERR_SAME_STAGE',
  SameValue: 'DEAL_ERR_SAME_VALUE',
  /** The deal's contact is not an active contact of the caller's tenant (routes). */
  ContactNotFound: 'DEAL_ERR_CONTACT_NOT_FOUND',
});
export type DealErrorCode = (typeof DealErrorCode)[keyof typeof DealErrorCode];

export function makeDealDecider(pipelines: PipelineTables): Decider<DealCommand, DealState, DealEvent> {
  const probabilityOf = (pipeline: string, stage: string): number => {
    if (!Object.hasOwn(pipelines, pipeline)) {
      throw new DomainError(DealErrorCode.UnknownPipeline, `pipeline "${pipeline}" does not exist`, 'invariant', {
        pipeline,
        known: Object.keys(pipelines),
      });
    }
    const p = stageProbability(pipelines, pipeline, stage);
    if (p === undefined) {
      throw new DomainError(DealErrorCode.UnknownStage, `stage "${stage}" is not a stage of pipeline "${pipeline}"`, 'invariant', {
        pipeline,
        stage,
        known: Object.keys(pipelines[pipeline] ?? {}),
      });
    }
    return p;
  };

  const decide = (command: DealCommand, state: DealState): DealEvent[] => {
    if (command.type === 'OpenDeal') {
      if (state.status !== 'none') {
        throw new DomainError(DealErrorCode.AlreadyExists, 'a deal with this id already exists', 'conflict', { dealId: state.dealId });
      }
      const d = command.data;
      return [
        {
          type: 'DealOpened',
          data: {
            dealId: d.dealId,
            name: d.name,
            contactId: d.contactId,
            value: d.value,
            pipeline: d.pipeline,
            stage: d.stage,
            probability: probabilityOf(d.pipeline, d.stage),
            expectedCloseDate: d.expectedCloseDate,
            ownerId: d.ownerId,
          },
        },
      ];
    }

    if (state.status === 'none') throw new DomainError(DealErrorCode.NotFound, 'deal does not exist', 'not-found');

    switch (command.type) {
      case 'MoveDealStage': {
        const open = requireOpen(state, 'move the stage of');
        const to = command.data.stage;
        const probability = probabilityOf(open.pipeline, to);
        if (to === open.stage) throw new DomainError(DealErrorCode.SameStage, `deal is already in stage "${to}"`, 'invariant', { stage: to });
        return [{ type: 'DealStageMoved', data: { from: open.stage, to, probability } }];
      }
      case 'ChangeDealValue': {
        const open = requireOpen(state, 'change the value of');
        const to = command.data.value;
        // A currency change is allowed (a quote re-issued in another currency); only a no-change is refused.
        if (sameMoney(open.value, to)) throw new DomainError(DealErrorCode.SameValue, 'deal already has this value', 'invariant', { value: to });
        return [{ type: 'DealValueChanged', data: { from: open.value, to } }];
      }
      case 'WinDeal': {
        const open = requireOpen(state, 'win');
        return [{ type: 'DealWon', data: { stage: open.stage, value: open.value, probability: WON_PROBABILITY } }];
      }
      case 'LoseDeal': {
        const open = requireOpen(state, 'lose');
        const { reason, competitor } = command.data;
        return [
          {
            type: 'DealLost',
            data: {
              stage: open.stage,
              value: open.value,
              probability: LOST_PROBABILITY,
              reason,
              ...(competitor !== undefined ? { competitor } : {}),
            },
          },
        ];
      }
      case 'ReopenDeal': {
        if (state.status === 'open') throw new DomainError(DealErrorCode.NotClosed, 'only a won or lost deal can be reopened', 'invariant');
        const stage = command.data.stage ?? state.stage;
        return [{ type: 'DealReopened', data: { stage, probability: probabilityOf(state.pipeline, stage) } }];
      }
      default:
        return assertNever(command, 'deal command');
    }
  };

  return { decide, evolve: evolveDeal, initialState: initialDealState };
}

/** The deal decider over the default pipeline table (SPEC: prospecting 10 … negotiation 75). */
export const dealDecider = makeDealDecider(defaultPipelines);

function requireOpen(state: ExistingDealState, action: string): Extract<DealState, { status: 'open' }> {
  switch (state.status) {
    case 'open':
      return state;
    case 'won':
    case 'lost':
      throw new DomainError(DealErrorCode.Closed, `cannot ${action} a ${state.status} deal; reopen it first`, 'invariant', {
        status: state.status,
      });
    default:
      return assertNever(state, 'deal state');
  }
}

function sameMoney(a: Money, b: Money): boolean {
  return a.amountMinor === b.amountMinor && a.currency === b.currency;
}

import type { Money } from '../../schemas/events/common.js';
import type { DealEvent } from '../../schemas/events/deal.js';
import { assertNever } from '../kernel/errors.js';
import { LOST_PROBABILITY, WON_PROBABILITY } from './pipelines.js';

interface DealFacts {
  readonly dealId: string;
  readonly contactId: string;
  readonly ownerId: string;
  readonly pipeline: string;
  /** For won/lost deals: the open stage it was closed from, where a reopen returns by default. */
  readonly stage: string;
  readonly probability: number;
  readonly value: Money;
}

export type DealState =
  | { readonly status: 'none' }
  | (DealFacts & { readonly status: 'open' })
  | (DealFacts & { readonly status: 'won' })
  | (DealFacts & { readonly status: 'lost'; readonly reason: string });

export type ExistingDealState = Exclude<DealState, { status: 'none' }>;

export const initialDealState = (): DealState => ({ status: 'none' });

/**
 * Evolve trusts the stream: events were validated when appended, so it only folds. An event that
 * cannot apply to the state (a stage move before the deal was opened) means a corrupt stream and
 * throws rather than inventing a state.
 */
export function evolveDeal(state: DealState, event: DealEvent): DealState {
  if (event.type === 'DealOpened') {
    const d = event.data;
    return {
      status: 'open',
      dealId: d.dealId,
      contactId: d.contactId,
      ownerId: d.ownerId,
      pipeline: d.pipeline,
      stage: d.stage,
      probability: d.probability,
      value: d.value,
    };
  }
  if (state.status === 'none') throw new Error(`deal stream is corrupt: ${event.type} before DealOpened`);
  switch (event.type) {
    case 'DealStageMoved':
      return { ...state, status: 'open', stage: event.data.to, probability: event.data.probability };
    case 'DealValueChanged':
      return { ...state, value: event.data.to };
    case 'DealWon':
      return { ...facts(state), status: 'won', probability: WON_PROBABILITY };
    case 'DealLost':
      return { ...facts(state), status: 'lost', probability: LOST_PROBABILITY, reason: event.data.reason };
    case 'DealReopened':
      return { ...facts(state), status: 'open', stage: event.data.stage, probability: event.data.probability };
    default:
      return assertNever(event, 'deal event');
  }
}

function facts(state: ExistingDealState): DealFacts {
  const { dealId, contactId, ownerId, pipeline, stage, probability, value } = state;
  return { dealId, contactId, ownerId, pipeline, stage, probability, value };
}

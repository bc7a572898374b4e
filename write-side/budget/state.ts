import type { Money } from '../../schemas/events/common.js';
import type { BudgetEvent, BudgetPeriod, BudgetThreshold } from '../../schemas/events/budget.js';
import { assertNever } from '../kernel/errors.js';

interface BudgetFacts {
  readonly budgetId: string;
  readonly amount: Money;
  readonly period: BudgetPeriod;
  /** campaign → allocated minor units. A Map, because campaign labels are user text (`__proto__`…). */
  readonly allocations: ReadonlyMap<string, number>;
  readonly spentMinor: number;
  readonly thresholdsReached: readonly BudgetThreshold[];
  /** Every external reference recorded so far: the same reference records once (SPEC: budget). */
  readonly externalReferences: ReadonlySet<string>;
}

export type BudgetState =
  | { readonly status: 'none' }
  | (BudgetFacts & { readonly status: 'open' })
  | (BudgetFacts & { readonly status: 'closed' });

export const initialBudgetState = (): BudgetState => ({ status: 'none' });

export function allocatedMinor(state: BudgetFacts): number {
  let sum = 0;
  for (const v of state.allocations.values()) sum += v;
  return sum;
}

/** Evolve only folds; it never mutates the previous state (maps and sets are copied). */
export function evolveBudget(state: BudgetState, event: BudgetEvent): BudgetState {
  if (event.type === 'BudgetCreated') {
    return {
      status: 'open',
      budgetId: event.data.budgetId,
      amount: event.data.amount,
      period: event.data.period,
      allocations: new Map(),
      spentMinor: 0,
      thresholdsReached: [],
      externalReferences: new Set(),
    };
  }
  if (state.status === 'none') throw new Error(`budget stream is corrupt: ${event.type} before BudgetCreated`);
  switch (event.type) {
    case 'BudgetAllocated': {
      const allocations = new Map(state.allocations);
      if (event.data.amount.amountMinor === 0) allocations.delete(event.data.campaign);
      else allocations.set(event.data.campaign, event.data.amount.amountMinor);
      return { ...state, allocations };
    }
    case 'BudgetSpendRecorded':
      return {
        ...state,
        spentMinor: state.spentMinor + event.data.amount.amountMinor,
        externalReferences: new Set(state.externalReferences).add(event.data.externalReference),
      };
    case 'BudgetThresholdReached':
      return { ...state, thresholdsReached: [...state.thresholdsReached, event.data.threshold] };
    case 'BudgetClosed':
      return { ...state, status: 'closed' };
    default:
      return assertNever(event, 'budget event');
  }
}

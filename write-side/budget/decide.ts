import type { BudgetEvent, BudgetThreshold } from '../../schemas/events/budget.js';
import { hasRole, type CommandMetadata, type Decider } from '../kernel/decider.js';
import { DomainError, assertNever } from '../kernel/errors.js';
import type { BudgetCommand } from './commands.js';
import { allocatedMinor, evolveBudget, initialBudgetState, type BudgetState } from './state.js';
import { defineErrors } from '../../platform/errors/catalogue.js';

export const BudgetErrorCode = defineErrors('BUDGET', {
  NotFound: 'BUDGET_ERR_NOT_FOUND',
  AlreadyExists: 'BUDGET_ERR_ALREADY_EXISTS',
  Closed: 'BUDGET_ERR_CLOSED',
  InvalidPeriod: 'BUDGET_ERR_INVALID_PERIOD',
  InvalidAmount: 'BUDGET_ERR_INVALID_AMOUNT',
  CurrencyMismatch: 'BUDGET_ERR_CURRENCY_MISMATCH',
  AllocationExceedsAmount: 'BUDGET_ERR_ALLOCATION_EXCEEDS_AMOUNT',
  SpendOutsidePeriod: 'BUDGET_ERR_SPEND_OUTSIDE_PERIOD',
  Overrun: 'BUDGET_ERR_OVERRUN',
  OverrideForbidden: 'BUDGET_ERR_OVERRIDE_FORBIDDEN',
  TotalTooLarge: 'BUDGET_ERR_TOTAL_TOO_LARGE',
});
export type BudgetErrorCode = (typeof BudgetErrorCode)[keyof typeof BudgetErrorCode];

/** Ascending, so a spend that crosses both emits 80 before 100. */
const thresholds: readonly BudgetThreshold[] = [80, 100];

/**
 * SPEC: "overrun only with an explicit manager override". Admin counts too: admin holds every write
 * right a manager has (SPEC auth matrix), and a role that can do less than a manager would be a surprise.
 */
export function mayOverrideOverrun(metadata: CommandMetadata): boolean {
  return hasRole(metadata, 'manager', 'admin');
}

function decide(command: BudgetCommand, state: BudgetState): BudgetEvent[] {
  if (command.type === 'CreateBudget') {
    if (state.status !== 'none') {
      throw new DomainError(BudgetErrorCode.AlreadyExists, 'a budget with this id already exists', 'conflict', { budgetId: state.budgetId });
    }
    const d = command.data;
    if (d.period.start > d.period.end) {
      throw new DomainError(BudgetErrorCode.InvalidPeriod, 'period end must not be before period start', 'invariant', { period: d.period });
    }
    // Thresholds are percentages of the amount; a zero budget has none.
    if (d.amount.amountMinor <= 0) throw new DomainError(BudgetErrorCode.InvalidAmount, 'a budget amount must be greater than 0', 'invariant');
    return [
      {
        type: 'BudgetCreated',
        data: { budgetId: d.budgetId, name: d.name, category: d.category, period: d.period, amount: d.amount, ownerId: d.ownerId },
      },
    ];
  }

  if (state.status === 'none') throw new DomainError(BudgetErrorCode.NotFound, 'budget does not exist', 'not-found');

  switch (command.type) {
    case 'AllocateBudget': {
      const { campaign, amount } = command.data;
      requireOpen(state);
      requireCurrency(state.amount.currency, amount.currency);
      const current = state.allocations.get(campaign) ?? 0;
      if (current === amount.amountMinor) return [];
      const total = allocatedMinor(state) - current + amount.amountMinor;
      if (total > state.amount.amountMinor) {
        throw new DomainError(
          BudgetErrorCode.AllocationExceedsAmount,
          'the sum of allocations must not exceed the budget amount',
          'invariant',
          { allocatedMinor: total, amountMinor: state.amount.amountMinor },
        );
      }
      return [{ type: 'BudgetAllocated', data: { campaign, amount } }];
    }
    case 'RecordSpend': {
      const d = command.data;
      // Before the closed check: a retry of a spend recorded before closing is still "recorded once".
      // The payload of the repeat is not compared; the first record stands (SPEC: same reference twice records once).
      if (state.externalReferences.has(d.externalReference)) return [];
      requireOpen(state);
      requireCurrency(state.amount.currency, d.amount.currency);
      // The calendar date as written in spentAt (its own offset): what the invoice says is what counts.
      const day = d.spentAt.slice(0, 10);
      if (day < state.period.start || day > state.period.end) {
        throw new DomainError(BudgetErrorCode.SpendOutsidePeriod, 'a spend must fall within the budget period', 'invariant', {
          spentAt: d.spentAt,
          period: state.period,
        });
      }
      const amountMinor = state.amount.amountMinor;
      const spentMinor = state.spentMinor + d.amount.amountMinor;
      const overrun = spentMinor > amountMinor;
      // The total travels in BudgetThresholdReached / BudgetClosed, whose schemas hold it exactly only up
      // to 2^53 - 1 (the storable-input gate): refuse the spend here rather than write a total no event
      // can carry (a handful of maximal overridden spends would get there).
      if (!Number.isSafeInteger(spentMinor)) {
        throw new DomainError(BudgetErrorCode.TotalTooLarge, `the total spent would exceed ${Number.MAX_SAFE_INTEGER} minor units`, 'invariant', {
          spentMinor: state.spentMinor,
        });
      }
      if (overrun && !d.override) {
        throw new DomainError(BudgetErrorCode.Overrun, 'a spend beyond the budget amount needs an explicit manager override', 'invariant', {
          spentMinor,
          amountMinor,
        });
      }
      if (overrun && !mayOverrideOverrun(command.metadata)) {
        throw new DomainError(BudgetErrorCode.OverrideForbidden, 'only a manager (or admin) may override a budget overrun', 'forbidden');
      }
      const events: BudgetEvent[] = [
        {
          type: 'BudgetSpendRecorded',
          data: {
            spendId: d.spendId,
            vendor: d.vendor,
            campaign: d.campaign,
            amount: d.amount,
            spentAt: d.spentAt,
            externalReference: d.externalReference,
            overridden: overrun,
          },
        },
      ];
      for (const threshold of thresholds) {
        if (!state.thresholdsReached.includes(threshold) && reached(spentMinor, amountMinor, threshold)) {
          events.push({ type: 'BudgetThresholdReached', data: { threshold, spentMinor, amountMinor } });
        }
      }
      return events;
    }
    case 'CloseBudget':
      requireOpen(state);
      return [
        {
          type: 'BudgetClosed',
          data: { spentMinor: state.spentMinor, allocatedMinor: allocatedMinor(state), amountMinor: state.amount.amountMinor },
        },
      ];
    default:
      return assertNever(command, 'budget command');
  }
}

export const budgetDecider: Decider<BudgetCommand, BudgetState, BudgetEvent> = {
  decide,
  evolve: evolveBudget,
  initialState: initialBudgetState,
};

function requireOpen(state: Exclude<BudgetState, { status: 'none' }>): void {
  switch (state.status) {
    case 'open':
      return;
    case 'closed':
      throw new DomainError(BudgetErrorCode.Closed, 'the budget is closed', 'invariant');
    default:
      return assertNever(state, 'budget state');
  }
}

function requireCurrency(budget: string, given: string): void {
  if (budget !== given) {
    throw new DomainError(BudgetErrorCode.CurrencyMismatch, `amounts must be in the budget currency ${budget}, not ${given}`, 'invariant', {
      expected: budget,
      given,
    });
  }
}

/** Exact integer percentage test: spent/amount ≥ t% without floating point (minor units reach 2^53). */
function reached(spentMinor: number, amountMinor: number, threshold: number): boolean {
  return BigInt(spentMinor) * 100n >= BigInt(amountMinor) * BigInt(threshold);
}

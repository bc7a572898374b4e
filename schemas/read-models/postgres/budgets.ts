import { defineView } from './view.js';

/**
 * Read model `budgets`: one row per budget (amounts in minor units; remaining, unallocated, overrun and
 * thresholds derived by the database), its allocations per campaign and its spend.
 */

export interface BudgetRow {
  readonly tenant_id: string;
  readonly budget_id: string;
  readonly name: string;
  readonly category: string;
  readonly period_start: string;
  readonly period_end: string;
  readonly currency: string;
  readonly amount_minor: bigint;
  readonly allocated_minor: bigint;
  readonly spent_minor: bigint;
  readonly remaining_minor: bigint;
  readonly unallocated_minor: bigint;
  readonly overrun: boolean;
  readonly threshold_80_at: Date | null;
  readonly threshold_100_at: Date | null;
  readonly thresholds_reached: readonly number[];
  readonly owner_id: string;
  readonly status: 'open' | 'closed';
  readonly created_at: Date;
  readonly closed_at: Date | null;
  readonly updated_at: Date;
  readonly revision: bigint;
  readonly position: bigint;
}

export const budgetsView = defineView<BudgetRow>()('budgets', [
  'tenant_id', 'budget_id', 'name', 'category', 'period_start', 'period_end', 'currency', 'amount_minor',
  'allocated_minor', 'spent_minor', 'remaining_minor', 'unallocated_minor', 'overrun', 'threshold_80_at',
  'threshold_100_at', 'thresholds_reached', 'owner_id', 'status', 'created_at', 'closed_at', 'updated_at', 'revision',
  'position',
]);

export interface BudgetAllocationRow {
  readonly tenant_id: string;
  readonly budget_id: string;
  readonly campaign: string;
  readonly amount_minor: bigint;
  readonly currency: string;
  readonly updated_at: Date;
  readonly position: bigint;
}

export const budgetAllocationsView = defineView<BudgetAllocationRow>()('budget_allocations', [
  'tenant_id', 'budget_id', 'campaign', 'amount_minor', 'currency', 'updated_at', 'position',
]);

export interface BudgetSpendRow {
  readonly tenant_id: string;
  readonly budget_id: string;
  readonly spend_id: string;
  readonly vendor: string;
  readonly campaign: string;
  readonly amount_minor: bigint;
  readonly currency: string;
  readonly spent_at: Date;
  readonly external_reference: string;
  readonly overridden: boolean;
  readonly recorded_at: Date;
  readonly actor_id: string;
  readonly position: bigint;
}

export const budgetSpendView = defineView<BudgetSpendRow>()('budget_spend', [
  'tenant_id', 'budget_id', 'spend_id', 'vendor', 'campaign', 'amount_minor', 'currency', 'spent_at',
  'external_reference', 'overridden', 'recorded_at', 'actor_id', 'position',
]);

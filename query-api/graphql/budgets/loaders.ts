import { budgetAllocationsView, budgetSpendView, budgetsView, type BudgetAllocationRow, type BudgetRow, type BudgetSpendRow } from '../../../schemas/read-models/postgres/index.js';
import type { BatchLoader, QueryContext } from '../../context.js';
import { byIdLoader } from '../common/by-id.js';
import { groupBy } from '../common/rows.js';

/** `date` columns as text (pg would make local-midnight Dates of them). */
export const BUDGET_SELECT = `t.*, t.period_start::text AS period_start_day, t.period_end::text AS period_end_day`;
export type BudgetRead = BudgetRow & { readonly period_start_day: string; readonly period_end_day: string };

declare module '../../context.js' {
  interface Loaders {
    /** Budgets of the caller's tenant by id. */
    readonly budget: BatchLoader<string, BudgetRead>;
    /** Allocations of budgets, by campaign name. */
    readonly budgetAllocations: BatchLoader<string, BudgetAllocationRow[]>;
  }
}

export const budgetLoaders = (ctx: QueryContext) => ({
  budget: byIdLoader<BudgetRead>(ctx, { entity: 'budget', view: budgetsView.name, idColumn: 'budget_id', select: BUDGET_SELECT }),
  budgetAllocations: ctx.batch('budget.allocations', async (ids: readonly string[]) => {
    const { rows } = await ctx.sql.query<BudgetAllocationRow>(
      `SELECT * FROM ${budgetAllocationsView.name} t WHERE t.tenant_id = $1 AND t.budget_id = ANY($2::uuid[]) ORDER BY t.budget_id, t.campaign`,
      [ctx.tenantId, ids],
    );
    return groupBy(ids, rows, (r) => String(r.budget_id));
  }),
});

/** Spend of many budgets, most recent first, `first` per budget: one statement per request. */
export function budgetSpendLoader(ctx: QueryContext, first: number): BatchLoader<string, BudgetSpendRow[]> {
  return ctx.batch(`budget.spend:${first}`, async (ids: readonly string[]) => {
    const { rows } = await ctx.sql.query<BudgetSpendRow>(
      `SELECT * FROM (
         SELECT t.*, row_number() OVER (PARTITION BY t.budget_id ORDER BY t.spent_at DESC, t.spend_id DESC) AS rn
         FROM ${budgetSpendView.name} t WHERE t.tenant_id = $1 AND t.budget_id = ANY($2::uuid[])
       ) x WHERE x.rn <= $3 ORDER BY x.budget_id, x.rn`,
      [ctx.tenantId, ids, first],
    );
    return groupBy(ids, rows, (r) => String(r.budget_id));
  });
}

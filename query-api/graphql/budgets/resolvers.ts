import { budgetsView, type BudgetAllocationRow, type BudgetSpendRow } from '../../../schemas/read-models/postgres/index.js';
import type { QueryContext } from '../../context.js';
import type { Resolvers } from '../area.js';
import { connectionResolvers, orderOf, page, type OrderSpec, type PageArgs, type Params } from '../common/connection.js';
import { boundedFirst, rangeArg, stringArg, uuidArg } from '../common/inputs.js';
import { fromEnum, int32, int8, int8Text, toEnum } from '../common/rows.js';
import { BUDGET_SELECT, budgetSpendLoader, type BudgetRead } from './loaders.js';

interface BudgetFilter {
  status?: string[] | null;
  ownerId?: string | null;
  category?: string | null;
  currency?: string | null;
  overrun?: boolean | null;
  periodFrom?: string | null;
  periodTo?: string | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  updatedAfter?: Date | null;
  updatedBefore?: Date | null;
  amountMin?: bigint | null;
  amountMax?: bigint | null;
}

const ORDERS: Record<string, { expr: string; cast: OrderSpec['cast'] }> = {
  CREATED_AT: { expr: 't.created_at', cast: 'timestamptz' },
  UPDATED_AT: { expr: 't.updated_at', cast: 'timestamptz' },
  PERIOD_START: { expr: 't.period_start', cast: 'date' },
  AMOUNT: { expr: 't.amount_minor', cast: 'bigint' },
};

function budgetWhere(f: BudgetFilter): (p: Params) => string[] {
  const ownerId = f.ownerId != null ? stringArg(f.ownerId, 'budgets.filter.ownerId') : undefined;
  const category = f.category != null ? stringArg(f.category, 'budgets.filter.category') : undefined;
  const currency = f.currency != null ? stringArg(f.currency, 'budgets.filter.currency', 3) : undefined;
  rangeArg(f.periodFrom, f.periodTo, 'budgets.filter.periodFrom');
  rangeArg(f.createdAfter, f.createdBefore, 'budgets.filter.createdAfter');
  rangeArg(f.updatedAfter, f.updatedBefore, 'budgets.filter.updatedAfter');
  rangeArg(f.amountMin, f.amountMax, 'budgets.filter.amountMin');
  return (p) => {
    const c: string[] = [];
    if (f.status?.length) c.push(`t.status = ANY(${p.p(f.status.map(fromEnum), 'text[]')})`);
    if (ownerId !== undefined) c.push(`t.owner_id = ${p.p(ownerId)}`);
    if (category !== undefined) c.push(`t.category = ${p.p(category)}`);
    if (currency !== undefined) c.push(`t.currency = upper(${p.p(currency)})`);
    if (f.overrun != null) c.push(`t.overrun = ${p.p(f.overrun, 'boolean')}`);
    if (f.periodFrom) c.push(`t.period_end >= ${p.p(f.periodFrom, 'date')}`);
    if (f.periodTo) c.push(`t.period_start <= ${p.p(f.periodTo, 'date')}`);
    if (f.createdAfter) c.push(`t.created_at >= ${p.p(f.createdAfter, 'timestamptz')}`);
    if (f.createdBefore) c.push(`t.created_at < ${p.p(f.createdBefore, 'timestamptz')}`);
    if (f.updatedAfter) c.push(`t.updated_at >= ${p.p(f.updatedAfter, 'timestamptz')}`);
    if (f.updatedBefore) c.push(`t.updated_at < ${p.p(f.updatedBefore, 'timestamptz')}`);
    if (f.amountMin != null) c.push(`t.amount_minor >= ${p.p(f.amountMin.toString(), 'bigint')}`);
    if (f.amountMax != null) c.push(`t.amount_minor <= ${p.p(f.amountMax.toString(), 'bigint')}`);
    return c;
  };
}

const money = (minor: unknown, currency: string) => ({ minor: int8(minor), currency });

export const budgetResolvers: Resolvers = {
  Query: {
    budget: (_: unknown, args: { id: string }, ctx: QueryContext) => ctx.loaders.budget.load(uuidArg(args.id, 'budget.id')).then((r) => r ?? null),
    budgets: (_: unknown, args: PageArgs & { filter?: BudgetFilter | null; orderBy?: { field: string; direction: 'ASC' | 'DESC' } | null }, ctx: QueryContext) => {
      const filter = args.filter ?? {};
      return page<BudgetRead>(ctx, { name: 'budgets', view: budgetsView.name, idColumn: 'budget_id', select: BUDGET_SELECT }, orderOf(ORDERS, args.orderBy, 'CREATED_AT'), filter, args, 'budgets', budgetWhere(filter));
    },
  },
  BudgetConnection: connectionResolvers,
  Budget: {
    id: (b: BudgetRead) => b.budget_id,
    periodStart: (b: BudgetRead) => b.period_start_day,
    periodEnd: (b: BudgetRead) => b.period_end_day,
    amount: (b: BudgetRead) => money(b.amount_minor, b.currency),
    allocated: (b: BudgetRead) => money(b.allocated_minor, b.currency),
    spent: (b: BudgetRead) => money(b.spent_minor, b.currency),
    remaining: (b: BudgetRead) => money(b.remaining_minor, b.currency),
    unallocated: (b: BudgetRead) => money(b.unallocated_minor, b.currency),
    thresholdsReached: (b: BudgetRead) => (b.thresholds_reached ?? []).map(Number),
    threshold80At: (b: BudgetRead) => b.threshold_80_at,
    threshold100At: (b: BudgetRead) => b.threshold_100_at,
    ownerId: (b: BudgetRead) => b.owner_id,
    status: (b: BudgetRead) => toEnum(b.status),
    createdAt: (b: BudgetRead) => b.created_at,
    closedAt: (b: BudgetRead) => b.closed_at,
    updatedAt: (b: BudgetRead) => b.updated_at,
    revision: (b: BudgetRead) => int32(b.revision),
    position: (b: BudgetRead) => int8Text(b.position),
    allocations: (b: BudgetRead, _: unknown, ctx: QueryContext) => ctx.loaders.budgetAllocations.load(String(b.budget_id)).then((r) => r ?? []),
    spend: async (b: BudgetRead, args: { first: number }, ctx: QueryContext) =>
      (await budgetSpendLoader(ctx, boundedFirst(ctx, args.first, 'Budget.spend.first')).load(String(b.budget_id))) ?? [],
  },
  BudgetAllocation: {
    amount: (a: BudgetAllocationRow) => money(a.amount_minor, a.currency),
    updatedAt: (a: BudgetAllocationRow) => a.updated_at,
  },
  BudgetSpend: {
    id: (s: BudgetSpendRow) => s.spend_id,
    amount: (s: BudgetSpendRow) => money(s.amount_minor, s.currency),
    spentAt: (s: BudgetSpendRow) => s.spent_at,
    externalReference: (s: BudgetSpendRow) => s.external_reference,
    recordedAt: (s: BudgetSpendRow) => s.recorded_at,
    actorId: (s: BudgetSpendRow) => s.actor_id,
  },
};

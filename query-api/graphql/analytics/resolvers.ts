import type { AnalyticsEngine } from '../../../platform/analytics/port.js';
import {
  dealOutcomesSql,
  leadFunnelSql,
  pipelineByStageSql,
  spendByMonthSql,
  stageStaysSql,
  type DealOutcomeRow,
  type LeadFunnelRow,
  type PipelineByStageRow,
  type SpendByMonthRow,
  type StageStayRow,
} from '../../../schemas/read-models/clickhouse/aggregates.js';
import { LiteralError, monthsBetween, type Granularity } from '../../../schemas/read-models/clickhouse/sql.js';
import type { QueryContext } from '../../context.js';
import { QueryError, QueryErrorCode } from '../../errors.js';
import { AnalyticsError, AnalyticsErrorCode } from '../../../platform/analytics/port.js';
import type { Resolvers } from '../area.js';
import { stringListArg } from '../common/inputs.js';

declare module '../../context.js' {
  interface QueryServices {
    /** The analytics engine (ClickHouse server or chDB); absent: analytics answers ANALYTICS_ERR_NOT_CONFIGURED. */
    analytics?: AnalyticsEngine;
  }
}

interface PeriodArg {
  readonly from?: string | null;
  readonly to?: string | null;
}
const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

function monthArg(value: string | null | undefined, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (!MONTH.test(value) || value.startsWith('0000')) {
    throw new QueryError(QueryErrorCode.InvalidArgument, `${field} must be a month YYYY-MM (year 0001-9999)`, { field, rule: 'month' });
  }
  return value;
}
function periodArg(p: PeriodArg | null | undefined, field: string): { from?: string; to?: string } {
  const from = monthArg(p?.from, `${field}.from`);
  const to = monthArg(p?.to, `${field}.to`);
  if (from !== undefined && to !== undefined && to < from) throw new QueryError(QueryErrorCode.InvalidArgument, `${field}.to must not be before ${field}.from`, { field, rule: 'range' });
  return { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
}
const granularityOf = (g: string | undefined): Granularity => (g ?? 'MONTH').toLowerCase() as Granularity;
const listArg = (values: readonly string[] | null | undefined, field: string) => (values ? stringListArg(values, field) : undefined);

/** Runs one statement on the engine; a refused argument the checks above missed still answers 400, never SQL. */
async function run<T extends Record<string, unknown>>(ctx: QueryContext, build: () => string): Promise<T[]> {
  const engine = ctx.deps.analytics;
  if (!engine) throw new AnalyticsError(AnalyticsErrorCode.NotConfigured, 'analytics is not configured on this deployment', 501);
  let sql: string;
  try {
    sql = build();
  } catch (err) {
    if (err instanceof LiteralError) throw new QueryError(QueryErrorCode.InvalidArgument, err.message, { rule: 'analytics-argument' });
    throw err;
  }
  return engine.query<T>(sql);
}

const num = (v: unknown) => Number(v);
const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
const DAY_MS = 86_400_000;

export const analyticsResolvers: Resolvers = {
  // The tenant is bound here, from the token, once; no argument can name another.
  Query: { analytics: (_p: unknown, _a: unknown, ctx: QueryContext) => ({ tenantId: ctx.tenantId }) },
  Analytics: {
    async leadFunnel(parent: { tenantId: string }, args: { period?: PeriodArg; granularity?: string; sources?: string[] }, ctx: QueryContext) {
      const filter = { tenantId: parent.tenantId, ...periodArg(args.period, 'period'), granularity: granularityOf(args.granularity), sources: listArg(args.sources, 'sources') };
      const rows = await run<LeadFunnelRow & Record<string, unknown>>(ctx, () => leadFunnelSql(filter));
      return rows.map((r) => ({
        period: r.period,
        source: r.source,
        captured: num(r.captured),
        qualified: num(r.qualified),
        converted: num(r.converted),
        qualificationRate: ratio(num(r.qualified), num(r.captured)),
        conversionRate: ratio(num(r.converted), num(r.captured)),
      }));
    },
    async pipelineByStage(parent: { tenantId: string }, args: { period: PeriodArg; pipelines?: string[] }, ctx: QueryContext) {
      const p = periodArg(args.period, 'period');
      if (p.from === undefined || p.to === undefined) throw new QueryError(QueryErrorCode.InvalidArgument, 'period.from and period.to are both required for pipelineByStage', { field: 'period', rule: 'required' });
      const from = p.from;
      const to = p.to;
      try {
        monthsBetween(from, to);
      } catch (err) {
        throw new QueryError(QueryErrorCode.InvalidArgument, (err as Error).message, { field: 'period', rule: 'range' });
      }
      const rows = await run<PipelineByStageRow & Record<string, unknown>>(ctx, () => pipelineByStageSql({ tenantId: parent.tenantId, from, to, pipelines: listArg(args.pipelines, 'pipelines') }));
      return rows.map((r) => ({ period: r.period, pipeline: r.pipeline, stage: r.stage, currency: r.currency, deals: num(r.deals), value: BigInt(r.value_minor), weightedValue: BigInt(r.weighted_minor) }));
    },
    async dealVelocity(parent: { tenantId: string }, args: { period?: PeriodArg; pipelines?: string[] }, ctx: QueryContext) {
      const filter = { tenantId: parent.tenantId, ...periodArg(args.period, 'period'), pipelines: listArg(args.pipelines, 'pipelines') };
      const [stays, outcomes] = await Promise.all([
        run<StageStayRow & Record<string, unknown>>(ctx, () => stageStaysSql(filter)),
        run<DealOutcomeRow & Record<string, unknown>>(ctx, () => dealOutcomesSql(filter)),
      ]);
      return {
        stages: stays.map((s) => ({ pipeline: s.pipeline, stage: s.stage, stays: num(s.stays), averageDays: num(s.avg_ms) / DAY_MS, maxDays: num(s.max_ms) / DAY_MS })),
        outcomes: outcomes.map((o) => ({ pipeline: o.pipeline, won: num(o.won), lost: num(o.lost), winRate: ratio(num(o.won), num(o.won) + num(o.lost)) })),
      };
    },
    async spendByMonth(parent: { tenantId: string }, args: { period?: PeriodArg; granularity?: string; categories?: string[] }, ctx: QueryContext) {
      const filter = { tenantId: parent.tenantId, ...periodArg(args.period, 'period'), granularity: granularityOf(args.granularity), categories: listArg(args.categories, 'categories') };
      const rows = await run<SpendByMonthRow & Record<string, unknown>>(ctx, () => spendByMonthSql(filter));
      return rows.map((r) => ({
        period: r.period,
        category: r.category,
        currency: r.currency,
        spent: BigInt(r.spent_minor),
        amount: BigInt(r.amount_minor),
        allocated: BigInt(r.allocated_minor),
        budgets: num(r.budgets),
        spentOfAllocated: BigInt(r.allocated_minor) === 0n ? null : Number(r.spent_minor) / Number(r.allocated_minor),
      }));
    },
  },
};

import { dealsView } from '../../../schemas/read-models/postgres/index.js';
import type { QueryContext } from '../../context.js';
import type { Resolvers } from '../area.js';
import { connectionResolvers, orderOf, page, type OrderSpec, type PageArgs, type Params } from '../common/connection.js';
import { boundedFirst, rangeArg, stringArg, stringListArg, uuidArg } from '../common/inputs.js';
import { fromEnum } from '../common/rows.js';
import type { ContactNode } from '../contacts/nodes.js';
import { contactDealsLoader, DEAL_SELECT, type DealRead } from './loaders.js';
import { DealNode } from './nodes.js';

interface DealFilter {
  status?: string[] | null;
  ownerId?: string | null;
  pipeline?: string | null;
  stage?: string[] | null;
  contactId?: string | null;
  currency?: string | null;
  valueMin?: bigint | null;
  valueMax?: bigint | null;
  openedAfter?: Date | null;
  openedBefore?: Date | null;
  updatedAfter?: Date | null;
  updatedBefore?: Date | null;
  expectedCloseFrom?: string | null;
  expectedCloseTo?: string | null;
}

const ORDERS: Record<string, { expr: string; cast: OrderSpec['cast'] }> = {
  UPDATED_AT: { expr: 't.updated_at', cast: 'timestamptz' },
  OPENED_AT: { expr: 't.opened_at', cast: 'timestamptz' },
  VALUE: { expr: 't.value_minor', cast: 'bigint' },
  EXPECTED_CLOSE_DATE: { expr: 't.expected_close_date', cast: 'date' },
};

function dealWhere(f: DealFilter): (p: Params) => string[] {
  const ownerId = f.ownerId != null ? stringArg(f.ownerId, 'deals.filter.ownerId') : undefined;
  const pipeline = f.pipeline != null ? stringArg(f.pipeline, 'deals.filter.pipeline') : undefined;
  const stages = f.stage ? stringListArg(f.stage, 'deals.filter.stage') : undefined;
  const contactId = f.contactId != null ? uuidArg(f.contactId, 'deals.filter.contactId') : undefined;
  const currency = f.currency != null ? stringArg(f.currency, 'deals.filter.currency', 3) : undefined;
  rangeArg(f.valueMin, f.valueMax, 'deals.filter.valueMin');
  rangeArg(f.openedAfter, f.openedBefore, 'deals.filter.openedAfter');
  rangeArg(f.updatedAfter, f.updatedBefore, 'deals.filter.updatedAfter');
  rangeArg(f.expectedCloseFrom, f.expectedCloseTo, 'deals.filter.expectedCloseFrom');
  return (p) => {
    const c: string[] = [];
    if (f.status?.length) c.push(`t.status = ANY(${p.p(f.status.map(fromEnum), 'text[]')})`);
    if (ownerId !== undefined) c.push(`t.owner_id = ${p.p(ownerId)}`);
    if (pipeline !== undefined) c.push(`t.pipeline = ${p.p(pipeline)}`);
    if (stages?.length) c.push(`t.stage = ANY(${p.p(stages, 'text[]')})`);
    if (contactId !== undefined) c.push(`t.contact_id = ${p.p(contactId, 'uuid')}`);
    if (currency !== undefined) c.push(`t.currency = upper(${p.p(currency)})`);
    if (f.valueMin != null) c.push(`t.value_minor >= ${p.p(f.valueMin.toString(), 'bigint')}`);
    if (f.valueMax != null) c.push(`t.value_minor <= ${p.p(f.valueMax.toString(), 'bigint')}`);
    if (f.openedAfter) c.push(`t.opened_at >= ${p.p(f.openedAfter, 'timestamptz')}`);
    if (f.openedBefore) c.push(`t.opened_at < ${p.p(f.openedBefore, 'timestamptz')}`);
    if (f.updatedAfter) c.push(`t.updated_at >= ${p.p(f.updatedAfter, 'timestamptz')}`);
    if (f.updatedBefore) c.push(`t.updated_at < ${p.p(f.updatedBefore, 'timestamptz')}`);
    if (f.expectedCloseFrom) c.push(`t.expected_close_date >= ${p.p(f.expectedCloseFrom, 'date')}`);
    if (f.expectedCloseTo) c.push(`t.expected_close_date <= ${p.p(f.expectedCloseTo, 'date')}`);
    return c;
  };
}

interface StageRow {
  stage: string;
  probability: number;
  currency: string;
  n: string;
  value: string;
  weighted: string;
}

async function pipelineSummary(ctx: QueryContext, pipelineName: string, statuses: readonly string[]) {
  const pipeline = stringArg(pipelineName, 'pipeline.pipeline');
  const { rows } = await ctx.sql.query<StageRow>(
    `SELECT t.stage, min(t.probability)::int AS probability, t.currency, count(*)::int8::text AS n,
            sum(t.value_minor)::text AS value, round(sum(t.weighted_value_minor))::int8::text AS weighted
     FROM ${dealsView.name} t WHERE t.tenant_id = $1 AND t.pipeline = $2 AND t.status = ANY($3::text[])
     GROUP BY t.stage, t.currency ORDER BY min(t.probability), t.stage, t.currency`,
    [ctx.tenantId, pipeline, statuses.map(fromEnum)],
  );
  const stages: { stage: string; probability: number; count: number; value: { minor: bigint; currency: string }[]; weightedValue: { minor: bigint; currency: string }[] }[] = [];
  for (const r of rows) {
    let s = stages.find((x) => x.stage === r.stage);
    if (!s) {
      s = { stage: r.stage, probability: Number(r.probability), count: 0, value: [], weightedValue: [] };
      stages.push(s);
    }
    s.probability = Math.min(s.probability, Number(r.probability));
    s.count += Number(r.n);
    s.value.push({ minor: BigInt(r.value), currency: r.currency });
    s.weightedValue.push({ minor: BigInt(r.weighted), currency: r.currency });
  }
  stages.sort((a, b) => a.probability - b.probability || (a.stage < b.stage ? -1 : 1));
  return { pipeline, stages, count: stages.reduce((n, s) => n + s.count, 0) };
}

export const dealResolvers: Resolvers = {
  Query: {
    deal: (_: unknown, args: { id: string }, ctx: QueryContext) => ctx.loaders.deal.load(uuidArg(args.id, 'deal.id')).then((r) => r ?? null),
    deals: (_: unknown, args: PageArgs & { filter?: DealFilter | null; orderBy?: { field: string; direction: 'ASC' | 'DESC' } | null }, ctx: QueryContext) => {
      const filter = args.filter ?? {};
      return page(
        ctx,
        { name: 'deals', view: dealsView.name, idColumn: 'deal_id', select: DEAL_SELECT, node: (r: DealRead) => new DealNode(r) },
        orderOf(ORDERS, args.orderBy, 'UPDATED_AT'),
        filter,
        args,
        'deals',
        dealWhere(filter),
      );
    },
    pipeline: (_: unknown, args: { pipeline: string; status: string[] }, ctx: QueryContext) => pipelineSummary(ctx, args.pipeline, args.status),
  },
  DealConnection: connectionResolvers,
  // Deal's and DealStageChange's other fields are getters of DealNode / DealStageChangeNode (nodes.ts).
  Deal: {
    contact: (d: DealNode, _: unknown, ctx: QueryContext) => ctx.loaders.contact.load(String(d.row.contact_id)).then((r) => r ?? null),
    stageHistory: (d: DealNode, _: unknown, ctx: QueryContext) => ctx.loaders.dealStageHistory.load(String(d.row.deal_id)).then((r) => r ?? []),
  },
  Contact: {
    deals: async (c: ContactNode, args: { first: number; status?: string[] | null }, ctx: QueryContext) => {
      const first = boundedFirst(ctx, args.first, 'Contact.deals.first');
      const statuses = args.status?.length ? args.status.map(fromEnum) : null;
      return (await contactDealsLoader(ctx, first, statuses).load(String(c.row.contact_id))) ?? [];
    },
  },
};

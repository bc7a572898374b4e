import { dealsView, dealStageHistoryView, type DealRow, type DealStageHistoryRow } from '../../../schemas/read-models/postgres/index.js';
import type { BatchLoader, QueryContext } from '../../context.js';
import { byIdLoader } from '../common/by-id.js';
import { groupBy } from '../common/rows.js';
import { DealNode, DealStageChangeNode } from './nodes.js';

declare module '../../context.js' {
  interface Loaders {
    /** Deals of the caller's tenant by id. */
    readonly deal: BatchLoader<string, DealNode>;
    /** Stage history of deals, oldest first. */
    readonly dealStageHistory: BatchLoader<string, DealStageChangeNode[]>;
  }
}

/**
 * Every deal read selects this: `date` columns as text, because pg turns a date into a local-midnight
 * Date (the day shifts with the server's time zone) while PGlite gives UTC midnight.
 */
export const DEAL_SELECT = `t.*, t.expected_close_date::text AS expected_close_day`;
export type DealRead = DealRow & { readonly expected_close_day: string };

export const dealLoaders = (ctx: QueryContext) => ({
  deal: byIdLoader(ctx, { entity: 'deal', view: dealsView.name, idColumn: 'deal_id', select: DEAL_SELECT }, (r: DealRead) => new DealNode(r)),
  dealStageHistory: ctx.batch('deal.stageHistory', async (ids: readonly string[]) => {
    const { rows } = await ctx.sql.query<DealStageHistoryRow>(
      `SELECT * FROM ${dealStageHistoryView.name} t WHERE t.tenant_id = $1 AND t.deal_id = ANY($2::uuid[]) ORDER BY t.deal_id, t.position`,
      [ctx.tenantId, ids],
    );
    return groupBy(ids, rows.map((r) => new DealStageChangeNode(r)), (h) => String(h.row.deal_id));
  }),
});

/** Deals of many contacts (`first` per contact, newest update first): one statement per request. */
export function contactDealsLoader(ctx: QueryContext, first: number, statuses: readonly string[] | null): BatchLoader<string, DealNode[]> {
  return ctx.batch(`contact.deals:${first}:${JSON.stringify(statuses)}`, async (ids: readonly string[]) => {
    const params: unknown[] = [ctx.tenantId, ids, first];
    if (statuses) params.push(statuses);
    const { rows } = await ctx.sql.query<DealRead>(
      `SELECT * FROM (
         SELECT ${DEAL_SELECT}, row_number() OVER (PARTITION BY t.contact_id ORDER BY t.updated_at DESC, t.deal_id DESC) AS rn
         FROM ${dealsView.name} t WHERE t.tenant_id = $1 AND t.contact_id = ANY($2::uuid[]) ${statuses ? 'AND t.status = ANY($4::text[])' : ''}
       ) x WHERE x.rn <= $3 ORDER BY x.contact_id, x.rn`,
      params,
    );
    return groupBy(ids, rows.map((r) => new DealNode(r)), (d) => String(d.row.contact_id));
  });
}

import { contactsView, timelinesView, type ContactRow, type TimelineRow } from '../../../schemas/read-models/postgres/index.js';
import type { BatchLoader, QueryContext } from '../../context.js';
import { byIdLoader } from '../common/by-id.js';
import { groupBy } from '../common/rows.js';
import { ContactNode } from './nodes.js';

declare module '../../context.js' {
  interface Loaders {
    /** Contacts of the caller's tenant by id (one statement per request for every id asked). */
    readonly contact: BatchLoader<string, ContactNode>;
  }
}

export const contactLoaders = (ctx: QueryContext) => ({
  contact: byIdLoader(ctx, { entity: 'contact', view: contactsView.name, idColumn: 'contact_id' }, (r: ContactRow) => new ContactNode(r, ctx)),
});

/**
 * Timelines of many contacts, newest first by when it happened (a back-dated interaction sorts where it
 * belongs; ties by recording order), `first` per contact: one statement for the whole request.
 */
export function timelineLoader(ctx: QueryContext, first: number, types: readonly string[] | null): BatchLoader<string, TimelineRow[]> {
  return ctx.batch(`contact.timeline:${first}:${JSON.stringify(types)}`, async (ids: readonly string[]) => {
    const params: unknown[] = [ctx.tenantId, ids, first];
    const typeCond = types ? `AND t.entry_type = ANY($4::text[])` : '';
    if (types) params.push(types);
    const { rows } = await ctx.sql.query<TimelineRow & { rn: number }>(
      `SELECT * FROM (
         SELECT t.*, row_number() OVER (PARTITION BY t.contact_id ORDER BY t.occurred_at DESC, t.position DESC) AS rn
         FROM ${timelinesView.name} t WHERE t.tenant_id = $1 AND t.contact_id = ANY($2::uuid[]) ${typeCond}
       ) x WHERE x.rn <= $3 ORDER BY x.contact_id, x.rn`,
      params,
    );
    return groupBy<TimelineRow>(ids, rows, (r) => String(r.contact_id));
  });
}

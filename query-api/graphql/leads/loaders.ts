import { leadInactiveSql, leadsView, type LeadRow } from '../../../schemas/read-models/postgres/index.js';
import type { BatchLoader, QueryContext } from '../../context.js';
import { byIdLoader } from '../common/by-id.js';

/** Every lead read selects this: the inactive flag is a predicate on now() (schemas/read-models). */
export const LEAD_SELECT = `t.*, ${leadInactiveSql('t')} AS inactive`;
export type LeadRead = LeadRow & { readonly inactive: boolean };

declare module '../../context.js' {
  interface Loaders {
    /** Leads of the caller's tenant by id. */
    readonly lead: BatchLoader<string, LeadRead>;
  }
}

export const leadLoaders = (ctx: QueryContext) => ({
  lead: byIdLoader<LeadRead>(ctx, { entity: 'lead', view: leadsView.name, idColumn: 'lead_id', select: LEAD_SELECT }),
});

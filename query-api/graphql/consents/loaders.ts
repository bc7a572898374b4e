import { activeConsentSql, consentsView, type ConsentRow } from '../../../schemas/read-models/postgres/index.js';
import type { BatchLoader, QueryContext } from '../../context.js';
import { groupBy } from '../common/rows.js';

export type ConsentRead = ConsentRow & { readonly active: boolean };

declare module '../../context.js' {
  interface Loaders {
    /** Consents of data subjects (contacts or leads) by subject id, purposes in name order. */
    readonly consents: BatchLoader<string, ConsentRead[]>;
  }
}

export const consentLoaders = (ctx: QueryContext) => ({
  consents: ctx.batch('consents.bySubject', async (ids: readonly string[]) => {
    const { rows } = await ctx.sql.query<ConsentRead>(
      `SELECT t.*, ${activeConsentSql('t')} AS active FROM ${consentsView.name} t
       WHERE t.tenant_id = $1 AND t.subject_id = ANY($2::uuid[]) ORDER BY t.subject_id, t.purpose`,
      [ctx.tenantId, ids],
    );
    return groupBy(ids, rows, (r) => String(r.subject_id));
  }),
});

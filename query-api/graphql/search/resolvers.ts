import type { SearchKind } from '../../../schemas/read-models/search/documents.js';
import type { QueryContext } from '../../context.js';
import { QueryError, QueryErrorCode } from '../../errors.js';
import { SearchError, SearchErrorCode } from '../../search/errors.js';
import { MAX_SEARCH_FIRST, type SearchHit, type SearchPort } from '../../search/port.js';
import type { Resolvers } from '../area.js';

declare module '../../context.js' {
  interface QueryServices {
    /** The search port (Elasticsearch or the embedded full-text + trigram adapter); absent: SEARCH_ERR_NOT_CONFIGURED. */
    search?: SearchPort;
  }
}

const KINDS: Readonly<Record<string, SearchKind>> = { CONTACT: 'contact', LEAD: 'lead', DEAL: 'deal' };
const TYPENAME: Readonly<Record<SearchKind, string>> = { contact: 'Contact', lead: 'Lead', deal: 'Deal' };

interface SearchArgs {
  readonly text: string;
  readonly types?: readonly string[] | null;
  readonly first?: number | null;
}

/**
 * `search`: the port finds ids (tenant-filtered inside the store's query, best first); the entity loaders
 * read the hits from the PostgreSQL read models (one statement per kind for the whole answer), so a hit
 * reads exactly as `contact(id)` would: same fields, same masking for analysts (the Contact/Lead/Deal field
 * resolvers apply it). A hit the entity model says is gone (merged, erased since the search model was
 * written, or not projected there yet) is dropped rather than shown stale.
 */
async function search(_parent: unknown, args: SearchArgs, ctx: QueryContext): Promise<unknown[]> {
  const port = ctx.deps.search;
  if (!port) throw new SearchError(SearchErrorCode.NotConfigured, 'search is not configured on this deployment', 501);
  const first = args.first ?? 20;
  if (!Number.isInteger(first) || first < 1 || first > MAX_SEARCH_FIRST) {
    throw new QueryError(QueryErrorCode.InvalidArgument, `first must be between 1 and ${MAX_SEARCH_FIRST}`, { field: 'first', rule: 'range', max: MAX_SEARCH_FIRST });
  }
  const kinds = args.types ? [...new Set(args.types.map((t) => KINDS[t]!))] : undefined;
  if (kinds && kinds.length === 0) return [];
  let hits: SearchHit[];
  try {
    // With X-Consistent-With the gate has waited for the search model's checkpoint; `fresh` makes what it
    // checkpointed searchable (Elasticsearch refreshes on its own only every second).
    const fresh = ctx.request.headers['x-consistent-with'] !== undefined;
    hits = await port.search({ tenantId: ctx.tenantId, text: args.text, first, matchPersonal: ctx.seesPersonal, fresh, ...(kinds ? { kinds } : {}) });
  } catch (err) {
    ctx.log.warn({ err, adapter: port.adapter }, 'search: the search store failed');
    throw new SearchError(SearchErrorCode.Unavailable, 'search is temporarily unavailable; retry', 503);
  }
  const rows = await Promise.all(
    hits.map(async (h): Promise<unknown> => {
      switch (h.kind) {
        case 'contact': {
          // A Contact or Deal node (contacts/nodes.ts, deals/nodes.ts) names its own __typename; a copy would lose its getters.
          const node = await ctx.loaders.contact.load(h.id);
          return node && node.row.status === 'active' ? node : undefined;
        }
        case 'lead': {
          const row = await ctx.loaders.lead.load(h.id);
          return row && row.erased_at === null ? { ...row, __typename: TYPENAME.lead } : undefined;
        }
        case 'deal':
          return (await ctx.loaders.deal.load(h.id)) ?? undefined;
      }
    }),
  );
  return rows.filter((r) => r !== undefined);
}

export const searchResolvers: Resolvers = { Query: { search } };

import { AuditErrorCode, AuditInputError, AuditNotConfiguredError } from '../../../platform/audit/errors.js';
import type { AuditEntry, HistoryReader } from '../../../platform/audit/history.js';
import { parseStreamName } from '../../../schemas/events/streams.js';
import type { QueryContext } from '../../context.js';
import { QueryError, QueryErrorCode } from '../../errors.js';
import type { Resolvers } from '../area.js';
import { uuidArg } from '../common/inputs.js';

declare module '../../context.js' {
  interface QueryServices {
    /**
     * Reads and folds event streams with the write side's deciders (platform/audit), injected by the
     * composition root; absent: auditTrail / …AsOf answer AUDIT_ERR_NOT_CONFIGURED.
     */
    history?: HistoryReader;
  }
}

/** The reader, after the role guard: history is for auditor, dpo and admin (`read:audit`). */
export function historyOf(ctx: QueryContext, field: string): HistoryReader {
  ctx.require('read:audit', field);
  const history = ctx.deps.history;
  if (!history) throw new AuditNotConfiguredError(field);
  return history;
}

/** The caller's tenant; another tenant's stream reads as absent and leaves the security log line. */
export const scopeOf = (ctx: QueryContext) => ({
  tenantId: ctx.tenantId,
  onOtherTenant: (streamId: string) => {
    const s = parseStreamName(streamId);
    ctx.crossTenant(s?.aggregate ?? 'stream', s?.id ?? streamId);
  },
});

/** A refusal of platform/audit in this API's vocabulary (the codes every connection of the schema uses). */
function asQueryError(err: unknown): never {
  if (err instanceof AuditInputError && err.code === AuditErrorCode.BadCursor) {
    const mismatch = /another entity/.test(err.message);
    throw new QueryError(mismatch ? QueryErrorCode.CursorMismatch : QueryErrorCode.BadCursor, err.message, { field: 'auditTrail.after' });
  }
  throw err;
}

export const auditResolvers: Resolvers = {
  Query: {
    auditTrail: async (_: unknown, args: { entityId: string; first?: number | null; after?: string | null }, ctx: QueryContext) => {
      const history = historyOf(ctx, 'auditTrail');
      const entityId = uuidArg(args.entityId, 'auditTrail.entityId');
      const first = args.first ?? 50;
      if (!Number.isInteger(first) || first < 1 || first > ctx.limits.maxPageSize) {
        throw new QueryError(QueryErrorCode.PageSize, `auditTrail.first must be between 1 and ${ctx.limits.maxPageSize} (QUERY_MAX_PAGE_SIZE)`, {
          field: 'auditTrail.first',
          max: ctx.limits.maxPageSize,
          limit: 'QUERY_MAX_PAGE_SIZE',
        });
      }
      const page = await history.auditPage(entityId, { first, after: args.after }, scopeOf(ctx)).catch(asQueryError);
      return {
        edges: page.entries.map((node) => ({ cursor: page.cursorOf(node), node })),
        pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: page.hasPreviousPage, startCursor: page.startCursor, endCursor: page.endCursor },
      };
    },
  },
  AuditEvent: {
    position: (e: AuditEntry) => e.position.toString(),
    revision: (e: AuditEntry) => Number(e.streamRevision),
    erasedFields: (e: AuditEntry) => e.erasedFields,
  },
};

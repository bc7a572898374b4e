import type { LeadRow } from '../../../schemas/read-models/postgres/index.js';
import type { QueryContext } from '../../context.js';
import type { Resolvers } from '../area.js';
import { uuidArg } from '../common/inputs.js';
import { int32, int8Text, personalField, toEnum } from '../common/rows.js';
import type { ContactNode } from '../contacts/nodes.js';
import type { ConsentRead } from './loaders.js';

export const consentResolvers: Resolvers = {
  Query: {
    consents: async (_: unknown, args: { subjectId: string }, ctx: QueryContext) => (await ctx.loaders.consents.load(uuidArg(args.subjectId, 'consents.subjectId'))) ?? [],
  },
  Consent: {
    subjectId: (c: ConsentRead) => c.subject_id,
    subjectType: (c: ConsentRead) => c.subject_type,
    status: (c: ConsentRead) => toEnum(c.status),
    active: (c: ConsentRead) => c.active === true,
    lawfulBasis: (c: ConsentRead) => c.lawful_basis,
    source: (c: ConsentRead, _: unknown, ctx: QueryContext) => (c.source === null && c.erased_at === null ? null : personalField(ctx, c.source, 'text', c.erased_at !== null)),
    noticeVersion: (c: ConsentRead) => c.notice_version,
    grantedAt: (c: ConsentRead) => c.granted_at,
    withdrawnAt: (c: ConsentRead) => c.withdrawn_at,
    changedAt: (c: ConsentRead) => c.changed_at,
    erasedAt: (c: ConsentRead) => c.erased_at,
    revision: (c: ConsentRead) => int32(c.revision),
    position: (c: ConsentRead) => int8Text(c.position),
  },
  Contact: {
    consents: async (c: ContactNode, _: unknown, ctx: QueryContext) => (await ctx.loaders.consents.load(String(c.row.contact_id))) ?? [],
  },
  Lead: {
    consents: async (l: LeadRow, _: unknown, ctx: QueryContext) => (await ctx.loaders.consents.load(String(l.lead_id))) ?? [],
  },
};

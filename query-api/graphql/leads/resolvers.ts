import { leadInactiveSql, leadsView } from '../../../schemas/read-models/postgres/index.js';
import type { QueryContext } from '../../context.js';
import type { Resolvers } from '../area.js';
import { connectionResolvers, orderOf, page, type OrderSpec, type PageArgs, type Params } from '../common/connection.js';
import { rangeArg, stringArg, uuidArg } from '../common/inputs.js';
import { fromEnum, int32, int8, int8Text, personalField, toEnum } from '../common/rows.js';
import type { ContactNode } from '../contacts/nodes.js';
import { LEAD_SELECT, type LeadRead } from './loaders.js';

interface LeadFilter {
  status?: string[] | null;
  source?: string[] | null;
  ownerId?: string | null;
  campaign?: string | null;
  company?: string | null;
  inactive?: boolean | null;
  scoreMin?: number | null;
  scoreMax?: number | null;
  capturedAfter?: Date | null;
  capturedBefore?: Date | null;
  updatedAfter?: Date | null;
  updatedBefore?: Date | null;
}

const ORDERS: Record<string, { expr: string; cast: OrderSpec['cast'] }> = {
  CAPTURED_AT: { expr: 't.captured_at', cast: 'timestamptz' },
  UPDATED_AT: { expr: 't.updated_at', cast: 'timestamptz' },
  LAST_ACTIVITY_AT: { expr: 't.last_activity_at', cast: 'timestamptz' },
  SCORE: { expr: 'coalesce(t.score, -1)', cast: 'int' },
};

/** Stored statuses are PascalCase (`Qualified`); the API's enum is upper case. */
const STATUS_OF: Record<string, string> = { NEW: 'New', QUALIFIED: 'Qualified', NURTURING: 'Nurturing', LOST: 'Lost', CONVERTED: 'Converted' };

function leadWhere(f: LeadFilter): (p: Params) => string[] {
  const ownerId = f.ownerId != null ? stringArg(f.ownerId, 'leads.filter.ownerId') : undefined;
  const campaign = f.campaign != null ? stringArg(f.campaign, 'leads.filter.campaign') : undefined;
  const company = f.company != null ? stringArg(f.company, 'leads.filter.company') : undefined;
  rangeArg(f.scoreMin, f.scoreMax, 'leads.filter.scoreMin');
  rangeArg(f.capturedAfter, f.capturedBefore, 'leads.filter.capturedAfter');
  rangeArg(f.updatedAfter, f.updatedBefore, 'leads.filter.updatedAfter');
  return (p) => {
    const c: string[] = [];
    if (f.status?.length) c.push(`t.status = ANY(${p.p(f.status.map((s) => STATUS_OF[s]), 'text[]')})`);
    if (f.source?.length) c.push(`t.source = ANY(${p.p(f.source.map(fromEnum), 'text[]')})`);
    if (ownerId !== undefined) c.push(`t.owner_id = ${p.p(ownerId)}`);
    if (campaign !== undefined) c.push(`t.campaign = ${p.p(campaign)}`);
    if (company !== undefined) c.push(`lower(t.company) = lower(${p.p(company)})`);
    if (f.inactive === true) c.push(leadInactiveSql('t'));
    if (f.inactive === false) c.push(`NOT ${leadInactiveSql('t')}`);
    if (f.scoreMin != null) c.push(`t.score >= ${p.p(f.scoreMin, 'int')}`);
    if (f.scoreMax != null) c.push(`t.score <= ${p.p(f.scoreMax, 'int')}`);
    if (f.capturedAfter) c.push(`t.captured_at >= ${p.p(f.capturedAfter, 'timestamptz')}`);
    if (f.capturedBefore) c.push(`t.captured_at < ${p.p(f.capturedBefore, 'timestamptz')}`);
    if (f.updatedAfter) c.push(`t.updated_at >= ${p.p(f.updatedAfter, 'timestamptz')}`);
    if (f.updatedBefore) c.push(`t.updated_at < ${p.p(f.updatedBefore, 'timestamptz')}`);
    return c;
  };
}

const erased = (l: LeadRead) => l.erased_at !== null;

export const leadResolvers: Resolvers = {
  Query: {
    lead: (_: unknown, args: { id: string }, ctx: QueryContext) => ctx.loaders.lead.load(uuidArg(args.id, 'lead.id')).then((r) => r ?? null),
    leads: (_: unknown, args: PageArgs & { filter?: LeadFilter | null; orderBy?: { field: string; direction: 'ASC' | 'DESC' } | null }, ctx: QueryContext) => {
      const filter = args.filter ?? {};
      return page<LeadRead>(ctx, { name: 'leads', view: leadsView.name, idColumn: 'lead_id', select: LEAD_SELECT }, orderOf(ORDERS, args.orderBy, 'CAPTURED_AT'), filter, args, 'leads', leadWhere(filter));
    },
  },
  LeadConnection: connectionResolvers,
  Lead: {
    id: (l: LeadRead) => l.lead_id,
    name: (l: LeadRead, _: unknown, ctx: QueryContext) => personalField(ctx, l.name, 'name', erased(l)),
    email: (l: LeadRead, _: unknown, ctx: QueryContext) => personalField(ctx, l.email, 'email', erased(l)),
    phone: (l: LeadRead, _: unknown, ctx: QueryContext) => personalField(ctx, l.phone, 'phone', erased(l)),
    notes: (l: LeadRead, _: unknown, ctx: QueryContext) => personalField(ctx, l.notes, 'text', erased(l)),
    source: (l: LeadRead) => toEnum(l.source),
    ownerId: (l: LeadRead) => l.owner_id,
    status: (l: LeadRead) => toEnum(l.status),
    score: (l: LeadRead) => (l.score === null ? null : int32(l.score)),
    scoreFactors: (l: LeadRead) => l.score_factors,
    scoredAt: (l: LeadRead) => l.scored_at,
    bant: (l: LeadRead) => (l.qualified_at === null && l.bant_budget_minor === null && l.bant_authority === null && l.bant_need === null && l.bant_timeline === null ? null : l),
    qualifiedAt: (l: LeadRead) => l.qualified_at,
    lostAt: (l: LeadRead) => l.lost_at,
    lostReason: (l: LeadRead, _: unknown, ctx: QueryContext) => personalField(ctx, l.lost_reason, 'text', erased(l)),
    convertedContact: (l: LeadRead, _: unknown, ctx: QueryContext) => (l.converted_contact_id ? ctx.loaders.contact.load(String(l.converted_contact_id)).then((r) => r ?? null) : null),
    convertedDeal: (l: LeadRead, _: unknown, ctx: QueryContext) => (l.converted_deal_id ? ctx.loaders.deal.load(String(l.converted_deal_id)).then((r) => r ?? null) : null),
    convertedAt: (l: LeadRead) => l.converted_at,
    capturedAt: (l: LeadRead) => l.captured_at,
    lastActivityAt: (l: LeadRead) => l.last_activity_at,
    lastActivityKind: (l: LeadRead) => l.last_activity_kind,
    inactive: (l: LeadRead) => l.inactive === true,
    inactiveAt: (l: LeadRead) => l.inactive_at,
    erased: (l: LeadRead) => erased(l),
    erasedAt: (l: LeadRead) => l.erased_at,
    updatedAt: (l: LeadRead) => l.updated_at,
    revision: (l: LeadRead) => int32(l.revision),
    position: (l: LeadRead) => int8Text(l.position),
  },
  Bant: {
    budget: (l: LeadRead) => (l.bant_budget_minor === null ? null : { minor: int8(l.bant_budget_minor), currency: l.bant_budget_currency ?? '' }),
    authority: (l: LeadRead) => l.bant_authority,
    need: (l: LeadRead, _: unknown, ctx: QueryContext) => personalField(ctx, l.bant_need, 'text', erased(l)),
    timeline: (l: LeadRead) => l.bant_timeline,
  },
  Contact: {
    convertedFromLead: (c: ContactNode, _: unknown, ctx: QueryContext) =>
      c.row.converted_from_lead_id ? ctx.loaders.lead.load(String(c.row.converted_from_lead_id)).then((r) => r ?? null) : null,
  },
};

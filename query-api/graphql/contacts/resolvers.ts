import { contactsView, type ContactRow, type TimelineRow } from '../../../schemas/read-models/postgres/index.js';
import type { QueryContext } from '../../context.js';
import type { Resolvers } from '../area.js';
import { connectionResolvers, orderOf, page, type OrderSpec, type PageArgs, type Params } from '../common/connection.js';
import { boundedFirst, rangeArg, stringArg, stringListArg, uuidArg } from '../common/inputs.js';
import { int8Text, personalField, fromEnum } from '../common/rows.js';
import { timelineLoader } from './loaders.js';
import { ContactNode } from './nodes.js';

interface ContactFilter {
  status?: string[] | null;
  tags?: string[] | null;
  anyTags?: string[] | null;
  company?: string | null;
  email?: string | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  updatedAfter?: Date | null;
  updatedBefore?: Date | null;
  noInteractionSince?: Date | null;
}

const ORDERS: Record<string, { expr: string; cast: OrderSpec['cast'] }> = {
  CREATED_AT: { expr: 't.created_at', cast: 'timestamptz' },
  UPDATED_AT: { expr: 't.updated_at', cast: 'timestamptz' },
  // Never interacted sorts as the oldest.
  LAST_INTERACTION_AT: { expr: `coalesce(t.last_interaction_at, '-infinity'::timestamptz)`, cast: 'timestamptz' },
};

function contactWhere(ctx: QueryContext, f: ContactFilter): (p: Params) => string[] {
  if (f.email != null) ctx.require('read:personal', 'contacts.filter.email');
  const tags = f.tags ? stringListArg(f.tags, 'contacts.filter.tags') : undefined;
  const anyTags = f.anyTags ? stringListArg(f.anyTags, 'contacts.filter.anyTags') : undefined;
  const company = f.company != null ? stringArg(f.company, 'contacts.filter.company') : undefined;
  const email = f.email != null ? stringArg(f.email, 'contacts.filter.email', 320) : undefined;
  rangeArg(f.createdAfter, f.createdBefore, 'contacts.filter.createdAfter');
  rangeArg(f.updatedAfter, f.updatedBefore, 'contacts.filter.updatedAfter');
  return (p) => {
    const c: string[] = [];
    if (f.status?.length) c.push(`t.status = ANY(${p.p(f.status.map(fromEnum), 'text[]')})`);
    if (tags?.length) c.push(`t.tags @> ${p.p(tags, 'text[]')}`);
    if (anyTags?.length) c.push(`t.tags && ${p.p(anyTags, 'text[]')}`);
    if (company !== undefined) c.push(`lower(t.company) = lower(${p.p(company)})`);
    if (email !== undefined) c.push(`lower(t.email) = lower(${p.p(email)})`);
    if (f.createdAfter) c.push(`t.created_at >= ${p.p(f.createdAfter, 'timestamptz')}`);
    if (f.createdBefore) c.push(`t.created_at < ${p.p(f.createdBefore, 'timestamptz')}`);
    if (f.updatedAfter) c.push(`t.updated_at >= ${p.p(f.updatedAfter, 'timestamptz')}`);
    if (f.updatedBefore) c.push(`t.updated_at < ${p.p(f.updatedBefore, 'timestamptz')}`);
    if (f.noInteractionSince) c.push(`(t.last_interaction_at IS NULL OR t.last_interaction_at < ${p.p(f.noInteractionSince, 'timestamptz')})`);
    return c;
  };
}

export const contactResolvers: Resolvers = {
  Query: {
    contact: (_: unknown, args: { id: string }, ctx: QueryContext) => ctx.loaders.contact.load(uuidArg(args.id, 'contact.id')).then((r) => r ?? null),
    contacts: (_: unknown, args: PageArgs & { filter?: ContactFilter | null; orderBy?: { field: string; direction: 'ASC' | 'DESC' } | null }, ctx: QueryContext) => {
      const filter = args.filter ?? {};
      return page(
        ctx,
        { name: 'contacts', view: contactsView.name, idColumn: 'contact_id', node: (r: ContactRow) => new ContactNode(r, ctx) },
        orderOf(ORDERS, args.orderBy, 'UPDATED_AT'),
        filter,
        args,
        'contacts',
        contactWhere(ctx, filter),
      );
    },
  },
  ContactConnection: connectionResolvers,
  // Contact's other fields are getters of ContactNode (nodes.ts).
  Contact: {
    mergedInto: (c: ContactNode, _: unknown, ctx: QueryContext) => (c.row.merged_into ? ctx.loaders.contact.load(String(c.row.merged_into)).then((r) => r ?? null) : null),
    timeline: async (c: ContactNode, args: { first: number; types?: string[] | null }, ctx: QueryContext) => {
      const first = boundedFirst(ctx, args.first, 'Contact.timeline.first');
      const types = args.types ? stringListArg(args.types, 'Contact.timeline.types') : null;
      return (await timelineLoader(ctx, first, types).load(String(c.row.contact_id))) ?? [];
    },
  },
  TimelineEntry: {
    type: (t: TimelineRow) => t.entry_type,
    eventType: (t: TimelineRow) => t.event_type,
    eventId: (t: TimelineRow) => t.event_id,
    occurredAt: (t: TimelineRow) => t.occurred_at,
    recordedAt: (t: TimelineRow) => t.recorded_at,
    actorId: (t: TimelineRow) => t.actor_id,
    relatedId: (t: TimelineRow) => t.related_id,
    details: (t: TimelineRow) => t.details ?? {},
    summary: (t: TimelineRow, _: unknown, ctx: QueryContext) => personalField(ctx, t.summary, 'text', t.erased_at !== null && t.summary === null),
    outcome: (t: TimelineRow, _: unknown, ctx: QueryContext) => personalField(ctx, t.outcome, 'text', t.erased_at !== null && t.outcome === null),
    position: (t: TimelineRow) => int8Text(t.position),
  },
};


import type { SqlStatement, Tables } from '../../kernel/projection.js';
import type { EventEnvelope } from '../../../schemas/events/registry.js';
import { contactsView } from '../../../schemas/read-models/postgres/contacts.js';
import {
  assertNever,
  handles,
  indexName,
  int8,
  nullPersonal,
  physicalNames,
  statement,
  type PostgresReadModel,
} from '../sql.js';
import { personalColumnsOf, type PersonalSources } from '../personal-columns.js';

/**
 * Read model `contacts`: one row per contact, current state.
 *
 * - `status`: active → merged (the duplicate of a merge; `merged_into` points to the survivor) or
 *   erased (GDPR; personal columns nulled, the row stays so ids, merges and deals still resolve).
 * - `updated_at`, `revision`, `position`: the last event of the contact's own stream (an interaction is
 *   a change of the contact too). `last_interaction_at` is the business time of the latest interaction,
 *   so a back-dated interaction never moves it backwards.
 * - email uniqueness among active contacts is the write side's rule; the read model only indexes
 *   `lower(email)` (a unique index here would turn a write-side race into a stuck projector).
 * - Erasure arrives twice: `ContactErased` on the contact's stream (ordered after every personal value
 *   that stream carried) and `SubjectErased` on the consent stream; either nulls the same columns.
 */
const TABLES = [contactsView.name] as const;
const eventTypes = ['ContactCreated', 'ContactUpdated', 'ContactInteractionLogged', 'ContactMerged', 'ContactErased', 'SubjectErased'] as const;
const isHandled = handles(eventTypes);

/** Where each personal field of the handled events is kept (personal-columns.ts): the personal columns derive from it. */
const personalSources: PersonalSources = {
  'ContactCreated.firstName': 'contacts.first_name',
  'ContactCreated.lastName': 'contacts.last_name',
  'ContactCreated.email': 'contacts.email',
  'ContactCreated.phone': 'contacts.phone',
  'ContactCreated.customFields.*': 'contacts.custom_fields',
  'ContactUpdated.firstName': 'contacts.first_name',
  'ContactUpdated.lastName': 'contacts.last_name',
  'ContactUpdated.email': 'contacts.email',
  'ContactUpdated.phone': 'contacts.phone',
  'ContactUpdated.customFields.*': 'contacts.custom_fields',
  // An interaction moves last_interaction_at only: its text stays in the event (and the timeline).
  'ContactInteractionLogged.summary': null,
  'ContactInteractionLogged.outcome': null,
};
const personalColumns = personalColumnsOf(TABLES, personalSources);

function ddl(tables: Tables): string {
  const { contacts: t } = physicalNames(tables, TABLES);
  return `
CREATE TABLE ${t} (
  tenant_id              text        NOT NULL,
  contact_id             uuid        NOT NULL,
  -- personal (nulled by erasure)
  first_name             text,
  last_name              text,
  email                  text,
  phone                  text,
  custom_fields          jsonb,
  -- business
  company                text,
  title                  text,
  tags                   text[]      NOT NULL DEFAULT '{}',
  status                 text        NOT NULL CHECK (status IN ('active', 'merged', 'erased')),
  merged_into            uuid,
  merged_at              timestamptz,
  converted_from_lead_id uuid,
  created_at             timestamptz NOT NULL,
  updated_at             timestamptz NOT NULL,
  last_interaction_at    timestamptz,
  erased_at              timestamptz,
  revision               bigint      NOT NULL,
  position               bigint      NOT NULL,
  PRIMARY KEY (tenant_id, contact_id)
);
CREATE INDEX ${indexName(t, 'tenant_email_idx')} ON ${t} (tenant_id, lower(email)) WHERE email IS NOT NULL;
CREATE INDEX ${indexName(t, 'tenant_updated_idx')} ON ${t} (tenant_id, updated_at DESC, contact_id);
CREATE INDEX ${indexName(t, 'tenant_company_idx')} ON ${t} (tenant_id, lower(company)) WHERE company IS NOT NULL;
CREATE INDEX ${indexName(t, 'tenant_merged_into_idx')} ON ${t} (tenant_id, merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX ${indexName(t, 'tenant_last_interaction_idx')} ON ${t} (tenant_id, last_interaction_at);
`;
}

/** Columns of `ContactUpdated` fields that are set as they are (null clears). */
const plainUpdates = [
  ['firstName', 'first_name'],
  ['lastName', 'last_name'],
  ['email', 'email'],
  ['phone', 'phone'],
  ['company', 'company'],
  ['title', 'title'],
] as const;

function project(event: EventEnvelope, tables: Tables): readonly SqlStatement[] {
  if (!isHandled(event)) return [];
  const { contacts: t } = physicalNames(tables, TABLES);
  const tenant = event.tenantId;
  switch (event.type) {
    case 'ContactCreated': {
      const d = event.data;
      return [
        statement(
          `INSERT INTO ${t} (tenant_id, contact_id, first_name, last_name, email, phone, custom_fields, company, title, tags,
             status, converted_from_lead_id, created_at, updated_at, revision, position)
           VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10::text[], 'active', $11, $12::timestamptz, $12::timestamptz, $13::bigint, $14::bigint)
           ON CONFLICT (tenant_id, contact_id) DO NOTHING`,
          [
            tenant,
            d.contactId,
            d.firstName,
            d.lastName,
            d.email ?? null,
            d.phone ?? null,
            JSON.stringify(d.customFields),
            d.company ?? null,
            d.title ?? null,
            d.tags,
            d.convertedFromLeadId ?? null,
            event.occurredAt,
            int8(event.streamRevision),
            int8(event.position),
          ],
        ),
      ];
    }
    case 'ContactUpdated': {
      const d = event.data;
      const params: unknown[] = [tenant, d.contactId, event.occurredAt, int8(event.streamRevision), int8(event.position)];
      const sets = ['updated_at = $3::timestamptz', 'revision = $4::bigint', 'position = $5::bigint'];
      const param = (value: unknown): string => {
        params.push(value);
        return `$${params.length}`;
      };
      for (const [field, column] of plainUpdates) {
        const value = d[field];
        if (value !== undefined) sets.push(`${column} = ${param(value)}`);
      }
      if (d.customFields !== undefined) {
        const changed = Object.fromEntries(Object.entries(d.customFields).filter(([, v]) => v !== null));
        const removed = Object.entries(d.customFields)
          .filter(([, v]) => v === null)
          .map(([k]) => k);
        sets.push(`custom_fields = (coalesce(custom_fields, '{}'::jsonb) || ${param(JSON.stringify(changed))}::jsonb) - ${param(removed)}::text[]`);
      }
      if (d.tags !== undefined) sets.push(`tags = ${param(d.tags)}::text[]`);
      return [statement(`UPDATE ${t} SET ${sets.join(', ')} WHERE tenant_id = $1 AND contact_id = $2`, params)];
    }
    case 'ContactInteractionLogged':
      return [
        statement(
          `UPDATE ${t} SET last_interaction_at = greatest(last_interaction_at, $3::timestamptz),
             updated_at = $4::timestamptz, revision = $5::bigint, position = $6::bigint
           WHERE tenant_id = $1 AND contact_id = $2`,
          [tenant, event.data.contactId, event.data.occurredAt, event.occurredAt, int8(event.streamRevision), int8(event.position)],
        ),
      ];
    case 'ContactMerged':
      return [
        statement(
          `UPDATE ${t} SET status = CASE WHEN status = 'erased' THEN status ELSE 'merged' END, merged_into = $3, merged_at = $4::timestamptz,
             updated_at = $4::timestamptz, revision = $5::bigint, position = $6::bigint
           WHERE tenant_id = $1 AND contact_id = $2`,
          [tenant, event.data.contactId, event.data.survivorId, event.occurredAt, int8(event.streamRevision), int8(event.position)],
        ),
      ];
    case 'ContactErased':
      return [
        statement(
          `UPDATE ${t} SET ${nullPersonal(personalColumns.contacts)}, status = 'erased', erased_at = coalesce(erased_at, $3::timestamptz),
             updated_at = $3::timestamptz, revision = $4::bigint, position = $5::bigint
           WHERE tenant_id = $1 AND contact_id = $2`,
          [tenant, event.data.contactId, event.occurredAt, int8(event.streamRevision), int8(event.position)],
        ),
      ];
    case 'SubjectErased':
      // From the consent stream: revision/position stay those of the contact's own stream.
      if (event.data.subjectType !== 'contact') return [];
      return [
        statement(
          `UPDATE ${t} SET ${nullPersonal(personalColumns.contacts)}, status = 'erased', erased_at = coalesce(erased_at, $3::timestamptz)
           WHERE tenant_id = $1 AND contact_id = $2`,
          [tenant, event.data.subjectId, event.data.erasedAt],
        ),
      ];
    default:
      return assertNever(event);
  }
}

export const contactsProjection: PostgresReadModel = {
  name: 'contacts',
  version: 1,
  tables: TABLES,
  eventTypes,
  personalColumns,
  personalSources,
  ddl,
  project,
};

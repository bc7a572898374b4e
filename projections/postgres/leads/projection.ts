import type { SqlStatement, Tables } from '../../kernel/projection.js';
import type { EventEnvelope } from '../../../schemas/events/registry.js';
import { LEAD_INACTIVE_AFTER_HOURS, leadsView } from '../../../schemas/read-models/postgres/leads.js';
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
 * Read model `leads`: one row per lead, current state.
 *
 * Inactivity (SPEC: "a lead untouched for 30 days is flagged inactive"). "Now" cannot be part of a
 * projection (replays must be deterministic) and PostgreSQL refuses now() in a generated column, so
 * the row stores WHEN it becomes inactive: `inactive_at = last_activity_at + 30 days` while the lead is
 * open (New, Qualified, Nurturing) and not erased, NULL otherwise (Lost and Converted are final states,
 * not stale ones). A reader asks `inactive_at <= now()` (see `leadInactiveSql` in schemas/read-models), and the index
 * (tenant_id, inactive_at) serves "inactive leads of this tenant".
 *
 * `last_activity_at` is the time of the latest thing that happened to the lead: the business time of a
 * capture or an activity (`capturedAt`, the activity's `occurredAt`), the envelope time of every other
 * lead event (assign, qualify, status, score, convert). It never moves backwards. 30 days are counted
 * as 720 hours (LEAD_INACTIVE_AFTER_HOURS), so the result does not depend on the session time zone (DST).
 */
/**
 * `inactive_at` for a row whose status and last activity are the given SQL expressions: open and not
 * erased → 30 days after the last activity, otherwise NULL. `erasedAt` is the row's erasure time expression.
 */
function inactiveAt(status: string, lastActivityAt: string, erasedAt = 'erased_at'): string {
  return `CASE WHEN ${status} IN ('New', 'Qualified', 'Nurturing') AND ${erasedAt} IS NULL
    THEN ${lastActivityAt} + interval '${LEAD_INACTIVE_AFTER_HOURS} hours' END`;
}

const TABLES = [leadsView.name] as const;
const eventTypes = [
  'LeadCaptured',
  'LeadAssigned',
  'LeadQualified',
  'LeadStatusChanged',
  'LeadScored',
  'LeadActivityLogged',
  'LeadConverted',
  'LeadErased',
  'SubjectErased',
] as const;
const isHandled = handles(eventTypes);

/** Where each personal field of the handled events is kept (personal-columns.ts): the personal columns derive from it. */
const personalSources: PersonalSources = {
  'LeadCaptured.name': 'leads.name',
  'LeadCaptured.email': 'leads.email',
  'LeadCaptured.phone': 'leads.phone',
  'LeadCaptured.notes': 'leads.notes',
  'LeadQualified.need': 'leads.bant_need',
  'LeadStatusChanged.reason': 'leads.lost_reason',
  // The summary stays in the event (audit trail): the row keeps no more personal text than it needs.
  'LeadActivityLogged.summary': null,
};
const personalColumns = personalColumnsOf(TABLES, personalSources);

function ddl(tables: Tables): string {
  const { leads: t } = physicalNames(tables, TABLES);
  return `
CREATE TABLE ${t} (
  tenant_id             text        NOT NULL,
  lead_id               uuid        NOT NULL,
  -- personal (nulled by erasure)
  name                  text,
  email                 text,
  phone                 text,
  notes                 text,
  bant_need             text,
  lost_reason           text,
  -- business
  company               text,
  source                text        NOT NULL,
  campaign              text,
  owner_id              text,
  status                text        NOT NULL CHECK (status IN ('New', 'Qualified', 'Nurturing', 'Lost', 'Converted')),
  score                 smallint,
  score_factors         jsonb,
  scored_at             timestamptz,
  bant_budget_minor     bigint,
  bant_budget_currency  text,
  bant_authority        text,
  bant_timeline         text,
  qualified_at          timestamptz,
  lost_at               timestamptz,
  converted_contact_id  uuid,
  converted_deal_id     uuid,
  converted_at          timestamptz,
  last_activity_kind    text,
  captured_at           timestamptz NOT NULL,
  last_activity_at      timestamptz NOT NULL,
  inactive_at           timestamptz,
  erased_at             timestamptz,
  updated_at            timestamptz NOT NULL,
  revision              bigint      NOT NULL,
  position              bigint      NOT NULL,
  PRIMARY KEY (tenant_id, lead_id)
);
CREATE INDEX ${indexName(t, 'tenant_status_idx')} ON ${t} (tenant_id, status, updated_at DESC);
CREATE INDEX ${indexName(t, 'tenant_owner_idx')} ON ${t} (tenant_id, owner_id, status);
CREATE INDEX ${indexName(t, 'tenant_inactive_idx')} ON ${t} (tenant_id, inactive_at) WHERE inactive_at IS NOT NULL;
CREATE INDEX ${indexName(t, 'tenant_campaign_idx')} ON ${t} (tenant_id, campaign) WHERE campaign IS NOT NULL;
CREATE INDEX ${indexName(t, 'tenant_email_idx')} ON ${t} (tenant_id, lower(email)) WHERE email IS NOT NULL;
CREATE INDEX ${indexName(t, 'tenant_converted_contact_idx')} ON ${t} (tenant_id, converted_contact_id) WHERE converted_contact_id IS NOT NULL;
-- The query API's default order (leads, most recently captured first, id as tie-breaker).
CREATE INDEX ${indexName(t, 'tenant_captured_idx')} ON ${t} (tenant_id, captured_at DESC, lead_id DESC);
`;
}

function project(event: EventEnvelope, tables: Tables): readonly SqlStatement[] {
  if (!isHandled(event)) return [];
  const { leads: t } = physicalNames(tables, TABLES);
  const tenant = event.tenantId;

  /**
   * An UPDATE of the lead's own stream: `sets` use $4.. (after tenant, lead, touched time), then the
   * bookkeeping every lead event does, and the inactivity deadline computed from the NEW values in the
   * same statement (SET expressions see the old row, so the new status and activity time are spelled
   * out): one row version per event, not two.
   */
  const touch = (leadId: string, touchedAt: string, change: { status?: string; sets?: string[]; params?: unknown[] }): SqlStatement[] => {
    const { status, sets = [], params = [] } = change;
    const all = [tenant, leadId, touchedAt, ...params, event.occurredAt, int8(event.streamRevision), int8(event.position)];
    const n = all.length;
    const lastActivity = `greatest(last_activity_at, $3::timestamptz)`;
    return [
      statement(
        `UPDATE ${t} SET ${[
          ...(status === undefined ? [] : [`status = ${status}`]),
          ...sets,
          `last_activity_at = ${lastActivity}`,
          `inactive_at = ${inactiveAt(status ?? 'status', lastActivity)}`,
          `updated_at = $${n - 2}::timestamptz`,
          `revision = $${n - 1}::bigint`,
          `position = $${n}::bigint`,
        ].join(', ')}
         WHERE tenant_id = $1 AND lead_id = $2`,
        all,
      ),
    ];
  };

  switch (event.type) {
    case 'LeadCaptured': {
      const d = event.data;
      return [
        statement(
          `INSERT INTO ${t} (tenant_id, lead_id, name, email, phone, notes, company, source, campaign, owner_id, status,
             captured_at, last_activity_at, inactive_at, updated_at, revision, position)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'New', $11::timestamptz, $11::timestamptz,
             ${inactiveAt(`'New'`, '$11::timestamptz', 'NULL')}, $12::timestamptz, $13::bigint, $14::bigint)
           ON CONFLICT (tenant_id, lead_id) DO NOTHING`,
          [
            tenant,
            d.leadId,
            d.name,
            d.email ?? null,
            d.phone ?? null,
            d.notes ?? null,
            d.company ?? null,
            d.source,
            d.campaign ?? null,
            d.ownerId ?? null,
            d.capturedAt,
            event.occurredAt,
            int8(event.streamRevision),
            int8(event.position),
          ],
        ),
      ];
    }
    case 'LeadAssigned':
      return touch(event.data.leadId, event.occurredAt, { sets: ['owner_id = $4'], params: [event.data.ownerId] });
    case 'LeadQualified': {
      const d = event.data;
      return touch(d.leadId, event.occurredAt, {
        status: `'Qualified'`,
        sets: [
          'bant_budget_minor = $4::bigint',
          'bant_budget_currency = $5',
          'bant_authority = $6',
          'bant_need = $7',
          'bant_timeline = $8',
          'qualified_at = $3::timestamptz',
          'lost_reason = NULL',
          'lost_at = NULL',
        ],
        params: [d.budget?.amountMinor ?? null, d.budget?.currency ?? null, d.authority, d.need, d.timeline],
      });
    }
    case 'LeadStatusChanged': {
      const d = event.data;
      // The lost reason describes the current Lost state; leaving Lost (→ Nurturing) clears it.
      const lost = d.to === 'Lost';
      return touch(d.leadId, event.occurredAt, {
        status: '$4',
        sets: ['lost_reason = $5', `lost_at = ${lost ? '$3::timestamptz' : 'NULL'}`],
        params: [d.to, lost ? (d.reason ?? null) : null],
      });
    }
    case 'LeadScored':
      return touch(event.data.leadId, event.occurredAt, {
        sets: ['score = $4', 'score_factors = $5::jsonb', 'scored_at = $3::timestamptz'],
        params: [event.data.score, JSON.stringify(event.data.factors)],
      });
    case 'LeadActivityLogged': {
      const d = event.data;
      // The later of when it happened and when it was logged: logging a back-dated call is a touch too.
      const touchedAt = Date.parse(d.occurredAt) > Date.parse(event.occurredAt) ? d.occurredAt : event.occurredAt;
      // The summary stays in the event (audit trail): the row keeps no more personal text than it needs.
      return touch(d.leadId, touchedAt, { sets: ['last_activity_kind = $4'], params: [d.kind] });
    }
    case 'LeadConverted': {
      const d = event.data;
      return touch(d.leadId, event.occurredAt, {
        status: `'Converted'`,
        sets: ['converted_contact_id = $4', 'converted_deal_id = $5', 'converted_at = $3::timestamptz'],
        params: [d.contactId, d.dealId ?? null],
      });
    }
    case 'LeadErased':
      return [
        statement(
          `UPDATE ${t} SET ${nullPersonal(personalColumns.leads)}, erased_at = coalesce(erased_at, $3::timestamptz), inactive_at = NULL,
             updated_at = $3::timestamptz, revision = $4::bigint, position = $5::bigint
           WHERE tenant_id = $1 AND lead_id = $2`,
          [tenant, event.data.leadId, event.occurredAt, int8(event.streamRevision), int8(event.position)],
        ),
      ];
    case 'SubjectErased':
      // From the consent stream: revision/position stay those of the lead's own stream.
      if (event.data.subjectType !== 'lead') return [];
      return [
        statement(
          `UPDATE ${t} SET ${nullPersonal(personalColumns.leads)}, erased_at = coalesce(erased_at, $3::timestamptz), inactive_at = NULL
           WHERE tenant_id = $1 AND lead_id = $2`,
          [tenant, event.data.subjectId, event.data.erasedAt],
        ),
      ];
    default:
      return assertNever(event);
  }
}

export const leadsProjection: PostgresReadModel = {
  name: 'leads',
  // 2: the (tenant_id, captured_at DESC, lead_id DESC) index of the query API's default order.
  version: 2,
  tables: TABLES,
  eventTypes,
  personalColumns,
  personalSources,
  ddl,
  project,
};

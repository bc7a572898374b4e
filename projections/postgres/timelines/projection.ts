import type { SqlStatement, Tables } from '../../kernel/projection.js';
import type { EventEnvelope } from '../../../schemas/events/registry.js';
import { type TimelineEntryType, timelinesView, timelineLinksView } from '../../../schemas/read-models/postgres/timelines.js';
import {
  assertNever,
  handles,
  indexName,
  int8,
  nullPersonal,
  physicalNames,
  statement,
  streamEntityId,
  type PostgresReadModel,
} from '../sql.js';
import { personalColumnsOf, type PersonalSources } from '../personal-columns.js';

/**
 * Read model `timelines`: per contact, one row per meaningful event touching it, newest first by
 * (occurred_at, position). Rows come from four streams: the contact's own, its consent stream, the
 * deals opened for it and the lead it was converted from.
 *
 * - Key (tenant_id, contact_id, position): one event may touch two contacts (a merge writes
 *   `merged_into` on the duplicate and `merged_from` on the survivor). The duplicate's own history
 *   stays under its id; a reader shows a survivor's full story by also reading the contacts whose
 *   `merged_into` is the survivor (contacts read model).
 * - `occurred_at` is the business time when the event has one (interaction time, consent granted /
 *   withdrawn at), else the envelope time; `recorded_at` is always the envelope time.
 * - `details` holds only non-personal summary fields; personal text (an interaction's summary and
 *   outcome, a consent's source) is in `summary` / `outcome`, which erasure nulls; `erased_at` marks
 *   every entry of an erased subject (the first erasure event's time).
 *   The entries themselves stay: that something happened, when and by whom is not personal data of
 *   the subject and the audit needs it.
 * - Deal events after DealOpened do not name the contact, and ConsentWithdrawn does not say whether
 *   its subject is a contact or a lead, so the model keeps `timeline_links`: deal → contact (from
 *   DealOpened) and the ids known to be lead subjects (from ConsentGranted / SubjectErasureRequested /
 *   SubjectErased with subjectType lead). Each stream is applied in order, so a link is always in
 *   place before the events that need it. A withdrawal for a lead never seen granting anything lands
 *   under the lead's id, where no contact query reaches it, and is redacted with that subject.
 */
const TABLES = [timelinesView.name, timelineLinksView.name] as const;
const eventTypes = [
  'ContactCreated',
  'ContactUpdated',
  'ContactInteractionLogged',
  'ContactMerged',
  'ContactErased',
  'ConsentGranted',
  'ConsentWithdrawn',
  'SubjectErasureRequested',
  'SubjectErased',
  'DealOpened',
  'DealStageMoved',
  'DealValueChanged',
  'DealWon',
  'DealLost',
  'DealReopened',
  'LeadConverted',
] as const;
const isHandled = handles(eventTypes);

/** Where each personal field of the handled events is kept (personal-columns.ts): the personal columns derive from it. */
const personalSources: PersonalSources = {
  // Entries name what changed, never the values.
  ...Object.fromEntries(['firstName', 'lastName', 'email', 'phone', 'customFields.*'].flatMap((f) => [[`ContactCreated.${f}`, null], [`ContactUpdated.${f}`, null]])),
  'ContactInteractionLogged.summary': 'timelines.summary',
  'ContactInteractionLogged.outcome': 'timelines.outcome',
  'ConsentGranted.source': 'timelines.summary',
  'ConsentWithdrawn.source': 'timelines.summary',
};
const personalColumns = personalColumnsOf(TABLES, personalSources);

function ddl(tables: Tables): string {
  const { timelines: t, timeline_links: l } = physicalNames(tables, TABLES);
  return `
CREATE TABLE ${t} (
  tenant_id   text        NOT NULL,
  contact_id  uuid        NOT NULL,
  position    bigint      NOT NULL,
  entry_type  text        NOT NULL,
  event_type  text        NOT NULL,
  event_id    text        NOT NULL,
  occurred_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL,
  actor_id    text        NOT NULL,
  related_id  uuid,
  details     jsonb       NOT NULL,
  -- personal (nulled by erasure)
  summary     text,
  outcome     text,
  erased_at   timestamptz,
  PRIMARY KEY (tenant_id, contact_id, position)
);
CREATE INDEX ${indexName(t, 'tenant_contact_time_idx')} ON ${t} (tenant_id, contact_id, occurred_at DESC, position DESC);
CREATE INDEX ${indexName(t, 'tenant_related_idx')} ON ${t} (tenant_id, related_id) WHERE related_id IS NOT NULL;

CREATE TABLE ${l} (
  tenant_id  text NOT NULL,
  ref_id     uuid NOT NULL,
  kind       text NOT NULL CHECK (kind IN ('deal', 'lead_subject')),
  contact_id uuid,
  PRIMARY KEY (tenant_id, ref_id)
);
`;
}

interface Entry {
  readonly entryType: TimelineEntryType;
  readonly occurredAt?: string;
  readonly relatedId?: string | undefined;
  readonly details: Record<string, unknown>;
  readonly summary?: string | undefined;
  readonly outcome?: string | undefined;
}

/** Drops undefined values so `details` stays compact and stable. */
function compact(details: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(details).filter(([, v]) => v !== undefined));
}

function project(event: EventEnvelope, tables: Tables): readonly SqlStatement[] {
  if (!isHandled(event)) return [];
  const { timelines: t, timeline_links: l } = physicalNames(tables, TABLES);
  const tenant = event.tenantId;

  /**
   * Inserts one entry. `contact` is either a contact id, or a SQL source: `{ from }` whose select list
   * yields the contact id as `contact_id`, with $13 bound to `ref`.
   */
  const insert = (entry: Entry, contact: string | { select: string; from: string; ref: string }): SqlStatement => {
    const params: unknown[] = [
      tenant,
      int8(event.position),
      entry.entryType,
      event.type,
      event.eventId,
      entry.occurredAt ?? event.occurredAt,
      event.occurredAt,
      event.actor.userId,
      entry.relatedId ?? null,
      JSON.stringify(compact(entry.details)),
      entry.summary ?? null,
      entry.outcome ?? null,
      typeof contact === 'string' ? contact : contact.ref,
    ];
    const [select, from] = typeof contact === 'string' ? ['$13::uuid', ''] : [contact.select, contact.from];
    return statement(
      `INSERT INTO ${t} (tenant_id, contact_id, position, entry_type, event_type, event_id, occurred_at, recorded_at, actor_id,
         related_id, details, summary, outcome)
       SELECT $1, ${select}, $2::bigint, $3, $4, $5, $6::timestamptz, $7::timestamptz, $8, $9::uuid, $10::jsonb, $11, $12 ${from}
       ON CONFLICT (tenant_id, contact_id, position) DO NOTHING`,
      params,
    );
  };
  const forDeal = (dealId: string) => ({
    select: 'l.contact_id',
    from: `FROM ${l} l WHERE l.tenant_id = $1 AND l.ref_id = $13::uuid AND l.kind = 'deal'`,
    ref: dealId,
  });
  const link = (refId: string, kind: 'deal' | 'lead_subject', contactId: string | null): SqlStatement =>
    statement(
      `INSERT INTO ${l} (tenant_id, ref_id, kind, contact_id) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, ref_id) DO NOTHING`,
      [tenant, refId, kind, contactId],
    );
  const redact = (subjectId: string, at: string): SqlStatement =>
    statement(
      `UPDATE ${t} SET ${nullPersonal(personalColumns.timelines)}, erased_at = coalesce(erased_at, $3::timestamptz)
       WHERE tenant_id = $1 AND contact_id = $2`,
      [tenant, subjectId, at],
    );

  switch (event.type) {
    case 'ContactCreated': {
      const d = event.data;
      return [
        insert(
          {
            entryType: 'contact_created',
            relatedId: d.convertedFromLeadId,
            details: { company: d.company, title: d.title, tags: d.tags, convertedFromLeadId: d.convertedFromLeadId },
          },
          d.contactId,
        ),
      ];
    }
    case 'ContactUpdated': {
      const { contactId, customFields, ...changed } = event.data;
      const changedFields = Object.keys(changed).filter((k) => changed[k as keyof typeof changed] !== undefined);
      if (customFields !== undefined) changedFields.push('customFields');
      // Names of the changed fields only: the values may be personal.
      return [
        insert(
          {
            entryType: 'contact_updated',
            details: { changedFields, customFieldKeys: customFields === undefined ? undefined : Object.keys(customFields) },
          },
          contactId,
        ),
      ];
    }
    case 'ContactInteractionLogged': {
      const d = event.data;
      return [
        insert(
          {
            entryType: 'interaction',
            occurredAt: d.occurredAt,
            details: { kind: d.kind, channel: d.channel, direction: d.direction, marketingPurpose: d.marketingPurpose },
            summary: d.summary,
            outcome: d.outcome,
          },
          d.contactId,
        ),
      ];
    }
    case 'ContactMerged': {
      const d = event.data;
      return [
        insert({ entryType: 'merged_into', relatedId: d.survivorId, details: { survivorId: d.survivorId } }, d.contactId),
        insert({ entryType: 'merged_from', relatedId: d.contactId, details: { duplicateId: d.contactId } }, d.survivorId),
      ];
    }
    case 'ContactErased':
      // Entry first, then redact: every entry of the subject, the erasure's own included, ends up marked
      // erased, so a duplicate delivery (redact again) changes nothing.
      return [insert({ entryType: 'contact_erased', details: {} }, event.data.contactId), redact(event.data.contactId, event.occurredAt)];
    case 'ConsentGranted': {
      const d = event.data;
      if (d.subjectType === 'lead') return [link(d.subjectId, 'lead_subject', null)];
      return [
        insert(
          {
            entryType: 'consent_granted',
            occurredAt: d.grantedAt,
            details: { purpose: d.purpose, lawfulBasis: d.lawfulBasis, noticeVersion: d.noticeVersion },
            summary: d.source,
          },
          d.subjectId,
        ),
      ];
    }
    case 'ConsentWithdrawn': {
      const d = event.data;
      return [
        insert(
          { entryType: 'consent_withdrawn', occurredAt: d.withdrawnAt, details: { purpose: d.purpose }, summary: d.source },
          {
            select: '$13::uuid',
            from: `WHERE NOT EXISTS (SELECT 1 FROM ${l} l WHERE l.tenant_id = $1 AND l.ref_id = $13::uuid AND l.kind = 'lead_subject')`,
            ref: d.subjectId,
          },
        ),
      ];
    }
    case 'SubjectErasureRequested': {
      const d = event.data;
      if (d.subjectType === 'lead') return [link(d.subjectId, 'lead_subject', null)];
      return [
        insert(
          { entryType: 'erasure_requested', occurredAt: d.requestedAt, details: { reason: d.reason, requestedBy: d.requestedBy } },
          d.subjectId,
        ),
      ];
    }
    case 'SubjectErased': {
      const d = event.data;
      // Redact whatever sits under the subject's id, whichever its type (see the lead-withdrawal note above).
      if (d.subjectType === 'lead') return [link(d.subjectId, 'lead_subject', null), redact(d.subjectId, d.erasedAt)];
      return [insert({ entryType: 'subject_erased', occurredAt: d.erasedAt, details: {} }, d.subjectId), redact(d.subjectId, d.erasedAt)];
    }
    case 'DealOpened': {
      const d = event.data;
      return [
        link(d.dealId, 'deal', d.contactId),
        insert(
          {
            entryType: 'deal_opened',
            relatedId: d.dealId,
            details: {
              name: d.name,
              pipeline: d.pipeline,
              stage: d.stage,
              probability: d.probability,
              valueMinor: d.value.amountMinor,
              currency: d.value.currency,
              expectedCloseDate: d.expectedCloseDate,
            },
          },
          d.contactId,
        ),
      ];
    }
    case 'DealStageMoved': {
      const dealId = streamEntityId(event, 'deal');
      const d = event.data;
      return [insert({ entryType: 'deal_stage_moved', relatedId: dealId, details: { from: d.from, to: d.to, probability: d.probability } }, forDeal(dealId))];
    }
    case 'DealValueChanged': {
      const dealId = streamEntityId(event, 'deal');
      const d = event.data;
      return [
        insert(
          {
            entryType: 'deal_value_changed',
            relatedId: dealId,
            details: { fromMinor: d.from.amountMinor, fromCurrency: d.from.currency, toMinor: d.to.amountMinor, toCurrency: d.to.currency },
          },
          forDeal(dealId),
        ),
      ];
    }
    case 'DealWon': {
      const dealId = streamEntityId(event, 'deal');
      const d = event.data;
      return [
        insert(
          { entryType: 'deal_won', relatedId: dealId, details: { stage: d.stage, valueMinor: d.value.amountMinor, currency: d.value.currency } },
          forDeal(dealId),
        ),
      ];
    }
    case 'DealLost': {
      const dealId = streamEntityId(event, 'deal');
      const d = event.data;
      return [
        insert(
          {
            entryType: 'deal_lost',
            relatedId: dealId,
            details: { stage: d.stage, valueMinor: d.value.amountMinor, currency: d.value.currency, reason: d.reason, competitor: d.competitor },
          },
          forDeal(dealId),
        ),
      ];
    }
    case 'DealReopened': {
      const dealId = streamEntityId(event, 'deal');
      const d = event.data;
      return [insert({ entryType: 'deal_reopened', relatedId: dealId, details: { stage: d.stage, probability: d.probability } }, forDeal(dealId))];
    }
    case 'LeadConverted': {
      const d = event.data;
      return [insert({ entryType: 'lead_converted', relatedId: d.leadId, details: { leadId: d.leadId, dealId: d.dealId } }, d.contactId)];
    }
    default:
      return assertNever(event);
  }
}

export const timelinesProjection: PostgresReadModel = {
  name: 'timelines',
  version: 1,
  tables: TABLES,
  eventTypes,
  personalColumns,
  personalSources,
  ddl,
  project,
};

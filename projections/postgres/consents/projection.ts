import type { SqlStatement, Tables } from '../../kernel/projection.js';
import type { EventEnvelope } from '../../../schemas/events/registry.js';
import { consentsView, erasedSubjectsView } from '../../../schemas/read-models/postgres/consents.js';
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
 * Read model `consents`: the current consent of each data subject (contact or lead) per purpose, and
 * `erased_subjects`, one row per subject whose erasure was requested or done.
 *
 * - A row is upserted by every grant or withdrawal of its (subject, purpose). A withdrawal keeps the
 *   lawful basis, notice version and grant time of the grant it withdraws; `source` and `changed_at`
 *   are those of the latest change (business time: grantedAt / withdrawnAt).
 * - ConsentWithdrawn does not carry the subject type: it is taken from any other row of the same
 *   subject, and stays NULL for a subject whose first consent event is a withdrawal.
 * - Erasure nulls the personal column (`source`, free text that often names the subject) and sets
 *   `erased_at`; purpose, basis, notice version and times remain as proof that a consent existed.
 *   The status is left as the subject last set it: "active consent" is `status = 'granted' AND
 *   erased_at IS NULL` (see `activeConsentSql` in schemas/read-models).
 */
const TABLES = [consentsView.name, erasedSubjectsView.name] as const;
const eventTypes = ['ConsentGranted', 'ConsentWithdrawn', 'SubjectErasureRequested', 'SubjectErased'] as const;
const isHandled = handles(eventTypes);

/** Where each personal field of the handled events is kept (personal-columns.ts): the personal columns derive from it. */
const personalSources: PersonalSources = {
  'ConsentGranted.source': 'consents.source',
  'ConsentWithdrawn.source': 'consents.source',
};
const personalColumns = personalColumnsOf(TABLES, personalSources);

function ddl(tables: Tables): string {
  const { consents: t, erased_subjects: e } = physicalNames(tables, TABLES);
  return `
CREATE TABLE ${t} (
  tenant_id      text        NOT NULL,
  subject_id     uuid        NOT NULL,
  purpose        text        NOT NULL,
  subject_type   text        CHECK (subject_type IN ('contact', 'lead')),
  status         text        NOT NULL CHECK (status IN ('granted', 'withdrawn')),
  lawful_basis   text,
  -- personal (nulled by erasure)
  source         text,
  notice_version text,
  granted_at     timestamptz,
  withdrawn_at   timestamptz,
  changed_at     timestamptz NOT NULL,
  erased_at      timestamptz,
  revision       bigint      NOT NULL,
  position       bigint      NOT NULL,
  PRIMARY KEY (tenant_id, subject_id, purpose)
);
CREATE INDEX ${indexName(t, 'tenant_purpose_status_idx')} ON ${t} (tenant_id, purpose, status);

CREATE TABLE ${e} (
  tenant_id    text        NOT NULL,
  subject_id   uuid        NOT NULL,
  subject_type text        NOT NULL CHECK (subject_type IN ('contact', 'lead')),
  status       text        NOT NULL CHECK (status IN ('requested', 'erased')),
  reason       text,
  requested_by text,
  requested_at timestamptz,
  erased_at    timestamptz,
  revision     bigint      NOT NULL,
  position     bigint      NOT NULL,
  PRIMARY KEY (tenant_id, subject_id)
);
CREATE INDEX ${indexName(e, 'tenant_status_idx')} ON ${e} (tenant_id, status, requested_at);
`;
}

function project(event: EventEnvelope, tables: Tables): readonly SqlStatement[] {
  if (!isHandled(event)) return [];
  const { consents: t, erased_subjects: e } = physicalNames(tables, TABLES);
  const tenant = event.tenantId;
  const revision = int8(event.streamRevision);
  const position = int8(event.position);

  switch (event.type) {
    case 'ConsentGranted': {
      const d = event.data;
      return [
        statement(
          `INSERT INTO ${t} (tenant_id, subject_id, purpose, subject_type, status, lawful_basis, source, notice_version,
             granted_at, withdrawn_at, changed_at, revision, position)
           VALUES ($1, $2, $3, $4, 'granted', $5, $6, $7, $8::timestamptz, NULL, $8::timestamptz, $9::bigint, $10::bigint)
           ON CONFLICT (tenant_id, subject_id, purpose) DO UPDATE SET
             subject_type = EXCLUDED.subject_type, status = 'granted', lawful_basis = EXCLUDED.lawful_basis, source = EXCLUDED.source,
             notice_version = EXCLUDED.notice_version, granted_at = EXCLUDED.granted_at, withdrawn_at = NULL,
             changed_at = EXCLUDED.changed_at, revision = EXCLUDED.revision, position = EXCLUDED.position`,
          [tenant, d.subjectId, d.purpose, d.subjectType, d.lawfulBasis, d.source, d.noticeVersion, d.grantedAt, revision, position],
        ),
      ];
    }
    case 'ConsentWithdrawn': {
      const d = event.data;
      return [
        statement(
          `INSERT INTO ${t} (tenant_id, subject_id, purpose, subject_type, status, source, withdrawn_at, changed_at, revision, position)
           VALUES ($1, $2, $3,
             (SELECT s.subject_type FROM ${t} s WHERE s.tenant_id = $1 AND s.subject_id = $2 AND s.subject_type IS NOT NULL LIMIT 1),
             'withdrawn', $4, $5::timestamptz, $5::timestamptz, $6::bigint, $7::bigint)
           ON CONFLICT (tenant_id, subject_id, purpose) DO UPDATE SET
             status = 'withdrawn', source = EXCLUDED.source, withdrawn_at = EXCLUDED.withdrawn_at,
             changed_at = EXCLUDED.changed_at, revision = EXCLUDED.revision, position = EXCLUDED.position`,
          [tenant, d.subjectId, d.purpose, d.source, d.withdrawnAt, revision, position],
        ),
      ];
    }
    case 'SubjectErasureRequested': {
      const d = event.data;
      return [
        statement(
          `INSERT INTO ${e} (tenant_id, subject_id, subject_type, status, reason, requested_by, requested_at, revision, position)
           VALUES ($1, $2, $3, 'requested', $4, $5, $6::timestamptz, $7::bigint, $8::bigint)
           ON CONFLICT (tenant_id, subject_id) DO UPDATE SET
             reason = EXCLUDED.reason, requested_by = EXCLUDED.requested_by, requested_at = EXCLUDED.requested_at,
             revision = EXCLUDED.revision, position = EXCLUDED.position`,
          [tenant, d.subjectId, d.subjectType, d.reason, d.requestedBy, d.requestedAt, revision, position],
        ),
      ];
    }
    case 'SubjectErased': {
      const d = event.data;
      return [
        statement(
          `INSERT INTO ${e} (tenant_id, subject_id, subject_type, status, erased_at, revision, position)
           VALUES ($1, $2, $3, 'erased', $4::timestamptz, $5::bigint, $6::bigint)
           ON CONFLICT (tenant_id, subject_id) DO UPDATE SET
             status = 'erased', erased_at = EXCLUDED.erased_at, revision = EXCLUDED.revision, position = EXCLUDED.position`,
          [tenant, d.subjectId, d.subjectType, d.erasedAt, revision, position],
        ),
        statement(
          `UPDATE ${t} SET ${nullPersonal(personalColumns.consents)}, erased_at = coalesce(erased_at, $3::timestamptz),
             subject_type = coalesce(subject_type, $4)
           WHERE tenant_id = $1 AND subject_id = $2`,
          [tenant, d.subjectId, d.erasedAt, d.subjectType],
        ),
      ];
    }
    default:
      return assertNever(event);
  }
}

export const consentsProjection: PostgresReadModel = {
  name: 'consents',
  version: 1,
  tables: TABLES,
  eventTypes,
  personalColumns,
  personalSources,
  ddl,
  project,
};

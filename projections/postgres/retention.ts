import type { SqlClient } from '../../platform/sql/client.js';
import { activeConsentSql } from '../../schemas/read-models/postgres/consents.js';

/**
 * Retention policies (SPEC: GDPR): which data subjects are due for automatic erasure, read from the read
 * models (their views: the live generation). Per tenant, with a default for every tenant.
 * - a lead Lost for more than `leadLostMonths` (default 24);
 * - a contact with no interaction for `contactInactiveMonths` (default 36; a contact never contacted
 *   counts from its creation) and no active consent, nor any consent change, within that time.
 * Already erased subjects are never candidates; merged contacts are (the duplicate still holds personal data).
 */
export interface RetentionPolicy {
  readonly leadLostMonths: number;
  readonly contactInactiveMonths: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { leadLostMonths: 24, contactInactiveMonths: 36 };

export interface RetentionCandidate {
  readonly tenantId: string;
  readonly subjectId: string;
  readonly rule: 'lead-lost' | 'contact-inactive';
}

export async function retentionCandidates(
  sql: SqlClient,
  options: { now: Date; policy?: RetentionPolicy; perTenant?: Readonly<Record<string, RetentionPolicy>>; limit?: number; /** One tenant only (a dpo's run). */ tenantId?: string },
): Promise<RetentionCandidate[]> {
  const policy = options.policy ?? DEFAULT_RETENTION;
  const overrides = Object.entries(options.perTenant ?? {});
  // One statement per rule: tenants with an override use theirs, every other tenant the default.
  const tenants = overrides.map(([t]) => t);
  const leadMonths = overrides.map(([, p]) => p.leadLostMonths);
  const contactMonths = overrides.map(([, p]) => p.contactInactiveMonths);
  const limit = options.limit ?? 1_000;
  const months = (col: string, def: number) =>
    `make_interval(months => coalesce((SELECT o.m FROM unnest($2::text[], ${col}::int[]) AS o(t, m) WHERE o.t = x.tenant_id), ${Math.trunc(def)}))`;
  const leads = await sql.query<{ tenant_id: string; lead_id: string }>(
    `SELECT x.tenant_id, x.lead_id::text AS lead_id FROM leads x
     WHERE x.status = 'Lost' AND x.erased_at IS NULL AND x.lost_at IS NOT NULL AND ($4::text IS NULL OR x.tenant_id = $4::text)
       AND x.lost_at < $1::timestamptz - ${months('$3', policy.leadLostMonths)}
     ORDER BY x.lost_at LIMIT ${Math.trunc(limit)}`,
    [options.now.toISOString(), tenants, leadMonths, options.tenantId ?? null],
  );
  const contacts = await sql.query<{ tenant_id: string; contact_id: string }>(
    `SELECT x.tenant_id, x.contact_id::text AS contact_id FROM contacts x
     WHERE x.status <> 'erased' AND ($4::text IS NULL OR x.tenant_id = $4::text)
       AND coalesce(x.last_interaction_at, x.created_at) < $1::timestamptz - ${months('$3', policy.contactInactiveMonths)}
       AND NOT EXISTS (SELECT 1 FROM consents c WHERE c.tenant_id = x.tenant_id AND c.subject_id = x.contact_id
                         AND (${activeConsentSql('c')} OR c.changed_at >= $1::timestamptz - ${months('$3', policy.contactInactiveMonths)}))
     ORDER BY coalesce(x.last_interaction_at, x.created_at) LIMIT ${Math.trunc(limit)}`,
    [options.now.toISOString(), tenants, contactMonths, options.tenantId ?? null],
  );
  return [
    ...leads.rows.map((r) => ({ tenantId: r.tenant_id, subjectId: r.lead_id, rule: 'lead-lost' as const })),
    ...contacts.rows.map((r) => ({ tenantId: r.tenant_id, subjectId: r.contact_id, rule: 'contact-inactive' as const })),
  ];
}

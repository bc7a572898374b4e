import { defineView } from './view.js';

/**
 * Read model `leads`: one row per lead, current state. `inactive_at` is WHEN the lead becomes inactive
 * (30 days after its last activity while open and not erased), so the flag is a predicate on now().
 */

/** 30 days, counted in hours so the result does not depend on the session time zone (DST). */
export const LEAD_INACTIVE_AFTER_HOURS = 720;

/** The predicate a reader uses for a lead's `inactive` flag (SPEC: untouched for 30 days), for a leads view alias. */
export function leadInactiveSql(alias: string): string {
  return `(${alias}.inactive_at IS NOT NULL AND ${alias}.inactive_at <= now())`;
}

export interface LeadRow {
  readonly tenant_id: string;
  readonly lead_id: string;
  readonly name: string | null;
  readonly email: string | null;
  readonly phone: string | null;
  readonly notes: string | null;
  readonly bant_need: string | null;
  readonly lost_reason: string | null;
  readonly company: string | null;
  readonly source: string;
  readonly campaign: string | null;
  readonly owner_id: string | null;
  readonly status: 'New' | 'Qualified' | 'Nurturing' | 'Lost' | 'Converted';
  readonly score: number | null;
  readonly score_factors: unknown;
  readonly scored_at: Date | null;
  readonly bant_budget_minor: bigint | null;
  readonly bant_budget_currency: string | null;
  readonly bant_authority: string | null;
  readonly bant_timeline: string | null;
  readonly qualified_at: Date | null;
  readonly lost_at: Date | null;
  readonly converted_contact_id: string | null;
  readonly converted_deal_id: string | null;
  readonly converted_at: Date | null;
  readonly last_activity_kind: string | null;
  readonly captured_at: Date;
  readonly last_activity_at: Date;
  readonly inactive_at: Date | null;
  readonly erased_at: Date | null;
  readonly updated_at: Date;
  readonly revision: bigint;
  readonly position: bigint;
}

export const leadsView = defineView<LeadRow>()('leads', [
  'tenant_id', 'lead_id', 'name', 'email', 'phone', 'notes', 'bant_need', 'lost_reason', 'company', 'source',
  'campaign', 'owner_id', 'status', 'score', 'score_factors', 'scored_at', 'bant_budget_minor', 'bant_budget_currency',
  'bant_authority', 'bant_timeline', 'qualified_at', 'lost_at', 'converted_contact_id', 'converted_deal_id',
  'converted_at', 'last_activity_kind', 'captured_at', 'last_activity_at', 'inactive_at', 'erased_at', 'updated_at',
  'revision', 'position',
]);

import { defineView } from './view.js';

/**
 * Read model `consents`: the current consent of each data subject per purpose, and `erased_subjects`,
 * one row per subject whose erasure was requested or done.
 */

/**
 * The predicate a reader uses for "this subject currently consents to this purpose", for a consents view
 * alias: erasure leaves the status as the subject last set it, so an erased subject's grant is not active.
 */
export function activeConsentSql(alias: string): string {
  return `(${alias}.status = 'granted' AND ${alias}.erased_at IS NULL)`;
}

export interface ConsentRow {
  readonly tenant_id: string;
  readonly subject_id: string;
  readonly purpose: string;
  readonly subject_type: 'contact' | 'lead' | null;
  readonly status: 'granted' | 'withdrawn';
  readonly lawful_basis: string | null;
  readonly source: string | null;
  readonly notice_version: string | null;
  readonly granted_at: Date | null;
  readonly withdrawn_at: Date | null;
  readonly changed_at: Date;
  readonly erased_at: Date | null;
  readonly revision: bigint;
  readonly position: bigint;
}

export const consentsView = defineView<ConsentRow>()('consents', [
  'tenant_id', 'subject_id', 'purpose', 'subject_type', 'status', 'lawful_basis', 'source', 'notice_version',
  'granted_at', 'withdrawn_at', 'changed_at', 'erased_at', 'revision', 'position',
]);

export interface ErasedSubjectRow {
  readonly tenant_id: string;
  readonly subject_id: string;
  readonly subject_type: 'contact' | 'lead';
  readonly status: 'requested' | 'erased';
  readonly reason: string | null;
  readonly requested_by: string | null;
  readonly requested_at: Date | null;
  readonly erased_at: Date | null;
  readonly revision: bigint;
  readonly position: bigint;
}

export const erasedSubjectsView = defineView<ErasedSubjectRow>()('erased_subjects', [
  'tenant_id', 'subject_id', 'subject_type', 'status', 'reason', 'requested_by', 'requested_at', 'erased_at',
  'revision', 'position',
]);

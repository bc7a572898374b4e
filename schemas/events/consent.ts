import { z } from 'zod';
import { ConsentPurpose, Id, IsoDateTime, Text, UserId } from './common.js';
import { defineEvent } from './define.js';
import { personal } from './personal-data.js';

/**
 * Consent events: one stream per data subject (`consent-<subjectId>`), whether contact or lead.
 * The erasure events live here too, so a subject's whole GDPR history is one ordered stream.
 */

export const SubjectType = z.enum(['contact', 'lead']);
export type SubjectType = z.infer<typeof SubjectType>;

/** GDPR art. 6(1) (a)–(f). */
export const LawfulBasis = z.enum(['consent', 'contract', 'legal_obligation', 'vital_interests', 'public_task', 'legitimate_interests']);
export type LawfulBasis = z.infer<typeof LawfulBasis>;

/**
 * Where the grant or withdrawal was captured ("web form /newsletter", "call with J. Doe on …").
 * Personal: it is free text about the subject's own act and often names them or quotes them, and the
 * subject's key is always at hand on this stream. After erasure the event still proves *that* a
 * consent existed (purpose, basis, notice, time), only not the source text.
 */
export const ConsentSource = personal(
  Text.trim().min(1, 'source must not be empty').max(500, 'source is at most 500 characters'),
  'text',
);

/** The version of the privacy notice the subject was shown, e.g. `2024-05` or `v3.1`. */
export const NoticeVersion = Text
  .trim()
  .min(1, 'notice version must not be empty')
  .max(64, 'notice version is at most 64 characters');

/**
 * Grounds for erasure (GDPR art. 17(1) plus retention). An enum, not free text, because the reason must
 * stay readable after the subject's key is destroyed, so it may not hold personal data.
 */
export const ErasureReason = z.enum([
  'subject_request',
  'consent_withdrawn',
  'objection',
  'unlawful_processing',
  'legal_obligation',
  'retention_policy',
]);
export type ErasureReason = z.infer<typeof ErasureReason>;

export const ConsentGranted = defineEvent(
  'ConsentGranted',
  1,
  z.object({
    subjectId: Id,
    subjectType: SubjectType,
    purpose: ConsentPurpose,
    lawfulBasis: LawfulBasis,
    source: ConsentSource,
    noticeVersion: NoticeVersion,
    grantedAt: IsoDateTime,
  }),
);

export const ConsentWithdrawn = defineEvent(
  'ConsentWithdrawn',
  1,
  z.object({ subjectId: Id, purpose: ConsentPurpose, source: ConsentSource, withdrawnAt: IsoDateTime }),
);

export const SubjectErasureRequested = defineEvent(
  'SubjectErasureRequested',
  1,
  z.object({
    subjectId: Id,
    subjectType: SubjectType,
    /** The user (dpo/admin, or the retention job's service user) who asked; not the subject. */
    requestedBy: UserId,
    reason: ErasureReason,
    requestedAt: IsoDateTime,
  }),
);

/** Deliberately no personal data: it is appended after the key is destroyed and must stay readable. */
export const SubjectErased = defineEvent(
  'SubjectErased',
  1,
  z.object({ subjectId: Id, subjectType: SubjectType, erasedAt: IsoDateTime }),
);

export const consentEvents = [ConsentGranted, ConsentWithdrawn, SubjectErasureRequested, SubjectErased] as const;

export const ConsentEvent = z.discriminatedUnion('type', [
  ConsentGranted.schema,
  ConsentWithdrawn.schema,
  SubjectErasureRequested.schema,
  SubjectErased.schema,
]);
export type ConsentEvent = z.infer<typeof ConsentEvent>;
export type ConsentEventType = ConsentEvent['type'];
export type ConsentEventOf<T extends ConsentEventType> = Extract<ConsentEvent, { type: T }>;

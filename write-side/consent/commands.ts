import { z } from 'zod';
import { ConsentPurpose, Id } from '../../schemas/events/common.js';
import { ConsentSource, ErasureReason, LawfulBasis, NoticeVersion, SubjectType } from '../../schemas/events/consent.js';
import type { Command } from '../kernel/decider.js';

/**
 * Consent commands. `subjectId` comes from the path (`/api/v1/consents/{subjectId}/…`,
 * `/api/v1/subjects/{subjectId}/erase`) and selects the stream `consent-<subjectId>`; it is repeated in
 * the data so events are self-contained. `subjectType` is filled by the route (body or a lookup of the
 * subject), because the first grant or an erasure may be the first event of the stream.
 */
export const GrantConsentData = z.object({
  subjectId: Id,
  subjectType: SubjectType,
  purpose: ConsentPurpose,
  lawfulBasis: LawfulBasis,
  source: ConsentSource,
  noticeVersion: NoticeVersion,
});
export const WithdrawConsentData = z.object({ subjectId: Id, purpose: ConsentPurpose, source: ConsentSource });
export const RequestErasureData = z.object({
  subjectId: Id,
  subjectType: SubjectType,
  reason: ErasureReason.default('subject_request'),
});
/** Sent by the erasure process once the subject's data key is destroyed. */
export const CompleteErasureData = z.object({ subjectId: Id });

export type GrantConsent = Command<'GrantConsent', z.infer<typeof GrantConsentData>>;
export type WithdrawConsent = Command<'WithdrawConsent', z.infer<typeof WithdrawConsentData>>;
export type RequestErasure = Command<'RequestErasure', z.infer<typeof RequestErasureData>>;
export type CompleteErasure = Command<'CompleteErasure', z.infer<typeof CompleteErasureData>>;

export type ConsentCommand = GrantConsent | WithdrawConsent | RequestErasure | CompleteErasure;

export const consentCommandData = {
  GrantConsent: GrantConsentData,
  WithdrawConsent: WithdrawConsentData,
  RequestErasure: RequestErasureData,
  CompleteErasure: CompleteErasureData,
} as const satisfies Record<ConsentCommand['type'], z.ZodType>;

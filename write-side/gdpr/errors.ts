/**
 * Refusals that mean "the data subject this command names was erased (GDPR)": answered 410 Gone like
 * PII_ERR_SUBJECT_ERASED, whatever the decider's error class, because erasure is final and a client
 * must not retry or "fix" the request (issue 10 §3). Codes stay the deciders' own.
 */
export const ERASED_SUBJECT_CODES: ReadonlySet<string> = new Set(['CONTACT_ERR_ERASED', 'LEAD_ERR_ERASED', 'CONSENT_ERR_SUBJECT_ERASED']);

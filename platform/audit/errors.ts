import { defineErrors } from '../errors/catalogue.js';
import { CodedError } from '../errors/coded-error.js';

/**
 * Refusals of the history readers (GraphQL `auditTrail` / `…AsOf`, `annals replay history`). Each names
 * the argument (`details.field`) so a client can point at it; none echoes the value (it may be anything).
 */
export const AuditErrorCode = defineErrors('AUDIT', {
  /** `at` / `--as-of` is not an ISO 8601 instant with an offset, a year 0001–9999 and an offset within ±14:00. */
  InvalidInstant: 'AUDIT_ERR_INVALID_INSTANT',
  /** The entity id is not a UUID. */
  InvalidId: 'AUDIT_ERR_INVALID_ID',
  /** The `after` cursor is not one this API issued, or was issued for another entity's trail. */
  BadCursor: 'AUDIT_ERR_BAD_CURSOR',
  /** `first` is below 1 or above the maximum page size. */
  BadPageSize: 'AUDIT_ERR_BAD_PAGE_SIZE',
  /** History asked for while this deployment gave the query API no event store (501: configure it). */
  NotConfigured: 'AUDIT_ERR_NOT_CONFIGURED',
});
export type AuditErrorCode = (typeof AuditErrorCode)[keyof typeof AuditErrorCode];

/** A malformed argument: 400, the same class as a request that breaks the published schema. */
export class AuditInputError extends CodedError {
  constructor(code: AuditErrorCode, message: string, field: string) {
    super(code, message, 400, { field });
    this.name = 'AuditInputError';
  }
}

/** The deployment has no history reader (no event store configured for the query API). */
export class AuditNotConfiguredError extends CodedError {
  constructor(field: string) {
    super(AuditErrorCode.NotConfigured, `${field} reads the event store, which this deployment of the query API is not configured with`, 501, { field }, { expose: true });
    this.name = 'AuditNotConfiguredError';
  }
}

import { defineErrors } from '../../platform/errors/catalogue.js';
import { CodedError, STATUS_OF_CLASS, type ErrorClass } from '../../platform/errors/coded-error.js';

export type { ErrorClass };

/**
 * A refusal by the domain (a decider or the shell). Typed and coded on the one base of platform/errors;
 * its class maps to the HTTP status there, in one place (invariant → 422, conflict → 409, not-found → 404,
 * forbidden → 403). Never throw strings.
 */
export class DomainError extends CodedError {
  constructor(
    /** Stable, documented code, e.g. `LEAD_ERR_ALREADY_CONVERTED`. */
    code: string,
    /** The rule that was broken, in words a user understands. */
    message: string,
    readonly errorClass: ErrorClass = 'invariant',
    details?: Record<string, unknown>,
  ) {
    super(code, message, STATUS_OF_CLASS[errorClass], details);
    this.name = 'DomainError';
  }
}

/** The shell's refusals (handle-command), whatever the aggregate. */
export const TenantErrorCode = defineErrors('TENANT', {
  /** A stream of another tenant: answered as not found (SPEC), logged as a security event by the route. */
  NotFound: 'TENANT_ERR_NOT_FOUND',
});
export const StreamErrorCode = defineErrors('STREAM', {
  /** If-Match named another revision than the stream's: 409 with both. */
  RevisionMismatch: 'STREAM_ERR_REVISION_MISMATCH',
  /** Concurrent writers kept winning for every bounded retry: 409. */
  Contended: 'STREAM_ERR_CONTENDED',
});
export const IdempotencyErrorCode = defineErrors('IDEMPOTENCY', {
  /** An Idempotency-Key reused for a different request: 422. */
  KeyReused: 'IDEMPOTENCY_ERR_KEY_REUSED',
});

/** Exhaustiveness check for every `switch` over a union. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}

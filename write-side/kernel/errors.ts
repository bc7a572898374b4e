/**
 * Typed, coded errors. Each carries a status class; the HTTP layer maps classes to status codes in one
 * place (invariant → 422, conflict → 409, not-found → 404, forbidden → 403). Never throw strings.
 */
export type ErrorClass = 'invariant' | 'conflict' | 'not-found' | 'forbidden' | 'validation';

export class DomainError extends Error {
  constructor(
    /** Stable, documented code, e.g. `LEAD_ERR_ALREADY_CONVERTED`. */
    readonly code: string,
    /** The rule that was broken, in words a user understands. */
    message: string,
    readonly errorClass: ErrorClass = 'invariant',
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/** Exhaustiveness check for every `switch` over a union. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}

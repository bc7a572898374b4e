/**
 * THE coded error base of every deployable (GUIDE rule 6). A coded error carries a stable, documented
 * `code` (`LEAD_ERR_ALREADY_CONVERTED`), a message in words a user understands, safe `details`, and the
 * HTTP status it answers with. The command API turns it into problem+json (`code`, `status`), the
 * query API into a GraphQL error (`extensions.code`, `extensions.status`), both through `exposedError`
 * below, so a broken rule reads the same on both APIs.
 */
export class CodedError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** HTTP status; 5xx means "not the client's fault": its message and details are never shown. */
    readonly status: number,
    /** Safe to show and to log: ids, names of fields and rules; never a personal value or a secret. */
    readonly details?: Readonly<Record<string, unknown>>,
    options: ErrorOptions & { readonly expose?: boolean } = {},
  ) {
    super(message, options);
    this.name = 'CodedError';
    this.expose = options.expose ?? status < 500;
  }

  /**
   * Whether a client is shown this error (code, message, details). By default a 4xx is and a 5xx is not;
   * a 5xx raised on purpose with an actionable message (503 "retry", 501 "not configured") opts in.
   */
  readonly expose: boolean;
}

/**
 * The classes a domain refusal falls into, each mapped to its status here and nowhere else. A decider's
 * 'validation' refusal comes after the request passed the published schema (a rule the schema cannot
 * state), so it is 422 like any rule; 400 is for requests that break the published schema.
 */
export type ErrorClass = 'invariant' | 'conflict' | 'not-found' | 'forbidden' | 'validation';
export const STATUS_OF_CLASS: Readonly<Record<ErrorClass, number>> = { validation: 422, forbidden: 403, 'not-found': 404, conflict: 409, invariant: 422 };

/** The code of every error that is not the client's (an unknown error, a 5xx coded error): nothing more is revealed. */
export const INTERNAL_ERROR_CODE = 'HTTP_ERR_INTERNAL'; // HttpErrorCode.Internal (platform/http)
export const INTERNAL_ERROR_MESSAGE = 'an unexpected error occurred; quote the correlationId when reporting it';

/** What a client is shown of an error, the same for problem+json and GraphQL. */
export interface ExposedError {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>>;
  /** false: an internal error; the caller logs it with its stack. */
  readonly expected: boolean;
}

export function exposedError(err: unknown): ExposedError {
  if (err instanceof CodedError && err.expose) {
    return { status: err.status, code: err.code, message: err.message, details: err.details ?? {}, expected: true };
  }
  return { status: 500, code: INTERNAL_ERROR_CODE, message: INTERNAL_ERROR_MESSAGE, details: {}, expected: false };
}

/**
 * A GraphQL error body (`errors[]` entry) for `err`: `extensions.code` is the error's own code, so a
 * client handles `LEAD_ERR_NOT_FOUND` the same way whichever API answered. Fits mercurius' errorFormatter.
 */
export function graphqlErrorOf(err: unknown, correlationId: string): { message: string; extensions: Record<string, unknown> } {
  const e = exposedError(err);
  return { message: e.message, extensions: { ...e.details, code: e.code, status: e.status, correlationId } };
}

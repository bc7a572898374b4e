import { CodedError } from '../errors/coded-error.js';
import { defineErrors } from '../errors/catalogue.js';

/**
 * Coded auth errors. They carry an HTTP status directly (401 / 403) because they are about the request,
 * not the domain; the command API's one error handler turns them into problem+json like any other coded
 * error, and the GraphQL error formatter can put `code` into `extensions.code`.
 */
export const AuthErrorCode = defineErrors('AUTH', {
  /** No `Authorization: Bearer` header. */
  TokenMissing: 'AUTH_ERR_TOKEN_MISSING',
  /** Expired (`exp` in the past) or not yet valid (`nbf`). */
  TokenExpired: 'AUTH_ERR_TOKEN_EXPIRED',
  /** Bad signature, unexpected algorithm (`none` included), wrong issuer or audience, malformed token. */
  TokenInvalid: 'AUTH_ERR_TOKEN_INVALID',
  /** The token verified but `sub`, `tenant` or `roles` are missing or malformed. */
  ClaimsInvalid: 'AUTH_ERR_CLAIMS_INVALID',
  /** Authenticated, but no role of the principal grants the permission the route needs. */
  Forbidden: 'AUTH_ERR_FORBIDDEN',
});
export type AuthErrorCode = (typeof AuthErrorCode)[keyof typeof AuthErrorCode];

export class AuthError extends CodedError {
  declare readonly code: AuthErrorCode;
  readonly statusCode: 401 | 403;
  constructor(
    code: AuthErrorCode,
    message: string,
    /** Safe to show and to log: never the token, never a claim value. */
    details?: Record<string, unknown>,
  ) {
    super(code, message, code === AuthErrorCode.Forbidden ? 403 : 401, details);
    this.name = 'AuthError';
    this.statusCode = code === AuthErrorCode.Forbidden ? 403 : 401;
  }
}

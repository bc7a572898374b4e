import { defineErrors } from '../errors/catalogue.js';
import { CodedError } from '../errors/coded-error.js';

/**
 * Codes of the HTTP layer itself, the same for every fastify app of the product (command API, query
 * API): requests refused before any domain rule runs. Fastify's own request errors are renamed into
 * these, so a client sees one vocabulary. A client error fastify raises that is not listed here answers
 * `HTTP_ERR_<status>`.
 */
export const HttpErrorCode = defineErrors('HTTP', {
  /** The request breaks the published schema (a type, a format, a length, an unknown field): 400, every field listed. */
  Validation: 'HTTP_ERR_VALIDATION',
  /** Well-formed, but breaks a cross-field rule the schema holds as a refinement: 422. */
  RuleBroken: 'HTTP_ERR_RULE_BROKEN',
  MalformedJson: 'HTTP_ERR_MALFORMED_JSON',
  EmptyBody: 'HTTP_ERR_EMPTY_BODY',
  BodyTooLarge: 'HTTP_ERR_BODY_TOO_LARGE',
  UnsupportedMediaType: 'HTTP_ERR_UNSUPPORTED_MEDIA_TYPE',
  InvalidContentLength: 'HTTP_ERR_INVALID_CONTENT_LENGTH',
  /** `__proto__` / `constructor.prototype` in a body. */
  ForbiddenProperty: 'HTTP_ERR_FORBIDDEN_PROPERTY',
  HeadersTooLarge: 'HTTP_ERR_HEADERS_TOO_LARGE',
  MalformedRequest: 'HTTP_ERR_MALFORMED_REQUEST',
  RequestTimeout: 'HTTP_ERR_REQUEST_TIMEOUT',
  RateLimited: 'HTTP_ERR_RATE_LIMITED',
  PathParamTooLong: 'HTTP_ERR_PATH_PARAM_TOO_LONG',
  BadUrl: 'HTTP_ERR_BAD_URL',
  MethodNotAllowed: 'HTTP_ERR_METHOD_NOT_ALLOWED',
  RouteNotFound: 'HTTP_ERR_ROUTE_NOT_FOUND',
  /** Anything that is not the client's fault; reveals nothing but the correlation id. */
  Internal: 'HTTP_ERR_INTERNAL',
});
export type HttpErrorCode = (typeof HttpErrorCode)[keyof typeof HttpErrorCode];

/**
 * A coded error raised by the HTTP layer or a route on purpose (bad header, not configured, retry later):
 * always shown to the client with its code and details, 5xx included.
 */
export class HttpError extends CodedError {
  constructor(
    readonly statusCode: number,
    code: string,
    message: string,
    details?: Record<string, unknown>,
  ) {
    super(code, message, statusCode, details, { expose: true });
    this.name = 'HttpError';
  }
}

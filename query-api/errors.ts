import { defineErrors } from '../platform/errors/catalogue.js';
import { CodedError } from '../platform/errors/coded-error.js';

/**
 * Codes of the query API's own refusals (GraphQL `extensions.code`). A client error is a 4xx-class
 * CodedError, so `graphqlErrorOf` shows its code, message and details; `extensions.field` names the
 * argument or field that was refused. Codes are a published contract: never changed, only added.
 */
export const QueryErrorCode = defineErrors('QUERY', {
  /** The document does not parse (GraphQL syntax error). */
  Syntax: 'QUERY_ERR_SYNTAX',
  /** The document parses but breaks the schema: an unknown field or argument, a wrong argument type, a missing variable. */
  Validation: 'QUERY_ERR_VALIDATION',
  /** Introspection (`__schema`, `__type`) is switched off on this deployment (INTROSPECTION=off). */
  IntrospectionDisabled: 'QUERY_ERR_INTROSPECTION_DISABLED',
  /** Nesting deeper than QUERY_MAX_DEPTH. */
  TooDeep: 'QUERY_ERR_TOO_DEEP',
  /** Estimated cost above QUERY_MAX_COST (see query-api/limits.ts for how cost is counted). */
  TooCostly: 'QUERY_ERR_TOO_COSTLY',
  /** A cursor that is not one this API issued (not base64url JSON of the expected shape). */
  BadCursor: 'QUERY_ERR_BAD_CURSOR',
  /** A cursor issued for another connection, filter or order: paging with it would skip or repeat rows. */
  CursorMismatch: 'QUERY_ERR_CURSOR_MISMATCH',
  /** `first`/`last` above QUERY_MAX_PAGE_SIZE, negative, or both given. */
  PageSize: 'QUERY_ERR_PAGE_SIZE',
  /** An id argument that is not a UUID. */
  InvalidId: 'QUERY_ERR_INVALID_ID',
  /** A date-time argument that is not an ISO-8601 instant with a time zone (or is out of range). */
  InvalidInstant: 'QUERY_ERR_INVALID_INSTANT',
  /** Any other argument value refused: NUL or lone surrogates in a string, a string too long, a range upside down. */
  InvalidArgument: 'QUERY_ERR_INVALID_ARGUMENT',
  /** The GraphQL request itself is malformed (no query, variables that are not an object, a GET mutation). */
  BadRequest: 'QUERY_ERR_BAD_REQUEST',
});
export type QueryErrorCode = (typeof QueryErrorCode)[keyof typeof QueryErrorCode];

/** A refused query (400 class): shown to the client with its code, message and safe details. */
export class QueryError extends CodedError {
  constructor(code: QueryErrorCode, message: string, details?: Record<string, unknown>, status = 400) {
    super(code, message, status, details);
    this.name = 'QueryError';
  }
}

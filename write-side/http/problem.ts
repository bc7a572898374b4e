import type { MappedError } from '../../platform/http/problem.js';
import { createErrorHandler } from '../../platform/http/problem.js';
import { DomainError } from '../kernel/errors.js';
import { ERASED_SUBJECT_CODES } from '../gdpr/errors.js';

// problem+json and the HTTP layer's coded error live in platform/http, shared with the query API.
export { acceptedTypes, FieldError, Problem, problem, PROBLEM_CONTENT_TYPE } from '../../platform/http/problem.js';
export { HttpError } from '../../platform/http/errors.js';

/**
 * What the command API knows better than the shared mapping: a refusal naming an erased subject is 410
 * Gone (final), whatever the decider's error class; the shell's `crossTenant` marker is never shown.
 */
export function mapCommandError(err: unknown): MappedError | undefined {
  if (!(err instanceof DomainError)) return undefined;
  const status = ERASED_SUBJECT_CODES.has(err.code) ? 410 : err.status;
  const { crossTenant: _never, ...details } = err.details ?? {};
  return { status, code: err.code, message: err.message, details };
}

/** THE error handler of the command API (GUIDE rule 6): the shared one with the command API's mapping. */
export const errorHandler = createErrorHandler({ mapError: mapCommandError, rejectedMessage: 'command rejected' });

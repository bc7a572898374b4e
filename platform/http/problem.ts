import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CodedError, INTERNAL_ERROR_MESSAGE } from '../errors/coded-error.js';
import { PiiError, PiiErrorCode } from '../pii/errors.js';
import { HttpErrorCode } from './errors.js';
import './types.js';

/**
 * RFC 9457 problem details, the body of every error an HTTP API of the product answers (the command API
 * today, the query API's non-GraphQL routes next). `code` is the stable,
 * documented machine-readable code (`LEAD_ERR_ALREADY_CONVERTED`, `HTTP_ERR_VALIDATION`, …); `type` is
 * derived from it; `correlationId` lets support find the request's log lines and events.
 */
export const FieldError = z.object({
  /** Where the bad value is: `body.email`, `params.id`, `headers.if-match`. */
  path: z.string(),
  /** The rule it breaks. */
  rule: z.string(),
  /** The zod issue code (`invalid_type`, `too_small`, `unrecognized_keys`, …). */
  issue: z.string(),
});

export const Problem = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    correlationId: z.string(),
    instance: z.string().optional(),
    errors: z.array(FieldError).optional(),
  })
  .meta({ id: 'Problem', description: 'application/problem+json (RFC 9457) with a stable `code` and the request\'s `correlationId`.' });
export type Problem = z.infer<typeof Problem>;

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';
const TYPE_BASE = 'https://annals.dev/problems/';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

/** Fastify's own request errors, renamed into our code space so clients see one vocabulary. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: HttpErrorCode.MalformedJson,
  FST_ERR_CTP_EMPTY_JSON_BODY: HttpErrorCode.EmptyBody,
  FST_ERR_CTP_BODY_TOO_LARGE: HttpErrorCode.BodyTooLarge,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: HttpErrorCode.UnsupportedMediaType,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: HttpErrorCode.InvalidContentLength,
  FST_ERR_RATE_LIMITED: HttpErrorCode.RateLimited,
  FST_ERR_MAX_PARAM_LENGTH: HttpErrorCode.PathParamTooLong,
  FST_ERR_BAD_URL: HttpErrorCode.BadUrl,
};


const RESERVED = new Set(['type', 'title', 'status', 'detail', 'code', 'correlationId', 'instance', 'errors', 'details']);

/**
 * Extension members (`existingId`, `actualRevision`, …) sit beside the standard ones; an error detail
 * whose name collides with a standard member (a deal's `status`) goes under `details` instead.
 */
export function problem(status: number, code: string, detail: string, correlationId: string, extra: Record<string, unknown> = {}): Problem {
  const { instance, errors, ...rest } = extra;
  const members = Object.fromEntries(Object.entries(rest).filter(([k]) => !RESERVED.has(k)));
  const collided = Object.fromEntries(Object.entries(rest).filter(([k]) => RESERVED.has(k)));
  return {
    ...members,
    ...(Object.keys(collided).length ? { details: collided } : {}),
    type: `${TYPE_BASE}${code.toLowerCase().replaceAll('_', '-')}`,
    title: TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error'),
    status,
    detail,
    code,
    correlationId,
    ...(typeof instance === 'string' ? { instance } : {}),
    ...(Array.isArray(errors) ? { errors: errors as Problem['errors'] } : {}),
  };
}

/** What an app's own mapping says about an error it knows better (a status, a code, hidden details). */
export interface MappedError {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface ErrorHandlerOptions {
  /**
   * The app's mapping hook, asked first for every error that is not a request-validation error: return
   * how to answer it, or undefined for the shared mapping (coded errors by their own status and code,
   * fastify's request errors renamed, anything else a 500 that reveals nothing). The command API maps an
   * erased subject's refusal to 410 here; the query API reuses the same for its GraphQL error formatter.
   */
  readonly mapError?: (err: unknown) => MappedError | undefined;
  /** The log line of a refused request (4xx other than 404); default "request rejected". */
  readonly rejectedMessage?: string;
}

/**
 * THE error handler (GUIDE rule 6): every error of every route becomes problem+json here, and nowhere
 * else. Validation lists every bad field; coded errors keep their status and code; fastify's parser
 * errors (malformed JSON 400, body too large 413) keep their status under our codes; anything unknown
 * is a 500 whose detail reveals nothing and whose log line carries the error.
 */
export function createErrorHandler(options: ErrorHandlerOptions = {}): (err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => FastifyReply {
  const rejected = options.rejectedMessage ?? 'request rejected';
  return (err, request, reply) => {
    const correlationId = request.correlationId ?? 'unknown';
    const instance = request.url.split('?')[0];
    let body: Problem;
    const mapped = hasZodFastifySchemaValidationErrors(err) ? undefined : options.mapError?.(err);

    if (hasZodFastifySchemaValidationErrors(err)) {
      const where = (err as FastifyError).validationContext ?? 'body';
      const errors = err.validation.flatMap((v) => {
        const base = `${where}${v.instancePath.replaceAll('/', '.')}`.replace(/\.$/, '');
        // One entry per unknown key, so a client sees exactly which fields to drop.
        if (v.keyword === 'unrecognized_keys' && Array.isArray(v.params.keys)) {
          return (v.params.keys as string[]).map((k) => ({ path: `${base}.${k}`, rule: 'unknown field (bodies are strict: remove it)', issue: v.keyword }));
        }
        return [{ path: base, rule: v.message ?? 'invalid', issue: v.keyword }];
      });
      // A body that passes every published constraint but breaks a rule zod holds as a refinement (a
      // period ending before it starts, …: cross-field rules JSON Schema cannot say) is well-formed and
      // semantically refused: 422, like the deciders' rules. The route's OpenAPI description lists them.
      // Anything else (a type, a format, a length, an unknown field) breaks the published schema: 400.
      const ruleOnly = where === 'body' && err.validation.every((v) => v.keyword === 'custom');
      const [status, code] = ruleOnly ? [422, HttpErrorCode.RuleBroken] : [400, HttpErrorCode.Validation];
      const what = ruleOnly ? `rule${errors.length === 1 ? '' : 's'} broken` : `invalid field${errors.length === 1 ? '' : 's'}`;
      body = problem(status, code, `${errors.length} ${what}: ${errors.map((e) => e.path).join(', ')}`, correlationId, {
        instance,
        errors,
      });
    } else if (mapped) {
      body = problem(mapped.status, mapped.code, mapped.message, correlationId, { instance, ...(mapped.details ?? {}) });
    } else if (err instanceof PiiError && err.code === PiiErrorCode.SubjectErased) {
      // GDPR erasure is final: the subject's key is destroyed and no personal data is written for it again.
      body = problem(410, err.code, 'the data subject of this command was erased (GDPR); no personal data can be recorded for it', correlationId, {
        instance,
        ...(typeof err.details.subjectId === 'string' ? { subjectId: err.details.subjectId } : {}),
      });
    } else if (err instanceof CodedError && err.expose) {
      // Every coded error the client may see (a domain rule, auth, the HTTP layer, a route's deliberate 5xx): its own status and code.
      body = problem(err.status, err.code, err.message, correlationId, { instance, ...(err.details ?? {}) });
    } else if (isClientError(err)) {
      const status = err.statusCode;
      const code = FASTIFY_CODES[err.code ?? ''] ?? `HTTP_ERR_${status}`;
      // Our own words where fastify's message would echo the request (a path parameter, a header).
      const fixed: Record<string, () => string> = {
        [HttpErrorCode.MalformedJson]: () => 'the request body is not valid JSON',
        [HttpErrorCode.PathParamTooLong]: () => 'a path parameter is longer than 100 characters',
        [HttpErrorCode.BadUrl]: () => 'the path is not a valid URL (a bad percent-encoding)',
        [HttpErrorCode.UnsupportedMediaType]: () =>
          `Content-Type ${JSON.stringify(request.headers['content-type'] ?? '(none)')} is not accepted here; send ${acceptedTypes(request).join(' or ')}`,
      };
      const detail = fixed[code]?.() ?? err.message;
      body = problem(status, code, detail, correlationId, { instance });
    } else {
      request.log.error({ err }, 'unhandled error');
      body = problem(500, HttpErrorCode.Internal, INTERNAL_ERROR_MESSAGE, correlationId, { instance });
    }

    if (body.status >= 400 && body.status < 500 && body.status !== 404) {
      request.log.info({ code: body.code, status: body.status }, rejected);
    }
    return reply.code(body.status).type(PROBLEM_CONTENT_TYPE).send(body);
  };
}

/** The body types a route accepts (FastifyContextConfig.accepts; JSON unless the route says otherwise). */
export function acceptedTypes(request: FastifyRequest): readonly string[] {
  return request.routeOptions.config.accepts ?? ['application/json'];
}

function isClientError(err: unknown): err is FastifyError & { statusCode: number } {
  const sc = (err as { statusCode?: unknown }).statusCode;
  return typeof sc === 'number' && sc >= 400 && sc < 500;
}

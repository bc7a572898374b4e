import { GraphQLError, Kind, parse, visit, type ASTNode, type ExecutionResult } from 'graphql';
import { CodedError, exposedError, graphqlErrorOf } from '../platform/errors/coded-error.js';
import { HttpErrorCode } from '../platform/http/errors.js';
import type { Logger } from '../platform/logging/logger.js';
import { QueryErrorCode } from './errors.js';

/**
 * THE GraphQL error formatter (GUIDE rule 6): every error of every area becomes an `errors[]` entry here,
 * and nowhere else, with `extensions.code` (a registered code), `extensions.status`,
 * `extensions.correlationId` and, when known, `extensions.field` (the argument or field refused:
 * `deals.filter.openedAfter`, `contacts.after`). Coded errors keep their own code and status through
 * platform/errors `graphqlErrorOf`, so a code reads the same here and in the command API's problem+json.
 * Anything unexpected is HTTP_ERR_INTERNAL with no message of its own: the stack goes to the log line,
 * never to the client.
 *
 * HTTP status: 200 when there is data (GraphQL over HTTP: partial results are results); else 401/403 for
 * an auth refusal, 400 for a refused request, 500 only for an internal error.
 */
export interface FormattedError {
  readonly message: string;
  readonly locations?: readonly { line: number; column: number }[];
  readonly path?: readonly (string | number)[];
  readonly extensions: Record<string, unknown>;
}

/** fastify's and mercurius' own request errors, into our vocabulary. */
const REQUEST_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: HttpErrorCode.MalformedJson,
  FST_ERR_CTP_EMPTY_JSON_BODY: HttpErrorCode.EmptyBody,
  FST_ERR_CTP_BODY_TOO_LARGE: HttpErrorCode.BodyTooLarge,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: HttpErrorCode.UnsupportedMediaType,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: HttpErrorCode.InvalidContentLength,
  MER_ERR_METHOD_NOT_ALLOWED: HttpErrorCode.MethodNotAllowed,
};

export interface FormatContext {
  readonly correlationId: string;
  readonly log: Logger;
  /** The query text, to name the field of a validation error from its location. */
  readonly source?: string | undefined;
}

export function formatErrors(errors: readonly GraphQLError[], hasData: boolean, fc: FormatContext): { statusCode: number; errors: FormattedError[] } {
  const out: { e: FormattedError; status: number }[] = [];
  for (const error of errors) {
    // mercurius wraps a refused document (syntax, validation) in one error holding the list.
    const inner = (error.originalError as { errors?: unknown } | undefined)?.errors;
    if (Array.isArray(inner) && inner.length > 0) {
      for (const i of inner) out.push(formatOne(i instanceof GraphQLError ? i : new GraphQLError(String((i as Error).message ?? i), { originalError: i as Error }), fc, true));
    } else {
      out.push(formatOne(error, fc, false));
    }
  }
  let statusCode = 200;
  if (!hasData) {
    const statuses = out.map((o) => o.status);
    statusCode = statuses.includes(500) ? 500 : statuses.includes(401) ? 401 : statuses.includes(403) ? 403 : statuses.some((s) => s >= 400) ? Math.max(400, ...statuses.filter((s) => s < 500 && s !== 404)) : 200;
  }
  return { statusCode, errors: out.map((o) => o.e) };
}

function formatOne(error: GraphQLError, fc: FormatContext, documentError: boolean): { e: FormattedError; status: number } {
  // graphql-js nests: a variable's coercion error wraps the scalar's GraphQLError, which wraps ours.
  let original: Error | undefined = error.originalError ?? undefined;
  while (original instanceof GraphQLError) original = original.originalError ?? undefined;
  const where = { ...(error.locations ? { locations: error.locations } : {}), ...(error.path ? { path: error.path } : {}) };
  const field = (details: Record<string, unknown>) => details.field ?? fieldAt(fc.source, error.locations?.[0]) ?? variableOf(error.message);
  const withField = (ext: Record<string, unknown>) => {
    const f = field(ext);
    return f === undefined ? ext : { ...ext, field: f };
  };

  if (original instanceof CodedError) {
    const exposed = exposedError(original);
    if (!exposed.expected) {
      fc.log.error({ err: original }, 'query failed');
      return { e: { message: exposed.message, ...where, extensions: graphqlErrorOf(original, fc.correlationId).extensions }, status: 500 };
    }
    // GraphQL's message around a coded error names the variable or argument ("Variable "$at" got invalid value …").
    const g = graphqlErrorOf(original, fc.correlationId);
    return { e: { message: error.message || g.message, ...where, extensions: withField(g.extensions) }, status: original.status };
  }

  const requestCode = original ? REQUEST_CODES[(original as { code?: string }).code ?? ''] : undefined;
  if (requestCode) {
    const status = (original as { statusCode?: number }).statusCode ?? 400;
    return { e: { message: requestMessage(requestCode, original!), extensions: { code: requestCode, status, correlationId: fc.correlationId } }, status };
  }
  const merCode = original ? (original as { code?: string }).code : undefined;
  if (merCode?.startsWith('MER_ERR_') || (original && isClientError(original))) {
    // No query, variables or extensions that are not JSON objects, a CSRF-prevention refusal.
    return {
      e: { message: `the GraphQL request is malformed: ${safeMessage(original!)}`, extensions: { code: QueryErrorCode.BadRequest, status: 400, correlationId: fc.correlationId } },
      status: 400,
    };
  }

  if (!original && (documentError || !error.path)) {
    // A document error of graphql-js itself: syntax, an unknown field, a wrong argument type, a missing variable.
    const code = error.message.startsWith('Syntax Error')
      ? QueryErrorCode.Syntax
      : /introspection has been disabled/i.test(error.message)
        ? QueryErrorCode.IntrospectionDisabled
        : QueryErrorCode.Validation;
    return { e: { message: error.message, ...where, extensions: withField({ code, status: 400, correlationId: fc.correlationId }) }, status: 400 };
  }

  // A resolver's unexpected failure, or graphql-js refusing a null for a non-null field: our fault.
  fc.log.error({ err: original ?? error, path: error.path }, 'query failed');
  return { e: { message: exposedError(original).message, ...where, extensions: graphqlErrorOf(original, fc.correlationId).extensions }, status: 500 };
}

function requestMessage(code: string, original: Error): string {
  switch (code) {
    case HttpErrorCode.MalformedJson:
      return 'the request body is not valid JSON';
    case HttpErrorCode.UnsupportedMediaType:
      return 'send the GraphQL request as application/json (or application/graphql)';
    default:
      return safeMessage(original);
  }
}

/** An error message of a library, cut short and without control characters (it may echo input). */
function safeMessage(e: Error): string {
  // eslint-disable-next-line no-control-regex
  return String(e.message ?? '').replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 200);
}

function isClientError(e: Error): boolean {
  const s = (e as { statusCode?: unknown }).statusCode;
  return typeof s === 'number' && s >= 400 && s < 500;
}

function variableOf(message: string): string | undefined {
  const m = /^Variable "\$([_A-Za-z][_0-9A-Za-z]*)"/.exec(message);
  return m ? `$${m[1]}` : undefined;
}

/**
 * The path of names (`deals.filter.openedAfter`) of the innermost field, argument or input field at a
 * location of the query: a validation error only carries a line and column.
 */
export function fieldAt(source: string | undefined, location: { line: number; column: number } | undefined): string | undefined {
  if (!source || !location) return undefined;
  let doc;
  try {
    doc = parse(source, { noLocation: false });
  } catch {
    return undefined;
  }
  const lines = source.split(/\r\n|[\n\r]/);
  let offset = 0;
  for (let i = 0; i < location.line - 1 && i < lines.length; i++) offset += lines[i]!.length + 1;
  offset += location.column - 1;
  const stack: string[] = [];
  let best: string | undefined;
  const named = (node: ASTNode): string | undefined =>
    node.kind === Kind.FIELD ? (node.alias?.value ?? node.name.value) : node.kind === Kind.ARGUMENT || node.kind === Kind.OBJECT_FIELD ? node.name.value : undefined;
  visit(doc, {
    enter(node) {
      const name = named(node);
      if (name === undefined) return;
      stack.push(name);
      if (node.loc && node.loc.start <= offset && offset < node.loc.end) best = stack.join('.');
    },
    leave(node) {
      if (named(node) !== undefined) stack.pop();
    },
  });
  return best;
}

/** mercurius' errorFormatter, bound to our logger: the context gives the request's correlation id. */
export function createErrorFormatter(fallbackLog: Logger) {
  return (execution: ExecutionResult & { errors: readonly GraphQLError[] }, context: unknown) => {
    const ctx = context as { reply?: { request?: { correlationId?: string; log?: Logger } }; __currentQuery?: unknown } | undefined;
    const request = ctx?.reply?.request;
    const { statusCode, errors } = formatErrors(execution.errors, execution.data !== undefined && execution.data !== null, {
      correlationId: request?.correlationId || 'unknown',
      log: request?.log ?? fallbackLog,
      source: typeof ctx?.__currentQuery === 'string' ? ctx.__currentQuery : querySourceOf(request),
    });
    return { statusCode, response: { data: execution.data ?? null, errors } };
  };
}

function querySourceOf(request: unknown): string | undefined {
  const r = request as { body?: { query?: unknown }; query?: { query?: unknown } } | undefined;
  const q = r?.body?.query ?? r?.query?.query;
  return typeof q === 'string' ? q : undefined;
}

import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifySchemaCompiler } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import mercurius from 'mercurius';
import { NoSchemaIntrospectionCustomRule, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { TokenVerifier } from '../platform/auth/verify.js';
import { authenticate, frameworkErrorsTo, registerCorrelationId } from '../platform/http/shell.js';
import { createErrorHandler, problem, PROBLEM_CONTENT_TYPE } from '../platform/http/problem.js';
import { HttpError, HttpErrorCode } from '../platform/http/errors.js';
import type { Logger } from '../platform/logging/logger.js';
import type { SqlClient } from '../platform/sql/client.js';
import { DEFAULT_LIMITS, type QueryLimits } from './config.js';
import { createContext, type QueryContext, type QueryServices } from './context.js';
import { createErrorFormatter } from './format-error.js';
import { assembleSchema, type GraphqlArea } from './graphql/area.js';
import { areas as defaultAreas } from './graphql/index.js';
import { limitEnforcer } from './limits.js';
import { registerReadDb } from './plugins/read-db.js';
import { cachingVerifier } from './token-cache.js';
import { noConsistencyGate, type ConsistencyGate } from './consistency/gate.js';
import { mergeReadModelMaps, postgresReadModelMap } from './consistency/models.js';
import { registerConsistency } from './consistency/plugin.js';
import './error-catalogue.js';

/**
 * The query API (GraphQL, SPEC "GraphQL"): fastify + mercurius over the PostgreSQL read models.
 *
 * Two ways to run it, one code path:
 * - `registerQueryApi(app, deps)` adds /graphql (and /graphiql) to an app that already has the shared
 *   HTTP shell (correlation id): `npm start` mounts it on the command API's app, same port.
 * - `createQueryApi(deps)` builds a standalone app (the query API's own process, tests, benchmarks).
 *
 * Everything arrives in `deps` (GUIDE rule 5): no module singletons.
 */
export interface QueryApiDeps {
  readonly readSql: SqlClient;
  readonly verifier: TokenVerifier;
  readonly logger: Logger;
  readonly limits: QueryLimits;
  /** Default: every area of graphql/index.ts. */
  readonly areas?: readonly GraphqlArea[];
  /** Services the areas need beyond the read database (event store, consistency waiter, …), as `ctx.deps`. */
  readonly services?: QueryServices;
  /**
   * Read-your-writes (X-Consistent-With): the gate over the relay's recorded offsets and the models'
   * progress (query-api/consistency); absent, the header is still validated but nothing is waited for.
   */
  readonly consistency?: ConsistencyGate;
  /** Whether closing the app closes `readSql` (standalone: yes; inside npm start the root owns it). */
  readonly ownsReadSql?: boolean;
}

/** Largest document, in GraphQL tokens (QUERY_ERR_SYNTAX beyond). */
export const MAX_QUERY_TOKENS = 10_000;

export const GRAPHQL_PATH = '/graphql';
export const GRAPHIQL_PATH = '/graphiql';

/** The executable schema of these areas (cached per areas list: building it parses every SDL). */
const schemas = new WeakMap<readonly GraphqlArea[], GraphQLSchema>();
export function schemaOf(areas: readonly GraphqlArea[] = defaultAreas): GraphQLSchema {
  let s = schemas.get(areas);
  if (!s) {
    s = assembleSchema(areas);
    schemas.set(areas, s);
  }
  return s;
}

/**
 * Adds the GraphQL endpoint to `app` in its own encapsulated scope: authentication (the shared shell's
 * hook, permission `read`), the error formatter, depth and cost limits, GraphiQL and introspection as
 * configured. Nothing it decorates or sets leaks into `app`.
 */
export async function registerQueryApi(app: FastifyInstance, deps: QueryApiDeps): Promise<void> {
  const areas = deps.areas ?? defaultAreas;
  const schema = schemaOf(areas);
  const loaderFactories = areas.flatMap((a) => (a.loaders ? [a.loaders] : []));
  const preExecutions = areas.flatMap((a) => (a.preExecution ? [a.preExecution] : []));
  await app.register(async (scope) => {
    // The command API's app compiles zod schemas; mercurius' routes carry small JSON schemas.
    scope.setValidatorCompiler(jsonRequestValidator);
    scope.setSerializerCompiler(() => (data) => JSON.stringify(data));
    registerReadDb(scope, deps.readSql, { owned: deps.ownsReadSql ?? false });
    // Each token's signature is checked once until it expires (token-cache.ts), not on every query.
    const auth = authenticate({ verifier: cachingVerifier(deps.verifier), permissionOf: () => 'read', action: 'this query' });
    scope.addHook('onRequest', async (request, reply) => {
      // GraphiQL's page and assets are public (they hold no data); every query needs a token.
      if (request.routeOptions.url === GRAPHQL_PATH) await auth.call(scope, request, reply);
    });
    // Per user of a tenant, after authentication and before the body is parsed (like the command API).
    await scope.register(rateLimit, {
      max: (deps.limits.rateLimit ?? DEFAULT_LIMITS.rateLimit!).maxPerWindow,
      timeWindow: (deps.limits.rateLimit ?? DEFAULT_LIMITS.rateLimit!).windowMs,
      hook: 'preParsing',
      keyGenerator: (request) => (request.principal ? `${request.principal.tenantId}\u0000${request.principal.userId}` : request.ip),
      errorResponseBuilder: (_request, context) =>
        new HttpError(429, HttpErrorCode.RateLimited, `at most ${context.max} queries per ${context.after} per user; retry after the Retry-After seconds`),
    });
    await scope.register(mercurius, {
      schema,
      path: GRAPHQL_PATH,
      graphiql: deps.limits.graphiql,
      // Parsed and validated documents are cached by text (mercurius' LRU); limits are checked per request.
      cache: true,
      // A query seen twice is compiled with graphql-jit (mercurius): resolvers of a 50-row page run as straight-line code.
      jit: 1,
      validationRules: deps.limits.introspection ? [] : [NoSchemaIntrospectionCustomRule],
      // A document is refused while parsing past this many tokens (GraphiQL's introspection query is ~300): the cost limit
      // runs after parsing, so a megabyte of fields would otherwise cost its parse and validation first.
      graphql: { parseOptions: { maxTokens: MAX_QUERY_TOKENS } },
      errorFormatter: createErrorFormatter(deps.logger),
      context: (request: FastifyRequest, reply: FastifyReply) => {
        // The error handler asks for a context even when authentication refused the request: no principal, no data access.
        if (!request.principal) return {};
        return createContext({ request, reply, sql: scope.readDb, limits: deps.limits, deps: deps.services ?? {}, loaderFactories }) as unknown as Record<string, unknown>;
      },
    });
    const enforceLimits = limitEnforcer(deps.limits);
    scope.graphql.addHook('preExecution', async (s, document, context, variables) => {
      enforceLimits(s, document, variables);
      for (const run of preExecutions) await run(context as unknown as QueryContext, document);
    });
    scope.graphql.addHook('onResolution', async (execution, context) => {
      const extensions = (context as unknown as Partial<QueryContext>).extensions;
      if (extensions && Object.keys(extensions).length > 0) execution.extensions = { ...(execution.extensions ?? {}), ...extensions };
    });
    // After the limits (hooks run in order): a refused document never waits.
    const readModels = mergeReadModelMaps([postgresReadModelMap, ...areas.map((a) => a.readModels)]);
    registerConsistency(scope, {
      gate: deps.consistency ?? noConsistencyGate,
      map: readModels,
      allModels: [...new Set([...Object.values(readModels.types), ...Object.values(readModels.fields)].flat())],
    });
  });
}

export interface QueryApi {
  readonly app: FastifyInstance;
  stop(): Promise<void>;
}

/** The standalone query API: the shared shell, ops routes, and `registerQueryApi`. */
export async function createQueryApi(deps: QueryApiDeps): Promise<QueryApi> {
  const errorHandler = createErrorHandler({ rejectedMessage: 'request rejected' });
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // One line per request (below), with the correlation id and without the client's address.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    return503OnClosing: true,
    frameworkErrors: frameworkErrorsTo(errorHandler),
  });
  registerCorrelationId(app);
  // Like the command API: a JSON body sent as text/plain is a 415 naming the accepted types, not a parse error.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).type(PROBLEM_CONTENT_TYPE).send(problem(404, HttpErrorCode.RouteNotFound, `no route ${request.method} ${request.url.split('?')[0]}`, request.correlationId)),
  );
  app.addHook('onResponse', async (request, reply) => {
    request.log.info({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request completed');
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (request, reply) => {
    try {
      await deps.readSql.query('SELECT 1');
      return { status: 'ready', checks: { readDb: 'ok' } };
    } catch (err) {
      request.log.warn({ err }, 'readiness: read database unreachable');
      return reply.code(503).send({ status: 'not-ready', checks: { readDb: 'unreachable' } });
    }
  });
  await registerQueryApi(app, { ...deps, ownsReadSql: deps.ownsReadSql ?? false });
  return { app, stop: () => app.close() };
}

/**
 * Validates the request shapes mercurius declares (`{ query, variables, operationName, extensions }`):
 * only `type` of the object and of its properties, which is all those schemas say. A refusal is a
 * 400-class error the formatter reports as QUERY_ERR_BAD_REQUEST.
 */
const jsonRequestValidator: FastifySchemaCompiler<unknown> = ({ schema }) => {
  const s = schema as { type?: string | string[]; properties?: Record<string, { type?: string | string[] }>; anyOf?: unknown[] };
  return (data: unknown) => {
    if (s.type !== 'object' || !s.properties) return { value: data };
    if (data === null || typeof data !== 'object' || Array.isArray(data)) return { error: badRequest('the request must be a JSON object') };
    for (const [key, prop] of Object.entries(s.properties)) {
      const value = (data as Record<string, unknown>)[key];
      if (value === undefined || !prop.type) continue;
      const types = Array.isArray(prop.type) ? prop.type : [prop.type];
      if (!types.some((t) => typeMatches(t, value))) return { error: badRequest(`${key} must be ${types.join(' or ')}`) };
    }
    return { value: data };
  };
};

function typeMatches(type: string, value: unknown): boolean {
  switch (type) {
    case 'null':
      return value === null;
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
    default:
      return typeof value === type;
  }
}

function badRequest(message: string): Error {
  return Object.assign(new Error(message), { statusCode: 400 });
}

export type { DocumentNode };

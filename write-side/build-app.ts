import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { v7 as uuidv7 } from 'uuid';
import { createTokenVerifier, type TokenVerifier } from '../platform/auth/verify.js';
import { authenticate, frameworkErrorsTo, registerCorrelationId } from '../platform/http/shell.js';
import type { EventStore } from '../platform/event-store/event-store.js';
import type { Logger } from '../platform/logging/logger.js';
import type { WriteSideConfig } from './config.js';
import { requestHashOf, type WriteDeps } from './http/context.js';
import { createCommandMetrics, outcomeOf, type CommandMetrics } from './http/metrics.js';
import { openapiTransform, openapiTransformObject } from './http/openapi.js';
import { problemClientErrorHandler } from './http/client-error.js';
import { registerJsonParser } from './http/json-body.js';
import { indexRouteMethods } from './http/methods.js';
import { HttpError, PROBLEM_CONTENT_TYPE, errorHandler, problem } from './http/problem.js';
import { budgetRoutes } from './budget/routes.js';
import { consentRoutes } from './consent/routes.js';
import { contactRoutes } from './contact/routes.js';
import { dealRoutes } from './deal/routes.js';
import { leadRoutes } from './lead/routes.js';
import { subjectRoutes, type GdprDeps } from './subject-routes.js';

export interface AppDeps {
  readonly config: WriteSideConfig;
  readonly logger: Logger;
  readonly eventStore: EventStore;
  readonly clock?: () => Date;
  /** New ids: aggregates (UUIDv7), request ids, generated correlation ids. */
  readonly ids?: () => string;
  /** Defaults to one built from `config.auth`. */
  readonly verifier?: TokenVerifier;
  readonly metrics?: CommandMetrics;
  /**
   * More Prometheus text appended to /metrics by the composition root: in one process (`npm start`) the
   * projectors' checkpoints and lag, which this service cannot import itself.
   */
  readonly extraMetrics?: () => Promise<string>;
  /**
   * More readiness checks for /readyz, by the composition root: in one process the projectors' stall
   * detector. Each entry is 'ok' or why not; any other value answers 503 (status `degraded` when the
   * write side's own adapters are fine).
   */
  readonly extraReadiness?: () => Promise<Record<string, string>>;
  /** The GDPR erasure workflow and export (write-side/gdpr), wired by the composition root; without it those routes answer 501. */
  readonly gdpr?: GdprDeps;
}

/**
 * The write side's HTTP app. Everything it uses arrives in `deps` (GUIDE rule 5), so tests build it on
 * a temporary PGlite and drive it with `app.inject`. Encapsulation follows fastify's plugin model: the
 * /api/v1 plugin owns auth, permissions and rate limiting; each aggregate's routes are a child plugin of
 * it (not wrapped in fastify-plugin, so nothing they decorate leaks); ops routes (/healthz, /readyz,
 * /metrics, /docs) sit outside auth.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, eventStore: store } = deps;
  const clock = deps.clock ?? (() => new Date());
  const ids = deps.ids ?? (() => uuidv7());
  const verifier = deps.verifier ?? createTokenVerifier({ keys: config.auth.keys, issuer: config.auth.issuer, audience: config.auth.audience, clock });
  const metrics = deps.metrics ?? createCommandMetrics();

  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // We log one line per request ourselves (onResponse), with the correlation id and without the
    // client's address or headers: fastify's default lines would carry the IP (personal data).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    bodyLimit: config.bodyLimitBytes,
    genReqId: () => ids(),
    return503OnClosing: true,
    // Headers over Node's limit (16 KiB), timeouts and non-HTTP bytes: problem+json, not plain text.
    clientErrorHandler: problemClientErrorHandler,
    // The router's own refusals (a path parameter over 100 characters: 414, a bad percent-encoding: 400)
    // bypass the error handler and the hooks unless routed here.
    frameworkErrors: frameworkErrorsTo(errorHandler),
  });
  // Bodies are JSON unless a route's own plugin adds a parser (the CSV import). fastify's text/plain
  // parser is dropped so a JSON body sent as text/plain is a 415 naming the accepted types, not a 400
  // "expected object, received string"; its JSON parser is replaced to name a refused __proto__.
  app.removeContentTypeParser('text/plain');
  registerJsonParser(app);
  // Before any route is added: it records each route's methods for the 405 answer below.
  const methods = indexRouteMethods(app);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // The shared shell (platform/http): correlation id on every request (an invalid header is refused by
  // the route's header schema; it is never copied into logs or events), and the principal slot.
  registerCorrelationId(app);
  app.decorateRequest('replayed', false);
  app.decorateRequest('requestHash', null);

  app.addHook('onResponse', async (request, reply) => {
    const command = request.routeOptions.config.command;
    const ms = reply.elapsedTime;
    if (command) {
      const outcome = outcomeOf(reply.statusCode, request.replayed);
      metrics.commands.inc({ command, outcome });
      metrics.latency.observe({ command, outcome }, ms / 1000);
    }
    request.log.info(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: reply.statusCode, ms: Math.round(ms * 10) / 10, command },
      'request completed',
    );
  });
  const noRoute = (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0]!;
    const allowed = methods.allowed(path);
    // A path whose pattern answers this very method and still matched no route (a parameter over the
    // router's 100-character limit) is simply not found.
    if (allowed && !allowed.includes(request.method)) {
      return reply
        .code(405)
        .header('allow', allowed.join(', '))
        .type(PROBLEM_CONTENT_TYPE)
        .send(problem(405, 'HTTP_ERR_METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`, request.correlationId));
    }
    return reply.code(404).type(PROBLEM_CONTENT_TYPE).send(problem(404, 'HTTP_ERR_ROUTE_NOT_FOUND', `no route ${request.method} ${path}`, request.correlationId));
  };
  // On a path/method no route answers, what is wrong is the route, whatever else fastify found first
  // (a QUERY without Content-Type, a body it cannot parse): 404 or 405, never a 400 about the body.
  app.setErrorHandler((err: FastifyError | Error, request, reply) => (request.is404 ? noRoute(request, reply) : errorHandler(err, request, reply)));
  app.setNotFoundHandler(noRoute);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Annals command API',
        version: '1.0.0',
        description:
          'Write side of Annals. Every command answers `{ id, revision, position }`; errors are application/problem+json with a stable `code` and the `correlationId`. ' +
          'Bodies are strict: an unknown field is a 400 naming it. Headers: Idempotency-Key, If-Match, X-Correlation-Id.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
    },
    transform: openapiTransform,
    transformObject: openapiTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // ── ops ──────────────────────────────────────────────────────────────────────────────────────
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (request, reply) => {
    // Every configured adapter: the write side has one, the event store.
    const checks: Record<string, string> = {};
    try {
      await store.ping();
      checks.eventStore = 'ok';
    } catch (err) {
      request.log.warn({ err }, 'readiness: event store unreachable');
      checks.eventStore = 'unreachable';
    }
    const ownReady = Object.values(checks).every((c) => c === 'ok');
    if (deps.extraReadiness) {
      try {
        Object.assign(checks, await deps.extraReadiness());
      } catch (err) {
        request.log.warn({ err }, 'readiness: an extra check failed');
        checks.extra = 'failed';
      }
    }
    const ready = Object.values(checks).every((c) => c === 'ok');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : ownReady ? 'degraded' : 'not-ready', checks });
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    const own = await metrics.registry.metrics();
    return deps.extraMetrics ? `${own}\n${await deps.extraMetrics()}` : own;
  });

  // ── the command API ──────────────────────────────────────────────────────────────────────────
  // legacyEmailHashKey: claims and name entries written before emailHashKey was derived were keyed with the master key as configured.
  const routeDeps: WriteDeps = { store, clock, ids, emailHashKey: config.emailHashKey, legacyEmailHashKey: config.piiMasterKey };
  await app.register(
    async (api) => {
      // Authentication and the route's permission, from the shared shell (the query API uses the same hook).
      api.addHook('onRequest', authenticate({ verifier, action: 'this command' }));
      // After validation, so the hash covers the body exactly as the command will see it.
      api.addHook('preHandler', async (request) => {
        if (typeof request.headers['idempotency-key'] === 'string') request.requestHash = requestHashOf(request, config.requestHashKey);
      });
      await api.register(rateLimit, {
        max: config.rateLimit.maxPerWindow,
        timeWindow: config.rateLimit.windowMs,
        // After authentication (onRequest), before the body is parsed: a flood costs no parsing.
        hook: 'preParsing',
        keyGenerator: (request) => (request.principal ? `${request.principal.tenantId}\u0000${request.principal.userId}` : request.ip),
        errorResponseBuilder: (_request, context) =>
          new HttpError(429, 'HTTP_ERR_RATE_LIMITED', `at most ${context.max} commands per ${context.after} per user; retry after the Retry-After seconds`),
      });
      await api.register(leadRoutes, routeDeps);
      await api.register(contactRoutes, routeDeps);
      await api.register(dealRoutes, routeDeps);
      await api.register(consentRoutes, routeDeps);
      await api.register(budgetRoutes, routeDeps);
      await api.register(subjectRoutes, { ...routeDeps, gdpr: deps.gdpr });
    },
    { prefix: '/api/v1' },
  );

  return app;
}

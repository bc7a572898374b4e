import { randomUUID } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { AuthError, AuthErrorCode } from '../auth/errors.js';
import { can, type Permission } from '../auth/permissions.js';
import { bearerToken, type TokenVerifier } from '../auth/verify.js';
import './types.js';

/**
 * The HTTP shell every fastify app of the product shares (the command API now, the query API next), so
 * the query API reuses it instead of copying it: the correlation id, authentication with the route's
 * permission, and (problem.ts) the one error handler with its mapping hook. Plain functions and hooks,
 * not a fastify-plugin: each app decides in which encapsulation scope each piece applies (auth inside
 * /api/v1 or /graphql, the correlation id on the root).
 */

/** What a client may send as X-Correlation-Id; anything else is replaced, never copied into logs or events. */
export const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function correlationIdOf(request: FastifyRequest): string {
  const given = request.headers['x-correlation-id'];
  return typeof given === 'string' && CORRELATION_ID.test(given) ? given : randomUUID();
}

/**
 * On the root app, before any route: every request gets its correlation id (echoed in the response
 * header, carried by every log line of the request) and a `principal` slot for `authenticate`.
 */
export function registerCorrelationId(app: FastifyInstance): void {
  app.decorateRequest('correlationId', '');
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request, reply) => {
    request.correlationId = correlationIdOf(request);
    reply.header('x-correlation-id', request.correlationId);
    request.log = reply.log = request.log.child({ correlationId: request.correlationId });
  });
}

/**
 * fastify's `frameworkErrors` option (the router's own refusals: a path parameter over 100 characters,
 * a bad percent-encoding), which bypasses hooks: the correlation id is set here and the error goes to
 * the app's one handler.
 */
export function frameworkErrorsTo(
  handler: (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => unknown,
): (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  return (err, request, reply) => {
    request.correlationId = correlationIdOf(request);
    reply.header('x-correlation-id', request.correlationId);
    handler(err, request, reply);
  };
}

export interface AuthenticateOptions {
  readonly verifier: TokenVerifier;
  /** The permission a request needs; default: its route's `config.permission` (none: any known role). */
  readonly permissionOf?: (request: FastifyRequest) => Permission | undefined;
  /** How the refusal names what was asked: "this command" (command API), "this query" (query API). */
  readonly action?: string;
}

/**
 * An onRequest hook for the scope that needs a caller: verifies the bearer token (401 AUTH_ERR_*),
 * sets `request.principal` and the tenant and actor on the request's logger, and refuses (403) a
 * caller whose roles do not grant the permission, before the body is parsed.
 */
export function authenticate(options: AuthenticateOptions): onRequestAsyncHookHandler {
  const permissionOf = options.permissionOf ?? ((request: FastifyRequest) => request.routeOptions.config.permission);
  const action = options.action ?? 'this request';
  return async (request, reply) => {
    const principal = await options.verifier(bearerToken(request.headers.authorization));
    request.principal = principal;
    request.log = reply.log = request.log.child({ tenantId: principal.tenantId, actor: principal.userId });
    const permission = permissionOf(request);
    if (principal.roles.length === 0) {
      // Every role in the token is unknown to this product: it authenticates and grants nothing.
      throw new AuthError(AuthErrorCode.Forbidden, 'none of the roles in the token is a role of this product', { permission });
    }
    if (permission && !can(principal.roles, permission)) {
      throw new AuthError(AuthErrorCode.Forbidden, `${action} needs the ${permission} permission, which none of the caller's roles grants`, {
        permission,
        roles: principal.roles,
      });
    }
  };
}

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { AuthError, AuthErrorCode } from '../auth/errors.js';
import type { Principal, TokenVerifier } from '../auth/verify.js';
import { CodedError, graphqlErrorOf } from '../errors/coded-error.js';
import { HttpError } from './errors.js';
import { createErrorHandler } from './problem.js';
import { authenticate, frameworkErrorsTo, registerCorrelationId } from './shell.js';

/**
 * The shell is usable by any fastify app (the query API is next): a bare app gets the correlation id,
 * authentication with a permission from its own config, and problem+json with its own mapping hook.
 */
const principals: Record<string, Principal> = {
  analyst: { userId: 'u-1', tenantId: 'acme', roles: ['analyst'] },
  sales: { userId: 'u-2', tenantId: 'acme', roles: ['sales'] },
  nobody: { userId: 'u-3', tenantId: 'acme', roles: [] },
};
const verifier: TokenVerifier = async (token) => {
  const p = principals[token];
  if (!p) throw new AuthError(AuthErrorCode.TokenInvalid, 'the token is not valid');
  return p;
};

class Teapot extends CodedError {}

describe('platform/http: the shared HTTP shell on a bare fastify app', () => {
  let app: FastifyInstance;
  before(async () => {
    const handler = createErrorHandler({
      // The app's own mapping: here, a domain error it answers 418 instead of its own status.
      mapError: (err) => (err instanceof Teapot ? { status: 418, code: err.code, message: 'mapped by the app' } : undefined),
    });
    app = Fastify({ frameworkErrors: frameworkErrorsTo(handler) });
    registerCorrelationId(app);
    app.setErrorHandler(handler);
    await app.register(async (scope) => {
      // A GraphQL endpoint has one route: the permission comes from the app, not from a route config.
      scope.addHook('onRequest', authenticate({ verifier, action: 'this query', permissionOf: (r) => (r.headers['x-want'] === 'write' ? 'lead:write' : 'read') }));
      scope.get('/who', async (request) => ({ tenant: request.principal?.tenantId, correlationId: request.correlationId }));
      scope.get('/teapot', async () => {
        throw new Teapot('TEAPOT_ERR_SHORT', 'short and stout', 400);
      });
      scope.get('/boom', async () => {
        throw new CodedError('DB_ERR_DOWN', 'password hunter2 refused', 503, { host: 'db-1' });
      });
      scope.get('/retry', async () => {
        throw new HttpError(503, 'GDPR_ERR_PROJECTORS_BEHIND', 'retry later', { behind: ['leads'] });
      });
    });
    await app.ready();
  });
  after(() => app.close());

  const get = (url: string, token?: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });

  it('a valid X-Correlation-Id is echoed and reaches the handler; a hostile one is replaced', async () => {
    const ok = await get('/who', 'analyst', { 'x-correlation-id': 'abc-123' });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.headers['x-correlation-id'], 'abc-123');
    assert.deepEqual(ok.json(), { tenant: 'acme', correlationId: 'abc-123' });
    for (const hostile of ['a b', 'x'.repeat(129), 'abc\u0000', 'é']) {
      const r = await get('/who', 'analyst', { 'x-correlation-id': encodeURI(hostile) === hostile ? hostile : encodeURIComponent(hostile) });
      assert.notEqual(r.headers['x-correlation-id'], hostile);
      assert.match(String(r.headers['x-correlation-id']), /^[0-9a-f-]{36}$/);
    }
  });

  it('no token → 401, a role that lacks the permission → 403 naming it, unknown roles only → 403; all problem+json', async () => {
    const missing = await get('/who');
    assert.equal(missing.statusCode, 401);
    assert.equal(missing.json().code, 'AUTH_ERR_TOKEN_MISSING');
    assert.match(String(missing.headers['content-type']), /application\/problem\+json/);
    assert.equal((await get('/who', 'forged')).json().code, 'AUTH_ERR_TOKEN_INVALID');
    const forbidden = await get('/who', 'analyst', { 'x-want': 'write' });
    assert.equal(forbidden.statusCode, 403);
    assert.equal(forbidden.json().detail, "this query needs the lead:write permission, which none of the caller's roles grants");
    assert.equal((await get('/who', 'sales', { 'x-want': 'write' })).statusCode, 200);
    assert.equal((await get('/who', 'nobody')).statusCode, 403);
  });

  it("the app's mapping hook decides first; a coded 5xx reveals nothing; a deliberate HttpError 5xx is shown", async () => {
    const mapped = await get('/teapot', 'analyst');
    assert.deepEqual([mapped.statusCode, mapped.json().code, mapped.json().detail], [418, 'TEAPOT_ERR_SHORT', 'mapped by the app']);
    const boom = await get('/boom', 'analyst', { 'x-correlation-id': 'c-9' });
    assert.equal(boom.statusCode, 500);
    assert.equal(boom.json().code, 'HTTP_ERR_INTERNAL');
    assert.equal(boom.json().correlationId, 'c-9');
    assert.doesNotMatch(boom.body, /hunter2|db-1|DB_ERR/);
    const retry = await get('/retry', 'analyst');
    assert.deepEqual([retry.statusCode, retry.json().code, retry.json().behind], [503, 'GDPR_ERR_PROJECTORS_BEHIND', ['leads']]);
  });

  it('a refusal reads the same as problem+json and as a GraphQL error: same code, same status', async () => {
    const err = new AuthError(AuthErrorCode.Forbidden, 'no', { permission: 'read' });
    const gql = graphqlErrorOf(err, 'c-1');
    const http = (await get('/who', 'analyst', { 'x-want': 'write' })).json();
    assert.equal(gql.extensions.code, http.code);
    assert.equal(gql.extensions.status, http.status);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT, generateKeyPair } from 'jose';
import { createLogger } from '../../platform/logging/logger.js';
import { buildApp } from '../build-app.js';
import { bearer, memoryStore, send, testApp, testConfig, token, TEST_AUDIENCE, TEST_ISSUER, type TestApp } from '../testing.js';

// Cross-cutting behaviour of the command API: auth, problem+json, headers, limits, ops routes.
describe('command API: auth, errors, headers', () => {
  let t: TestApp;
  before(async () => {
    t = await testApp({ config: { rateLimit: { maxPerWindow: 5, windowMs: 60_000 } } });
  });
  after(() => t.close());

  const lead = { name: 'Grace Hopper', email: 'grace@example.com', source: 'web' };
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

  const expect401 = async (authorization: string | undefined, code: string) => {
    const res = await send(t.app, 'POST', '/api/v1/leads', lead, authorization === undefined ? {} : { authorization });
    assert.equal(res.statusCode, 401, res.body);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    assert.equal(res.json().code, code);
    assert.ok(res.json().correlationId);
  };

  it('no token → 401 AUTH_ERR_TOKEN_MISSING', () => expect401(undefined, 'AUTH_ERR_TOKEN_MISSING'));
  it('not a bearer token → 401', () => expect401('Basic dXNlcjpwYXNz', 'AUTH_ERR_TOKEN_MISSING'));
  it('expired token → 401 AUTH_ERR_TOKEN_EXPIRED', async () =>
    expect401(`Bearer ${await token({ now: new Date(Date.now() - 7200_000), ttlSeconds: 60 })}`, 'AUTH_ERR_TOKEN_EXPIRED'));
  it('wrong audience → 401', async () => expect401(`Bearer ${await token({ audience: 'someone-else' })}`, 'AUTH_ERR_TOKEN_INVALID'));
  it('wrong issuer → 401', async () => expect401(`Bearer ${await token({ issuer: 'evil' })}`, 'AUTH_ERR_TOKEN_INVALID'));
  it('alg none → 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'u', tenant: 'tenant-a', roles: ['admin'], iss: TEST_ISSUER, aud: TEST_AUDIENCE, exp: now + 600 })}.`;
    await expect401(`Bearer ${unsigned}`, 'AUTH_ERR_TOKEN_INVALID');
  });
  it('tampered payload (signature no longer matches) → 401', async () => {
    const [h, , s] = (await token({ roles: ['analyst'] })).split('.');
    const now = Math.floor(Date.now() / 1000);
    const forged = `${h}.${b64({ sub: 'user-1', tenant: 'tenant-a', roles: ['admin'], iss: TEST_ISSUER, aud: TEST_AUDIENCE, exp: now + 600 })}.${s}`;
    await expect401(`Bearer ${forged}`, 'AUTH_ERR_TOKEN_INVALID');
  });
  it('signed with another secret → 401', async () =>
    expect401(`Bearer ${await token({ secret: 'another-secret-another-secret-another-secret' })}`, 'AUTH_ERR_TOKEN_INVALID'));
  it('an unexpected algorithm (RS256 against an HS256 deployment) → 401', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const jwt = await new SignJWT({ tenant: 'tenant-a', roles: ['admin'] })
      .setProtectedHeader({ alg: 'RS256' })
      .setSubject('u')
      .setIssuer(TEST_ISSUER)
      .setAudience(TEST_AUDIENCE)
      .setExpirationTime('10m')
      .sign(privateKey);
    await expect401(`Bearer ${jwt}`, 'AUTH_ERR_TOKEN_INVALID');
  });
  it('a token without tenant → 401 AUTH_ERR_CLAIMS_INVALID', async () => {
    const jwt = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u')
      .setIssuer(TEST_ISSUER)
      .setAudience(TEST_AUDIENCE)
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode('test-secret-test-secret-test-secret-0123456789'));
    await expect401(`Bearer ${jwt}`, 'AUTH_ERR_CLAIMS_INVALID');
  });

  it('a role without the permission → 403 AUTH_ERR_FORBIDDEN, before the body is looked at', async () => {
    const res = await send(t.app, 'POST', '/api/v1/leads', { nonsense: true }, bearer(await token({ roles: ['analyst'] })));
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().code, 'AUTH_ERR_FORBIDDEN');
    assert.equal(res.json().permission, 'lead:write');
  });

  it('X-Correlation-Id is echoed, generated when absent, and stored in the events', async () => {
    const h = bearer(await token({ sub: 'corr-user' }));
    const res = await send(t.app, 'POST', '/api/v1/leads', lead, { ...h, 'x-correlation-id': 'corr-123' });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.headers['x-correlation-id'], 'corr-123');
    const [event] = await t.store.readStream(`lead-${res.json().id}`);
    assert.equal(event!.correlationId, 'corr-123');
    assert.equal(event!.actor.userId, 'corr-user');
    assert.equal(event!.tenantId, 'tenant-a');
    const generated = await send(t.app, 'POST', '/api/v1/leads', lead, h);
    assert.match(String(generated.headers['x-correlation-id']), /^[0-9a-f-]{36}$/);
  });

  it('an invalid X-Correlation-Id is refused (400 naming the header), never logged', async () => {
    const res = await send(t.app, 'POST', '/api/v1/leads', lead, { ...bearer(await token({ sub: 'bad-corr' })), 'x-correlation-id': 'a b\nc' });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json<{ errors: { path: string }[] }>().errors.map((e) => e.path), ['headers.x-correlation-id']);
  });

  it('rate limit per tenant+user → 429 with Retry-After; another user is not affected', async () => {
    const h = bearer(await token({ sub: 'flooder' }));
    const codes: number[] = [];
    for (let i = 0; i < 7; i++) codes.push((await send(t.app, 'POST', '/api/v1/leads', lead, h)).statusCode);
    assert.deepEqual(codes, [201, 201, 201, 201, 201, 429, 429]);
    const limited = await send(t.app, 'POST', '/api/v1/leads', lead, h);
    assert.equal(limited.json().code, 'HTTP_ERR_RATE_LIMITED');
    assert.ok(Number(limited.headers['retry-after']) > 0);
    assert.equal((await send(t.app, 'POST', '/api/v1/leads', lead, bearer(await token({ sub: 'someone-else' })))).statusCode, 201);
  });

  it('unknown route → 404 problem+json', async () => {
    const res = await send(t.app, 'POST', '/api/v1/nothing', {}, bearer(await token({ sub: 'u404' })));
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, 'HTTP_ERR_ROUTE_NOT_FOUND');
  });

  it('healthz, readyz, metrics, docs', async () => {
    assert.equal((await t.app.inject('/healthz')).statusCode, 200);
    const ready = await t.app.inject('/readyz');
    assert.equal(ready.statusCode, 200);
    assert.equal(ready.json().checks.eventStore, 'ok');
    const metrics = await t.app.inject('/metrics');
    assert.match(metrics.body, /annals_commands_total\{command="CaptureLead",outcome="accepted"\} \d+/);
    assert.match(metrics.body, /annals_commands_total\{command="CaptureLead",outcome="rate_limited"\} \d+/);
    assert.match(metrics.body, /annals_command_duration_seconds_bucket\{le="0.1",command="CaptureLead",outcome="accepted"\}/);
    const docs = await t.app.inject('/docs/json');
    assert.equal(docs.statusCode, 200);
    const spec = docs.json();
    for (const p of ['/api/v1/leads', '/api/v1/leads/{id}/convert', '/api/v1/contacts/{id}', '/api/v1/deals/{id}/stage', '/api/v1/consents/{subjectId}/grant', '/api/v1/budgets/{id}/spend']) {
      assert.ok(spec.paths[p], `OpenAPI documents ${p}`);
    }
    // Strict bodies are documented as such.
    assert.equal(spec.paths['/api/v1/leads'].post.requestBody.content['application/json'].schema.additionalProperties, false);
    assert.equal((await t.app.inject('/docs')).statusCode < 400, true);
  });
});

describe('command API: body limits and readiness', () => {
  it('a body over BODY_LIMIT_BYTES → 413', async () => {
    const t = await testApp({ config: { bodyLimitBytes: 2048 } });
    try {
      const res = await send(t.app, 'POST', '/api/v1/leads', { name: 'x', source: 'web', notes: 'n'.repeat(5000) }, bearer(await token()));
      assert.equal(res.statusCode, 413);
      assert.equal(res.json().code, 'HTTP_ERR_BODY_TOO_LARGE');
    } finally {
      await t.close();
    }
  });

  it('readyz answers 503 when the event store is unreachable', async () => {
    const t = await testApp();
    await t.store.close();
    const res = await t.app.inject('/readyz');
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().checks.eventStore, 'unreachable');
    await t.app.close();
  });

  it('readyz is degraded (503) when a check the composition root injected fails (a stalled projector), naming it', async () => {
    const store = await memoryStore();
    let stalled = true;
    const app = await buildApp({
      config: testConfig(),
      logger: createLogger({ level: 'silent', name: 'write-side' }),
      eventStore: store,
      extraReadiness: async (): Promise<Record<string, string>> => (stalled ? { 'projector:contacts': 'stalled: no progress for 61 s with 3 messages waiting; cause: 08006: connection lost' } : { projectors: 'ok' }),
    });
    try {
      const res = await app.inject('/readyz');
      assert.equal(res.statusCode, 503);
      assert.equal(res.json().status, 'degraded');
      assert.equal(res.json().checks.eventStore, 'ok');
      assert.match(res.json().checks['projector:contacts'], /stalled: .*08006/);
      stalled = false;
      const ok = await app.inject('/readyz');
      assert.equal(ok.statusCode, 200);
      assert.deepEqual(ok.json(), { status: 'ready', checks: { eventStore: 'ok', projectors: 'ok' } });
    } finally {
      await app.close();
      await store.close();
    }
  });
});

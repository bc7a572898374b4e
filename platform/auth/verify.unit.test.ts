import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { AuthError, AuthErrorCode } from './errors.js';
import { TENANT_ID_PATTERN, createTokenVerifier, type TokenVerifier } from './verify.js';

const ISSUER = 'https://idp.test';
const AUDIENCE = 'annals-api';
const SECRET = 'verify-test-secret-verify-test-secret-0123';
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

interface Claims {
  tenant?: unknown;
  roles?: unknown;
  sub?: string;
}
const claims = (c: Claims = {}) => ({ tenant: 'tenant-a', roles: ['sales'], ...c });

function jwt(c: Claims, alg: string, kid?: string) {
  return new SignJWT(claims(c))
    .setProtectedHeader({ alg, typ: 'JWT', ...(kid ? { kid } : {}) })
    .setSubject(c.sub ?? 'user-1')
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('10m');
}
const hmac = (alg: 'HS256' | 'HS384' | 'HS512', c: Claims = {}, secret = SECRET) => jwt(c, alg).sign(new TextEncoder().encode(secret));

async function refused(verify: TokenVerifier, token: string, code: AuthErrorCode): Promise<AuthError> {
  const err = await verify(token).then(
    () => assert.fail('the token was accepted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof AuthError, String(err));
  assert.equal(err.code, code, err.message);
  assert.equal(err.statusCode, 401);
  return err;
}

describe('token verification: HS256 secret', () => {
  const verify = createTokenVerifier({ keys: { kind: 'secret', secret: SECRET }, issuer: ISSUER, audience: AUDIENCE });

  it('accepts HS256 signed with the secret', async () => {
    assert.deepEqual(await verify(await hmac('HS256')), { userId: 'user-1', tenantId: 'tenant-a', roles: ['sales'] });
  });

  // The allow-list is the guarantee: jose would verify HS384/HS512 with the same secret if let.
  for (const alg of ['HS384', 'HS512'] as const) {
    it(`refuses ${alg} even when signed with the right secret`, async () => {
      const err = await refused(verify, await hmac(alg), AuthErrorCode.TokenInvalid);
      assert.match(err.message, /algorithm/);
    });
  }

  it('refuses alg none (unsigned)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims(), sub: 'u', iss: ISSUER, aud: AUDIENCE, exp: now + 600 })}.`;
    await refused(verify, unsigned, AuthErrorCode.TokenInvalid);
  });

  it('unknown roles grant nothing; the known ones still count', async () => {
    assert.deepEqual((await verify(await hmac('HS256', { roles: ['sales', 'crm-superuser', 'other-product:admin'] }))).roles, ['sales']);
    assert.deepEqual((await verify(await hmac('HS256', { roles: ['crm-superuser'] }))).roles, []);
    // Still a claims error: no roles claim, an empty one, or one that is not a list of strings.
    await refused(verify, await hmac('HS256', { roles: [] }), AuthErrorCode.ClaimsInvalid);
    await refused(verify, await hmac('HS256', { roles: 'admin' }), AuthErrorCode.ClaimsInvalid);
    await refused(verify, await hmac('HS256', { roles: [{ admin: true }] }), AuthErrorCode.ClaimsInvalid);
  });

  it('refuses a tenant outside the alphabet (NUL, :, /, newline, uppercase, too long) with a clear reason', async () => {
    for (const tenant of ['acme\u0000', 'a:b', 'a/b', 'a\nb', 'Acme', '-acme', '', 'a'.repeat(64), 'ac me', 'é', '\ud800', 42, null]) {
      const err = await refused(verify, await hmac('HS256', { tenant }), AuthErrorCode.ClaimsInvalid);
      assert.deepEqual(err.details, { claims: ['tenant'] }, JSON.stringify(tenant));
      if (typeof tenant === 'string' && tenant !== '') assert.match(err.message, /tenant claim is refused: a tenant id is 1-63 characters of a-z 0-9 _ -/);
      // The value never appears in the reason.
      if (typeof tenant === 'string' && tenant.length > 1) assert.ok(!err.message.includes(tenant), err.message);
    }
    for (const tenant of ['acme', 'tenant-a', 'a', '0', 'it-0190a2b4-7c1e-7d2f-8a3b-123456789abc', 'a'.repeat(63), 'x_y']) {
      assert.equal((await verify(await hmac('HS256', { tenant }))).tenantId, tenant);
      assert.ok(TENANT_ID_PATTERN.test(tenant));
    }
  });
});

describe('token verification: JWKS (AUTH_JWKS_URL) from a local server', () => {
  let server: Server;
  let url: string;
  let rsa: { privateKey: CryptoKey; publicKey: CryptoKey };
  let ec: { privateKey: CryptoKey; publicKey: CryptoKey };
  let verify: TokenVerifier;

  before(async () => {
    rsa = await generateKeyPair('RS256');
    ec = await generateKeyPair('ES256');
    const keys: JWK[] = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ];
    server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.setHeader('connection', 'close');
      res.end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
    verify = createTokenVerifier({ keys: { kind: 'jwks', url }, issuer: ISSUER, audience: AUDIENCE });
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('accepts RS256 and ES256 signed with the published keys', async () => {
    const rs = await jwt({ roles: ['manager'] }, 'RS256', 'rsa-1').sign(rsa.privateKey);
    assert.deepEqual(await verify(rs), { userId: 'user-1', tenantId: 'tenant-a', roles: ['manager'] });
    const es = await jwt({ roles: ['dpo'] }, 'ES256', 'ec-1').sign(ec.privateKey);
    assert.deepEqual((await verify(es)).roles, ['dpo']);
  });

  it('refuses a token signed with another key (same kid, or a kid the set does not hold)', async () => {
    const other = await generateKeyPair('RS256');
    await refused(verify, await jwt({}, 'RS256', 'rsa-1').sign(other.privateKey), AuthErrorCode.TokenInvalid);
    await refused(verify, await jwt({}, 'RS256', 'unknown').sign(other.privateKey), AuthErrorCode.TokenInvalid);
    const otherEc = await generateKeyPair('ES256');
    await refused(verify, await jwt({}, 'ES256', 'ec-1').sign(otherEc.privateKey), AuthErrorCode.TokenInvalid);
  });

  it('refuses HS256 tokens (a shared secret is not a JWKS key; the public key used as an HMAC secret is the classic confusion)', async () => {
    await refused(verify, await hmac('HS256'), AuthErrorCode.TokenInvalid);
    const publicJwk = await exportJWK(rsa.publicKey);
    const confused = await jwt({}, 'HS256', 'rsa-1').sign(new TextEncoder().encode(JSON.stringify(publicJwk)));
    await refused(verify, confused, AuthErrorCode.TokenInvalid);
  });

  it('refuses alg none against a JWKS too', async () => {
    const now = Math.floor(Date.now() / 1000);
    await refused(verify, `${b64({ alg: 'none', kid: 'rsa-1' })}.${b64({ ...claims(), sub: 'u', iss: ISSUER, aud: AUDIENCE, exp: now + 600 })}.`, AuthErrorCode.TokenInvalid);
  });
});

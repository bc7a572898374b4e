import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { signDevToken } from '../platform/auth/sign.js';
import { createTokenVerifier } from '../platform/auth/verify.js';
import { cachingVerifier } from './token-cache.js';

const secret = 'token-cache-test-secret-0123456789abcdef';
const sign = (o: { ttlSeconds: number; now?: Date; tenant?: string; secret?: string }) =>
  signDevToken({ secret: o.secret ?? secret, issuer: 'i', audience: 'a', tenant: o.tenant ?? 'acme', sub: 'u', roles: ['sales'], ttlSeconds: o.ttlSeconds, ...(o.now ? { now: o.now } : {}) });

describe('cachingVerifier', () => {
  it('verifies a token once, answers it from the cache until exp, then refuses it like the verifier', async () => {
    let clock = new Date('2026-01-01T00:00:00Z');
    let calls = 0;
    const inner = createTokenVerifier({ keys: { kind: 'secret', secret }, issuer: 'i', audience: 'a', clock: () => clock, clockToleranceSeconds: 0 });
    const verify = cachingVerifier(async (t) => (calls++, inner(t)), { clock: () => clock });
    const token = await sign({ ttlSeconds: 60, now: clock });
    assert.deepEqual(await verify(token), { userId: 'u', tenantId: 'acme', roles: ['sales'] });
    await verify(token);
    assert.equal(calls, 1);
    clock = new Date('2026-01-01T00:01:00Z'); // exp reached
    await assert.rejects(verify(token), { code: 'AUTH_ERR_TOKEN_EXPIRED' });
    assert.equal(calls, 2);
  });

  it('never caches a refusal, and a token signed with another key is verified (and refused) on its own', async () => {
    let calls = 0;
    const inner = createTokenVerifier({ keys: { kind: 'secret', secret }, issuer: 'i', audience: 'a' });
    const verify = cachingVerifier(async (t) => (calls++, inner(t)));
    const good = await sign({ ttlSeconds: 60 });
    await verify(good);
    const forged = await sign({ ttlSeconds: 60, secret: 'another-secret-of-at-least-32-characters!!' });
    await assert.rejects(verify(forged), { code: 'AUTH_ERR_TOKEN_INVALID' });
    await assert.rejects(verify(forged), { code: 'AUTH_ERR_TOKEN_INVALID' });
    const tampered = `${good.slice(0, -2)}${good.endsWith('AA') ? 'BB' : 'AA'}`;
    await assert.rejects(verify(tampered), { code: 'AUTH_ERR_TOKEN_INVALID' });
    assert.equal(calls, 4);
  });

  it('stays bounded', async () => {
    const verify = cachingVerifier(createTokenVerifier({ keys: { kind: 'secret', secret }, issuer: 'i', audience: 'a' }), { maxEntries: 2 });
    const tokens = await Promise.all(['a', 'b', 'c'].map((tenant) => sign({ ttlSeconds: 60, tenant })));
    for (const t of tokens) await verify(t);
    // The first token fell out of the cache and is verified again: still accepted.
    assert.equal((await verify(tokens[0]!)).tenantId, 'a');
  });
});

import { decodeJwt } from 'jose';
import type { Principal, TokenVerifier } from '../platform/auth/verify.js';
import { Lru } from '../platform/pii/lru.js';

/**
 * Remembers verified tokens until they expire, so a client that sends the same token with every query
 * pays the signature check once, not per request. jose checks HS256 through WebCrypto, which measured
 * ~1.5 ms of main-thread CPU per request under load (bench/query-api.ts, CPU profile), a third of a
 * 50-row deals page.
 *
 * What stays exactly as strict as the verifier: only a token the verifier accepted is cached, keyed by
 * its full text (any other token, a re-signed one included, is verified anew); a cached entry is
 * answered only while `now < exp` (the verifier's expiry, without its clock tolerance, so never longer);
 * refusals are never cached (an attacker cannot fill the cache with invalid tokens, and a failure is
 * re-checked, e.g. a JWKS rotation). Bounded (LRU), so memory stays flat whatever the number of users.
 */
export function cachingVerifier(verify: TokenVerifier, options: { maxEntries?: number; clock?: () => Date } = {}): TokenVerifier {
  const cache = new Lru<string, { principal: Principal; expMs: number }>(options.maxEntries ?? 10_000);
  const now = () => (options.clock ? options.clock().getTime() : Date.now());
  return async (token) => {
    const hit = cache.get(token);
    if (hit) {
      if (now() < hit.expMs) return hit.principal;
      cache.delete(token);
    }
    const principal = await verify(token);
    // Verified above: decoding only reads the exp the verifier already required and checked.
    const exp = decodeJwt(token).exp;
    if (typeof exp === 'number') cache.set(token, { principal, expMs: exp * 1000 });
    return principal;
  };
}

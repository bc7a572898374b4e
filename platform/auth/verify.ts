import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { Role, TenantId, UserId } from '../../schemas/events/common.js';
import { AuthError, AuthErrorCode } from './errors.js';

/** Who is calling: the only source of the tenant for every command, query and search. */
export interface Principal {
  readonly userId: string;
  readonly tenantId: string;
  readonly roles: readonly Role[];
}

export type KeySource =
  /** A shared HS256 secret (development, single-issuer deployments). */
  | { readonly kind: 'secret'; readonly secret: string }
  /** An identity provider's JSON Web Key Set (asymmetric keys, rotated by the provider). */
  | { readonly kind: 'jwks'; readonly url: string };

export interface VerifierOptions {
  readonly keys: KeySource;
  readonly issuer: string;
  readonly audience: string;
  /** The clock `exp`/`nbf` are checked against (tests pass a fixed one). */
  readonly clock?: () => Date;
  /** Tolerated clock difference with the issuer, in seconds (default 5). */
  readonly clockToleranceSeconds?: number;
}

export type TokenVerifier = (token: string) => Promise<Principal>;

/**
 * The algorithms accepted, per key source. A fixed list, never the token's own `alg` (the classic JWT
 * attacks): `none` is refused by jose, and an HS256 token against a JWKS (or RS256 against a secret) is
 * refused here.
 */
export const HMAC_ALGORITHMS = ['HS256'] as const;
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;

/**
 * The tenant alphabet: lowercase ASCII letters and digits, then also `_` and `-`, at most 63 characters.
 * The tenant id becomes part of keys (`tenant:idempotency-key` hashes, rate-limit buckets, log fields,
 * stream-name hashes), so a `:`, `/`, newline or U+0000 in it could make two tenants' keys collide or
 * forge a log line; lowercase-only, so `Acme` and `acme` can never be two tenants that look alike.
 * A token whose tenant falls outside it is refused (401) rather than normalised.
 */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const TENANT_ID_RULE = 'a tenant id is 1-63 characters of a-z 0-9 _ -, starting with a letter or digit';

const Claims = z.object({
  sub: UserId,
  tenant: TenantId.regex(TENANT_ID_PATTERN, TENANT_ID_RULE),
  // Roles the product does not know grant nothing and do not void the token: an identity provider
  // shared with other products puts their roles in the same claim. The known ones still count.
  roles: z.array(z.string().max(128)).min(1).max(64),
});

export function createTokenVerifier(options: VerifierOptions): TokenVerifier {
  const { issuer, audience } = options;
  const clockTolerance = options.clockToleranceSeconds ?? 5;
  let key: Uint8Array | JWTVerifyGetKey;
  let algorithms: string[];
  if (options.keys.kind === 'secret') {
    key = new TextEncoder().encode(options.keys.secret);
    algorithms = [...HMAC_ALGORITHMS];
  } else {
    // Fetched lazily, cached and refreshed by jose when an unknown `kid` shows up (key rotation).
    key = createRemoteJWKSet(new URL(options.keys.url));
    algorithms = [...ASYMMETRIC_ALGORITHMS];
  }

  return async (token) => {
    let payload: unknown;
    try {
      const verified = await jwtVerify(token, key as Uint8Array, {
        issuer,
        audience,
        algorithms,
        clockTolerance,
        requiredClaims: ['exp', 'sub'],
        ...(options.clock ? { currentDate: options.clock() } : {}),
      });
      payload = verified.payload;
    } catch (e) {
      throw toAuthError(e);
    }
    const claims = Claims.safeParse(payload);
    if (!claims.success) {
      const names = [...new Set(claims.error.issues.map((i) => String(i.path[0] ?? '')))];
      // The reason names the rule, never the claim's value (it may be hostile: NUL, a newline).
      const tenantRule = claims.error.issues.some((i) => i.path[0] === 'tenant' && i.message === TENANT_ID_RULE);
      throw new AuthError(
        AuthErrorCode.ClaimsInvalid,
        tenantRule ? `the token's tenant claim is refused: ${TENANT_ID_RULE}` : 'the token lacks valid sub, tenant or roles claims',
        { claims: names },
      );
    }
    const roles = [...new Set(claims.data.roles.filter((r): r is Role => Role.safeParse(r).success))];
    return { userId: claims.data.sub, tenantId: claims.data.tenant, roles };
  };
}

/** Reads `Authorization: Bearer <token>`; anything else is "no token". */
export function bearerToken(header: string | undefined): string {
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new AuthError(AuthErrorCode.TokenMissing, 'an Authorization: Bearer token is required');
  return match[1]!;
}

function toAuthError(e: unknown): AuthError {
  if (e instanceof joseErrors.JWTExpired) return new AuthError(AuthErrorCode.TokenExpired, 'the token has expired');
  if (e instanceof joseErrors.JWTClaimValidationFailed) {
    // The claim name (iss, aud, nbf…) helps the caller; its value is not echoed.
    if (e.claim === 'nbf') return new AuthError(AuthErrorCode.TokenExpired, 'the token is not valid yet');
    return new AuthError(AuthErrorCode.TokenInvalid, `the token's ${e.claim} claim is not accepted`, { claim: e.claim });
  }
  if (e instanceof joseErrors.JOSEAlgNotAllowed) return new AuthError(AuthErrorCode.TokenInvalid, 'the token is signed with an algorithm that is not accepted');
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return new AuthError(AuthErrorCode.TokenInvalid, 'the token signature is invalid');
  if (e instanceof joseErrors.JOSEError) return new AuthError(AuthErrorCode.TokenInvalid, 'the token is malformed or cannot be verified', { reason: e.code });
  return new AuthError(AuthErrorCode.TokenInvalid, 'the token cannot be verified');
}

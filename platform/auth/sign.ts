import { SignJWT } from 'jose';
import type { Role } from '../../schemas/events/common.js';

export interface DevTokenRequest {
  readonly secret: string;
  readonly issuer: string;
  readonly audience: string;
  readonly tenant: string;
  readonly sub: string;
  readonly roles: readonly Role[];
  /** Lifetime in seconds. */
  readonly ttlSeconds: number;
  readonly now?: Date;
}

/**
 * Signs an HS256 token the verifier accepts: for `annals token` (development) and tests. Production
 * tokens come from an identity provider (AUTH_JWKS_URL); this never signs with anything but a shared secret.
 */
export async function signDevToken(r: DevTokenRequest): Promise<string> {
  const iat = Math.floor((r.now ?? new Date()).getTime() / 1000);
  return new SignJWT({ tenant: r.tenant, roles: [...r.roles] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(r.sub)
    .setIssuer(r.issuer)
    .setAudience(r.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + r.ttlSeconds)
    .sign(new TextEncoder().encode(r.secret));
}

/** Parses a duration like `90s`, `15m`, `1h`, `7d` (or plain seconds) into seconds. */
export function parseTtl(text: string): number | undefined {
  const m = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return n > 0 ? n * unit : undefined;
}

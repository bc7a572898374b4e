import { createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../../platform/auth/verify.js';
import '../../platform/http/types.js';
import type { EventStore } from '../../platform/event-store/event-store.js';
import type { CommandMetadata } from '../kernel/decider.js';
import type { CommandEnvelope } from '../kernel/handle-command.js';
import { AuthError, AuthErrorCode } from '../../platform/auth/errors.js';

declare module 'fastify' {
  // correlationId, principal, config.permission and config.accepts come from the shared shell (platform/http/types.ts).
  interface FastifyRequest {
    /** Set by a command handler: the answer came from an earlier handling of the same Idempotency-Key. */
    replayed: boolean;
    /** Keyed hash of method, path and body, set when the request carries an Idempotency-Key. */
    requestHash: string | null;
  }
  interface FastifyContextConfig {
    /** The command type, for metrics and logs (`CaptureLead`). */
    command?: string;
  }
}

/** What the route plugins get from the composition root (GUIDE rule 5: dependencies are arguments). */
export interface WriteDeps {
  readonly store: EventStore;
  readonly clock: () => Date;
  /** New aggregate ids (UUIDv7 in production; tests may pass a deterministic one). */
  readonly ids: () => string;
  /** Keys the email-uniqueness hashes, so the reservation streams hold no guessable digest of an email. */
  readonly emailHashKey: string;
  /**
   * The key the email claims and the name index were keyed with before `emailHashKey` (the PII master
   * key as configured, if `emailHashKey` is now derived from it). Only read, so contacts written before
   * keep their email (contact/email-claims.ts); unset = `emailHashKey`.
   */
  readonly legacyEmailHashKey?: string | undefined;
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AuthError(AuthErrorCode.TokenMissing, 'an Authorization: Bearer token is required');
  return request.principal;
}

export function metadataOf(request: FastifyRequest, now: Date): CommandMetadata {
  const p = principalOf(request);
  return { now, tenantId: p.tenantId, actor: { userId: p.userId, roles: [...p.roles] } };
}

/**
 * The envelope of the command a request carries. The tenant and actor come only from the verified
 * token; the causation id is the request id (so an auditor can tie each event to one HTTP request).
 */
export function envelopeOf(request: FastifyRequest, extra: { subjectId?: string; ignoreIfMatch?: boolean } = {}): CommandEnvelope {
  const p = principalOf(request);
  const headers = request.headers;
  const idempotencyKey = typeof headers['idempotency-key'] === 'string' ? headers['idempotency-key'] : undefined;
  const ifMatch = typeof headers['if-match'] === 'string' ? headers['if-match'] : undefined;
  const m = ifMatch === undefined || extra.ignoreIfMatch ? null : /-?\d+/.exec(ifMatch);
  return {
    tenantId: p.tenantId,
    actor: { userId: p.userId, roles: [...p.roles] },
    correlationId: request.correlationId,
    causationId: request.id,
    idempotencyKey,
    requestHash: idempotencyKey ? (request.requestHash ?? undefined) : undefined,
    expectedRevision: m ? BigInt(m[0]) : undefined,
    subjectId: extra.subjectId,
  };
}

/**
 * What identifies a request for the Idempotency-Key check: method, path (with the aggregate id) and the
 * validated body. Keyed (HMAC), because bodies carry personal data and the hash is stored in events.
 * A streamed body (the contact CSV import) is not read here: that route hashes each row itself.
 */
export function requestHashOf(request: FastifyRequest, key: string): string {
  const body = request.body instanceof Readable ? '(streamed)' : JSON.stringify(request.body ?? null);
  return createHmac('sha256', key)
    .update(`idempotency\n${request.method} ${request.url.split('?')[0]}\n${body}`)
    .digest('base64url');
}

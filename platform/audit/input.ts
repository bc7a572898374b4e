import { Id, IsoDateTime } from '../../schemas/events/common.js';
import { AuditErrorCode, AuditInputError } from './errors.js';

/**
 * The instant of an as-of read, by the very rule every stored instant obeys (schemas/events IsoDateTime):
 * ISO 8601 with an offset, year 0001–9999, at most milliseconds, offset within ±14:00. So `0000-…`,
 * `+15:00`, a bare date or garbage is refused with a code naming the argument instead of a guess
 * (`Date.parse` would read some of them, differently per engine).
 */
export function parseInstant(text: unknown, field: string): Date {
  const ok = typeof text === 'string' && text.length <= 64 && IsoDateTime.safeParse(text).success;
  if (!ok) {
    throw new AuditInputError(
      AuditErrorCode.InvalidInstant,
      `${field} must be an ISO 8601 instant with a UTC offset (e.g. 2026-11-30T14:05:00Z), a year from 0001 to 9999 and an offset within ±14:00`,
      field,
    );
  }
  return new Date(text);
}

/** Entity ids are UUIDs (SPEC: UUIDv7); anything else is refused before a stream name is built from it. */
export function parseEntityId(text: unknown, field: string): string {
  if (typeof text !== 'string' || text.length > 64 || !Id.safeParse(text).success) {
    throw new AuditInputError(AuditErrorCode.InvalidId, `${field} must be a UUID`, field);
  }
  return text.toLowerCase();
}

export const MAX_AUDIT_PAGE = 200;
export const DEFAULT_AUDIT_PAGE = 50;

export function parsePageSize(first: unknown, field = 'first'): number {
  if (first === undefined || first === null) return DEFAULT_AUDIT_PAGE;
  if (typeof first !== 'number' || !Number.isInteger(first) || first < 1 || first > MAX_AUDIT_PAGE) {
    throw new AuditInputError(AuditErrorCode.BadPageSize, `${field} must be an integer from 1 to ${MAX_AUDIT_PAGE}`, field);
  }
  return first;
}

/**
 * The opaque cursor of an audit trail page: the position of the last event returned, bound to the entity
 * it was issued for, so a cursor of another entity's trail (or of another query) is refused, not misread.
 */
const CURSOR_KIND = 'audit1';

export function encodeAuditCursor(entityId: string, position: bigint): string {
  return Buffer.from(JSON.stringify([CURSOR_KIND, entityId, position.toString()]), 'utf8').toString('base64url');
}

export function decodeAuditCursor(cursor: unknown, entityId: string, field = 'after'): bigint {
  const bad = (why: string) => new AuditInputError(AuditErrorCode.BadCursor, `${field} is not a cursor of this audit trail (${why})`, field);
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > 256 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad('malformed');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad('malformed');
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || parsed[0] !== CURSOR_KIND || typeof parsed[2] !== 'string' || !/^\d{1,20}$/.test(parsed[2])) {
    throw bad('malformed');
  }
  if (parsed[1] !== entityId) throw bad('issued for another entity');
  return BigInt(parsed[2]);
}

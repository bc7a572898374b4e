import { CodedError } from '../errors/coded-error.js';
import { defineErrors } from '../errors/catalogue.js';

/**
 * Coded errors of the GDPR crypto seam. None of them ever carries a personal value or key material in its
 * message or details: they name the variable, the subject, the stream, the revision and the field path.
 */
export const PiiErrorCode = defineErrors('PII', {
  /** PII_MASTER_KEY (or another master-key variable) is missing or is not 32 bytes in base64/base64url/hex. */
  MasterKeyInvalid: 'PII_ERR_MASTER_KEY_INVALID',
  /** A data key is wrapped by a master key that is not configured (rotation not finished, wrong key). */
  MasterKeyMismatch: 'PII_ERR_MASTER_KEY_MISMATCH',
  /** A wrapped data key does not authenticate under the master key its row names (tampered or moved row). */
  KeyUnwrapFailed: 'PII_ERR_KEY_UNWRAP_FAILED',
  /** The subject's key was destroyed (erasure): no new personal data may be written for it. The write side answers 410 Gone. */
  SubjectErased: 'PII_ERR_SUBJECT_ERASED',
  /** A ciphertext does not authenticate: tampered, truncated, or moved to another field, event, stream or subject. */
  CiphertextInvalid: 'PII_ERR_CIPHERTEXT_INVALID',
  /** A ciphertext of a format version this code does not know (written by newer code). */
  CiphertextUnsupported: 'PII_ERR_CIPHERTEXT_UNSUPPORTED',
  /** A plaintext value where a ciphertext is expected: a store written before encryption was switched on. */
  PlaintextFound: 'PII_ERR_PLAINTEXT_FOUND',
  /** An event carries personal values but its metadata names no data subject, so no key can encrypt them. */
  NoSubject: 'PII_ERR_NO_SUBJECT',
  /** A ciphertext whose subject has neither a key nor a destruction record: the key table was lost or restored from an older backup. */
  KeyMissing: 'PII_ERR_KEY_MISSING',
});
export type PiiErrorCode = (typeof PiiErrorCode)[keyof typeof PiiErrorCode];

/** Where in the event store a failing value sits; every decode error carries it. */
export interface PiiCoordinates {
  readonly streamId?: string;
  readonly streamRevision?: bigint;
  readonly eventId?: string;
  /** The concrete path inside `data`, array indexes and record keys included. */
  readonly path?: readonly string[];
}

/**
 * Only an erased subject is the client's business (410 Gone: erasure is final); every other PII error is
 * an operator's (a key, a store), answered as an internal error that reveals nothing.
 */
export class PiiError extends CodedError {
  declare readonly code: PiiErrorCode;
  declare readonly details: Readonly<Record<string, unknown>>;
  constructor(
    code: PiiErrorCode,
    message: string,
    readonly coordinates: PiiCoordinates = {},
    /** Safe to log: ids, variable names, fingerprints; never a value or a key. */
    details: Readonly<Record<string, unknown>> = {},
  ) {
    super(code, message + describe(coordinates), code === PiiErrorCode.SubjectErased ? 410 : 500, details);
    this.name = 'PiiError';
  }
}

/** `data.customFields.vip` style, for messages; the exact path is in `coordinates.path`. */
export function fieldName(path: readonly string[]): string {
  return ['data', ...path].join('.');
}

function describe(c: PiiCoordinates): string {
  const parts = [
    c.streamId !== undefined ? `stream ${c.streamId}` : undefined,
    c.streamRevision !== undefined ? `revision ${c.streamRevision}` : undefined,
    c.eventId !== undefined ? `event ${c.eventId}` : undefined,
    c.path !== undefined ? `field ${fieldName(c.path)}` : undefined,
  ].filter(Boolean);
  return parts.length ? ` (at ${parts.join(', ')})` : '';
}

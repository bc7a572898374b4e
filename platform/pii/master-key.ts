import { hkdfSync } from 'node:crypto';
import { z } from 'zod';
import { PiiError, PiiErrorCode } from './errors.js';

/**
 * The master key (PII_MASTER_KEY): exactly 32 random bytes, written as base64 (padded or not), base64url
 * (what embedded mode generates into DATA_DIR/secrets) or 64 hex digits. A passphrase is refused: its
 * entropy is unknown and AES-256 needs 32 bytes, not "at least 32 characters".
 *
 * The master key never encrypts anything itself. Two keys are derived from it with HKDF-SHA256 under
 * distinct labels: the key-encryption key that wraps data keys, and a fingerprint that names which master
 * key wrapped a row (so rotation and a mis-configured instance are told apart without trying keys). Other
 * uses of the same secret (e.g. the write side's email hash) should derive their own label the same way.
 */
export interface MasterKey {
  /** HKDF fingerprint (16 hex digits); safe to store and to log. */
  readonly id: string;
  /** AES-256 key-encryption key for wrapping data keys. */
  readonly kek: Buffer;
}

const HEX = /^[0-9a-fA-F]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]{43}=?$/;
const BASE64URL = /^[A-Za-z0-9_-]{43}$/;

/** The raw 32 bytes, or a reason in words (never echoing the value). */
function decodeMasterKeyText(text: string): Buffer | string {
  const t = text.trim();
  let bytes: Buffer;
  if (HEX.test(t)) bytes = Buffer.from(t, 'hex');
  else if (BASE64.test(t)) bytes = Buffer.from(t, 'base64');
  else if (BASE64URL.test(t)) bytes = Buffer.from(t, 'base64url');
  else return `must be 32 bytes written as base64, base64url or 64 hex digits (got ${t.length} characters)`;
  if (bytes.length !== 32) return `must decode to 32 bytes (got ${bytes.length})`;
  if (bytes.every((b) => b === 0)) return 'must be random bytes, not all zeros';
  return bytes;
}

/**
 * A zod schema for configuration parsers: the issue's path is the variable's (so a ConfigError names
 * PII_MASTER_KEY), the output the derived key. `PiiMasterKeyText` keeps the text for parsers that only
 * validate.
 */
export const PiiMasterKeyText = z.string().superRefine((value, ctx) => {
  const r = decodeMasterKeyText(value);
  if (typeof r === 'string') ctx.addIssue({ code: 'custom', message: r });
});
export const PiiMasterKey = PiiMasterKeyText.transform((value) => deriveMasterKey(decodeMasterKeyText(value) as Buffer));

/**
 * Parses a master key given as text; a missing or malformed value is a PiiError naming `variable`.
 */
export function parseMasterKey(value: string | undefined, variable = 'PII_MASTER_KEY'): MasterKey {
  if (value === undefined || value.trim() === '') {
    throw new PiiError(PiiErrorCode.MasterKeyInvalid, `${variable} is not set`, {}, { variable });
  }
  const r = decodeMasterKeyText(value);
  if (typeof r === 'string') throw new PiiError(PiiErrorCode.MasterKeyInvalid, `${variable} ${r}`, {}, { variable });
  return deriveMasterKey(r);
}

function deriveMasterKey(raw: Buffer): MasterKey {
  const kek = Buffer.from(hkdfSync('sha256', raw, Buffer.alloc(0), 'annals/pii/key-wrapping/v1', 32));
  // One-way: knowing the fingerprint tells nothing about the key-encryption key or the master key.
  const id = Buffer.from(hkdfSync('sha256', raw, Buffer.alloc(0), 'annals/pii/fingerprint/v1', 8)).toString('hex');
  return Object.freeze({ id, kek });
}

/**
 * A key for another use of the same secret (the write side's email and request hashes), derived with
 * HKDF-SHA256 under its own `label`, so no two uses ever share key material. Hex, 32 bytes.
 */
export function deriveSubkey(value: string | undefined, label: string, variable = 'PII_MASTER_KEY'): string {
  if (value === undefined || value.trim() === '') throw new PiiError(PiiErrorCode.MasterKeyInvalid, `${variable} is not set`, {}, { variable });
  const r = decodeMasterKeyText(value);
  if (typeof r === 'string') throw new PiiError(PiiErrorCode.MasterKeyInvalid, `${variable} ${r}`, {}, { variable });
  return Buffer.from(hkdfSync('sha256', r, Buffer.alloc(0), label, 32)).toString('hex');
}

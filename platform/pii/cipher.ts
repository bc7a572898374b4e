import { createCipheriv, createDecipheriv, randomBytes, randomFillSync, type KeyObject } from 'node:crypto';

/** A data key: its raw bytes (key-store.ts) or a KeyObject (tests, tools). */
export type CipherKey = Buffer | KeyObject;

/**
 * AES-256-GCM, from node:crypto, for one personal value and for one wrapped data key.
 *
 * The stored form of a personal value is a string (see README notes, "ciphertext format"):
 *
 *     pii:v1:<iv>:<ciphertext>:<tag>        each part base64url without padding
 *
 * - `v1` names everything below; `v2` (below: one operation per event) is what the codec writes now, and
 *   both stay readable.
 * - iv: 12 fresh random bytes per value (96-bit, GCM's native nonce size). With random nonces the safe
 *   limit is about 2^32 values per key; one key per data subject stays many orders of magnitude below.
 * - plaintext: the UTF-8 bytes of JSON.stringify(value), for strings too. One rule keeps the type of
 *   non-string values (numbers, objects, arrays) and makes lone surrogates survive byte-exact (JSON
 *   escapes them as \udXXX; raw UTF-8 would turn them into U+FFFD).
 * - tag: the full 16-byte GCM tag.
 * - associated data (not stored, rebuilt by the reader): the format version, tenant, subject, stream,
 *   event id and the concrete field path, as a JSON array (unambiguous, whatever characters the parts
 *   hold). A ciphertext copied to another field, array element, event, stream, subject or tenant fails
 *   authentication instead of decrypting.
 */
export const CIPHERTEXT_PREFIX = 'pii:';
const V1 = 'pii:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface FieldBinding {
  readonly tenantId: string;
  readonly subjectId: string;
  readonly streamId: string;
  readonly eventId: string;
  readonly path: readonly string[];
}

/**
 * The associated data of every field of one event share a prefix: computed once per event, then each
 * field appends its path. `prefix + ',' + JSON(path) + ']'` is exactly JSON.stringify of the whole array.
 */
export function aadPrefix(b: Omit<FieldBinding, 'path'>): string {
  // Event ids are compared case-insensitively by the store (UUIDs), so they are bound lower-cased.
  return JSON.stringify(['annals-pii-v1', b.tenantId, b.subjectId, b.streamId, b.eventId.toLowerCase()]).slice(0, -1);
}

function fieldAad(prefix: string, path: readonly string[]): Buffer {
  return Buffer.from(`${prefix},${JSON.stringify(path)}]`, 'utf8');
}

// IVs come from a pool of CSPRNG bytes refilled 4 KiB at a time: one randomBytes call per value cost
// about as much as the encryption itself (measured: bench/pii-codec.ts). Each IV is used exactly once.
const POOL_BYTES = IV_BYTES * 341;
const ivPool = Buffer.alloc(POOL_BYTES);
let ivOffset = POOL_BYTES;
function freshIv(): Buffer {
  if (ivOffset + IV_BYTES > POOL_BYTES) {
    randomFillSync(ivPool);
    ivOffset = 0;
  }
  // A view, not a copy: callers use it synchronously (the cipher copies it; its text is taken before they
  // return), and no refill happens before the next call.
  const iv = ivPool.subarray(ivOffset, ivOffset + IV_BYTES);
  ivOffset += IV_BYTES;
  return iv;
}

export function encryptValue(key: CipherKey, binding: FieldBinding, value: unknown): string {
  return encryptField(key, aadPrefix(binding), binding.path, value);
}

export function encryptField(key: CipherKey, prefix: string, path: readonly string[], value: unknown): string {
  const iv = freshIv();
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(fieldAad(prefix, path));
  const ct = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return `${V1}${iv.toString('base64url')}:${ct.toString('base64url')}:${cipher.getAuthTag().toString('base64url')}`;
}

/**
 * `pii:v2`: ONE AES-256-GCM operation per event instead of one per field (the read side's cost is a count of
 * node:crypto cipher contexts — set-up plus garbage — not of bytes: bench/pii-reader.ts). Every personal
 * value still sits at its own path as a string of the v1 shape,
 *
 *     pii:v2:<iv>:<segment>:<tag>        each part base64url without padding
 *
 * where all the values of one event share the IV and the tag, and each segment is that value's slice of
 * one GCM ciphertext. The fields are sealed in canonical order (by the JSON text of their concrete path);
 * the plaintext of field i is JSON.stringify(value_i), followed by "," unless it is the last, so the whole
 * plaintext is the elements of one JSON array. The associated data is JSON:
 * ["annals-pii-v2", tenant, subject, stream, event id (lower case), [[path, segment bytes], …]], so a value
 * moved to another field, array element, event, stream, subject or tenant, dropped, duplicated or swapped
 * with another, fails authentication — for the event as a whole: one tag cannot say which field was altered.
 * A value carrying another event's IV or tag, or a malformed one, is still named exactly.
 */
const V2 = 'pii:v2:';

export interface SealedField {
  /** The concrete path the value is stored at. */
  readonly path: readonly string[];
  /** JSON.stringify(path): the canonical sort key and the path's form in the associated data. */
  readonly pathKey: string;
}

/** What `openEvent` needs per field: where it is, and the stored string. */
export interface OpenField extends SealedField {
  readonly text: string;
}

/** The shared part of an event's v2 associated data (everything but the field list). */
export function aadPrefixV2(b: Omit<FieldBinding, 'path'>): string {
  // JSON.stringify of the five-element array, without its closing bracket, built from a head shared by the
  // events of one stream and subject: appends and reads come in runs of them. Stringifying the whole array
  // per event took ~2% of a concurrency-16 writer's CPU (profiled 2026-12-01; no end-to-end change measurable).
  if (b.tenantId !== lastHead.tenantId || b.subjectId !== lastHead.subjectId || b.streamId !== lastHead.streamId) {
    lastHead = { tenantId: b.tenantId, subjectId: b.subjectId, streamId: b.streamId, text: JSON.stringify(['annals-pii-v2', b.tenantId, b.subjectId, b.streamId]).slice(0, -1) };
  }
  return `${lastHead.text},${JSON.stringify(b.eventId.toLowerCase())}`;
}
let lastHead = { tenantId: '', subjectId: '', streamId: '', text: JSON.stringify(['annals-pii-v2', '', '', '']).slice(0, -1) };

/** Canonical order of an event's sealed fields: by the JSON text of the path (plain code-unit order). */
export const bySealOrder = (a: SealedField, b: SealedField): number => (a.pathKey < b.pathKey ? -1 : a.pathKey > b.pathKey ? 1 : 0);

function aadV2(prefix: string, fields: readonly SealedField[], lengths: readonly number[]): Buffer {
  let list = '';
  for (let i = 0; i < fields.length; i++) list += `${i === 0 ? '' : ','}[${fields[i]!.pathKey},${lengths[i]}]`;
  return Buffer.from(`${prefix},[${list}]]`, 'utf8');
}

/** Encrypts the values of one event's fields (given in canonical order) with one GCM operation. */
export function sealEvent(key: CipherKey, prefix: string, fields: readonly SealedField[], values: readonly unknown[]): string[] {
  // One buffer for the whole plaintext, each value's byte length measured rather than encoded apart (a
  // Buffer per value cost more than the cipher). JSON.stringify escapes lone surrogates, so every text is
  // well-formed and its UTF-8 length is exactly its share of the buffer.
  const n = values.length;
  const lengths = new Array<number>(n);
  let joined = '';
  for (let i = 0; i < n; i++) {
    const text = i === n - 1 ? JSON.stringify(values[i]) : `${JSON.stringify(values[i])},`;
    lengths[i] = Buffer.byteLength(text, 'utf8');
    joined += text;
  }
  const iv = freshIv();
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aadV2(prefix, fields, lengths));
  // GCM is a stream mode: update() returns exactly as many bytes as it was given.
  const ct = cipher.update(Buffer.from(joined, 'utf8'));
  cipher.final();
  const head = `${V2}${iv.toString('base64url')}:`;
  const tail = `:${cipher.getAuthTag().toString('base64url')}`;
  const out = new Array<string>(n);
  let at = 0;
  for (let i = 0; i < n; i++) out[i] = `${head}${ct.subarray(at, (at += lengths[i]!)).toString('base64url')}${tail}`;
  return out;
}

export type OpenOutcome =
  | { readonly ok: true; readonly values: unknown[] }
  /**
   * `field`: the index of the one field to blame (malformed, another version, or another event's seal);
   * absent when the event's tag fails as a whole.
   */
  | { readonly ok: false; readonly reason: 'unsupported' | 'invalid'; readonly field?: number };

/** Decrypts one event's v2 fields (given in canonical order) with one GCM operation. */
export function openEvent(key: CipherKey, prefix: string, fields: readonly OpenField[]): OpenOutcome {
  const n = fields.length;
  const segments: string[] = new Array<string>(n);
  const seals: string[] = new Array<string>(n);
  const lengths: number[] = new Array<number>(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const text = fields[i]!.text;
    if (!text.startsWith(V2)) return { ok: false, reason: text.startsWith(V1) ? 'invalid' : 'unsupported', field: i };
    const body = text.slice(V2.length);
    if (!V1_BODY.test(body)) return { ok: false, reason: 'invalid', field: i };
    const a = body.indexOf(':');
    const b = body.indexOf(':', a + 1);
    const segment = body.slice(a + 1, b);
    // base64url without padding: 4 characters carry 3 bytes; a remainder of 1 character is impossible.
    const rem = segment.length % 4;
    if (rem === 1) return { ok: false, reason: 'invalid', field: i };
    segments[i] = segment;
    seals[i] = body.slice(0, a) + body.slice(b);
    lengths[i] = ((segment.length - rem) / 4) * 3 + (rem === 0 ? 0 : rem - 1);
    total += lengths[i]!;
  }
  if (seals.some((x) => x !== seals[0])) {
    // Two seals in one event: a value pasted from another event. Blame the first field that disagrees with
    // the seal most of its fields carry (on a tie, with the first field's).
    const counts = new Map<string, number>();
    for (const x of seals) counts.set(x, (counts.get(x) ?? 0) + 1);
    let major = seals[0]!;
    for (const [x, c] of counts) if (c > counts.get(major)!) major = x;
    return { ok: false, reason: 'invalid', field: seals.findIndex((x) => x !== major) };
  }
  const body0 = fields[0]!.text.slice(V2.length);
  const ivText = body0.slice(0, body0.indexOf(':'));
  const tagText = body0.slice(body0.lastIndexOf(':') + 1);
  const iv = Buffer.from(ivText, 'base64url');
  const tag = Buffer.from(tagText, 'base64url');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return { ok: false, reason: 'invalid' };
  // Every segment decoded straight into one buffer: no buffer per field.
  const ct = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < n; i++) at += ct.write(segments[i]!, at, lengths[i]!, 'base64url');
  if (at !== total) return { ok: false, reason: 'invalid' };
  let plain: string;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aadV2(prefix, fields, lengths));
    decipher.setAuthTag(tag);
    const out = decipher.update(ct);
    decipher.final();
    plain = out.toString('utf8');
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  try {
    const values = JSON.parse(`[${plain}]`) as unknown;
    // Authentic, so written by sealEvent: one element per field. Anything else is not ours.
    if (!Array.isArray(values) || values.length !== n) return { ok: false, reason: 'invalid' };
    return { ok: true, values };
  } catch {
    return { ok: false, reason: 'invalid' };
  }
}

export type DecryptOutcome =
  | { readonly ok: true; readonly value: unknown }
  /** `unsupported`: a `pii:` string of another version; `invalid`: malformed or not authentic. */
  | { readonly ok: false; readonly reason: 'unsupported' | 'invalid' };

// The three base64url parts after the version, checked in one pass (Buffer.from would silently skip
// characters outside the alphabet, so a mangled ciphertext must be refused before decoding).
const V1_BODY = /^[A-Za-z0-9_-]*:[A-Za-z0-9_-]*:[A-Za-z0-9_-]*$/;

export function isCiphertext(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(CIPHERTEXT_PREFIX);
}

export function decryptValue(key: CipherKey, binding: FieldBinding, text: string): DecryptOutcome {
  return decryptField(key, aadPrefix(binding), binding.path, text);
}

/**
 * The read side's hot path (a projection decrypts every personal field of every event it applies):
 * parsed with indexOf after one regex check instead of split + a regex per part, and without copying the
 * plaintext (GCM is a stream mode: `final()` only checks the tag and returns nothing). Measured with
 * bench/pii-reader.ts; the node:crypto context set-up per value remains the bulk of the cost.
 */
export function decryptField(key: CipherKey, prefix: string, path: readonly string[], text: string): DecryptOutcome {
  // A v2 value alone is not a v1 value: it is only readable together with its event's other fields.
  if (!text.startsWith(V1)) return { ok: false, reason: text.startsWith(V2) ? 'invalid' : 'unsupported' };
  const body = text.slice(V1.length);
  if (!V1_BODY.test(body)) return { ok: false, reason: 'invalid' };
  const a = body.indexOf(':');
  const b = body.indexOf(':', a + 1);
  const iv = Buffer.from(body.slice(0, a), 'base64url');
  const tag = Buffer.from(body.slice(b + 1), 'base64url');
  // A short tag would let GCM accept a truncated (weaker) tag: refuse anything but the full 16 bytes.
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return { ok: false, reason: 'invalid' };
  let plain: string;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(fieldAad(prefix, path));
    decipher.setAuthTag(tag);
    const out = decipher.update(Buffer.from(body.slice(a + 1, b), 'base64url'));
    const rest = decipher.final();
    plain = rest.length === 0 ? out.toString('utf8') : Buffer.concat([out, rest]).toString('utf8');
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  try {
    return { ok: true, value: JSON.parse(plain) as unknown };
  } catch {
    // Authentic but not JSON can only come from a writer with another plaintext rule: not ours.
    return { ok: false, reason: 'invalid' };
  }
}

/**
 * Data-key wrapping: AES-256-GCM under the key-encryption key derived from the master key, bound to the
 * tenant and subject, so a wrapped key copied onto another subject's row does not unwrap.
 * Stored as `v1:<iv>:<ciphertext>:<tag>` (base64url).
 */
function wrapAad(tenantId: string, subjectId: string): Buffer {
  return Buffer.from(JSON.stringify(['annals-pii-key-v1', tenantId, subjectId]), 'utf8');
}

export function wrapKey(kek: Buffer, tenantId: string, subjectId: string, dataKey: Buffer): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(wrapAad(tenantId, subjectId));
  const ct = Buffer.concat([cipher.update(dataKey), cipher.final()]);
  return `v1:${iv.toString('base64url')}:${ct.toString('base64url')}:${cipher.getAuthTag().toString('base64url')}`;
}

/** The data key, or undefined when the wrapped form does not authenticate under `kek`. */
export function unwrapKey(kek: Buffer, tenantId: string, subjectId: string, wrapped: string): Buffer | undefined {
  // Run once per data subject a reader meets for the first time (a catch-up: once per event): indexOf,
  // not split, and no concatenation (GCM's final() returns nothing).
  if (!wrapped.startsWith('v1:')) return undefined;
  const a = wrapped.indexOf(':', 3);
  const b = a < 0 ? -1 : wrapped.indexOf(':', a + 1);
  if (b < 0 || wrapped.indexOf(':', b + 1) >= 0) return undefined;
  try {
    const iv = Buffer.from(wrapped.slice(3, a), 'base64url');
    const tag = Buffer.from(wrapped.slice(b + 1), 'base64url');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', kek, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(wrapAad(tenantId, subjectId));
    decipher.setAuthTag(tag);
    const key = decipher.update(Buffer.from(wrapped.slice(a + 1, b), 'base64url'));
    decipher.final();
    return key.length === 32 ? key : undefined;
  } catch {
    return undefined;
  }
}

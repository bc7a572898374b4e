import { CorruptEventError } from '../../schemas/events/errors.js';
import { ERASED_MARKER } from '../../schemas/events/opaque-personal.js';
import type { DataPath } from '../../schemas/events/personal-data.js';
import { personalPathsOf, type RawStoredEvent } from '../../schemas/events/registry.js';
import { aadPrefix, aadPrefixV2, bySealOrder, decryptField, encryptField, isCiphertext, openEvent, sealEvent, type FieldBinding } from './cipher.js';
import { PiiError, PiiErrorCode, fieldName } from './errors.js';
import { subjectKey, type DataKey, type KeyLookup, type KeyStore, type SubjectRef } from './key-store.js';

/**
 * The codec the event-store facade will run at append (encode) and at read (decode), so every reader —
 * write side, relay, projections, replay, audit — sees plaintext or an explicit erased marker and nothing
 * in between. It changes only the values at the paths `personalPaths(schema)` finds for the event's type
 * at its stored schema version; every other field, and the envelope, pass through untouched.
 */

const V2_PREFIX = 'pii:v2:';

/** What an erased personal value reads as, whatever its type was. */
export const ERASED = ERASED_MARKER;

export interface EventToEncode {
  readonly streamId: string;
  /** The id the event will be stored under (the facade assigns it before encoding): it is bound into each ciphertext. */
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
  readonly metadata: { readonly tenantId: string; readonly subjectId?: string | undefined };
}

/**
 * A stored record with its data decoded. `metadata` is parsed when the codec had to read it (an event with a
 * ciphertext: parseEvent then takes it as it is), else left as the adapter gave it.
 */
export type DecodedRecord<R extends RawStoredEvent = RawStoredEvent> = Omit<R, 'data'> & {
  readonly data: unknown;
  /** True when at least one personal value was erased (its subject's key is destroyed). */
  readonly erased: boolean;
  /** Concrete paths (array indexes and record keys included) whose values read as ERASED. */
  readonly erasedPaths: readonly DataPath[];
  /** Concrete paths holding plaintext where a ciphertext was expected; only with `onPlaintext: 'flag'`. */
  readonly plaintextPaths: readonly DataPath[];
};

export interface PiiCodecOptions {
  readonly keyStore: KeyStore;
  /**
   * A personal value stored in clear (a store written before encryption was switched on): 'error' (the
   * default) throws PII_ERR_PLAINTEXT_FOUND naming the field; 'flag' passes it through and lists its path
   * in `plaintextPaths`, for a migration tool that re-encrypts old stores. Never silently mixed.
   */
  readonly onPlaintext?: 'error' | 'flag';
  /**
   * The format new ciphertexts are written in: 'v2' (the default: one AES-GCM operation per event) or
   * 'v1' (one per field). Both are always readable.
   */
  readonly format?: 'v1' | 'v2';
  /** Personal paths of a type at a stored version; defaults to the event registry's. */
  readonly personalPathsOf?: (type: string, schemaVersion: number) => readonly DataPath[];
}

export interface PiiCodec {
  encode(event: EventToEncode): Promise<unknown>;
  /** Encrypted `data` of each event, in order; keys are fetched or created once per subject. */
  encodeAll(events: readonly EventToEncode[]): Promise<unknown[]>;
  decode<R extends RawStoredEvent>(record: R): Promise<DecodedRecord<R>>;
  /** Decodes a batch with at most one key-store statement, whatever the number of subjects. */
  decodeAll<R extends RawStoredEvent>(records: readonly R[], options?: DecodeOptions): Promise<DecodedRecord<R>[]>;
}

/**
 * Called between records; when it returns a promise, the decoder awaits it before the next record. A
 * projector decodes a whole fetch with ONE key-store statement while a transaction is in flight on the
 * same thread, and gives that transaction's round trips a turn every few milliseconds (projector.ts).
 */
export type Pause = (stage: PauseStage) => Promise<void> | undefined;

/**
 * Where the decoder is: `prepare` (parsing records and finding their subjects, before the batch's one key
 * lookup) or `decode` (decrypting, then validating). A scheduler may let `prepare` go first, so every batch's
 * lookup (I/O) is in flight early while the decoding (CPU) of older batches goes on.
 */
export type PauseStage = 'prepare' | 'decode';

export interface DecodeOptions {
  readonly pause?: Pause | undefined;
}

/** Where one present personal value sits: its container, its key there, and its concrete path. */
interface Slot {
  readonly parent: Record<string, unknown> | unknown[];
  readonly key: string | number;
  /** The concrete path (`['tags', '3']`, not `['tags', '*']`): what its ciphertext is bound to. */
  readonly path: readonly string[];
  readonly value: unknown;
}

/**
 * Every present (not null, not undefined) value at `patterns`, found in one pass. The caller owns `root`
 * (a fresh parse or copy) and writes replacements straight into the slots: no copy per path, which the
 * bench showed to cost more than the cipher itself.
 */
function slotsOf(root: unknown, patterns: readonly DataPath[]): Slot[] {
  const out: Slot[] = [];
  // An empty pattern would mean "the whole payload is personal": no schema does that, and it has no field to bind to.
  for (const p of patterns) if (p.length > 0) visit(out, root, p, 0, []);
  return out;
}

// Module-level functions, not closures made per call: under tsx every function expression also costs a
// name-defining helper call, and this runs for every personal value a projector reads.
function visit(out: Slot[], node: unknown, pattern: DataPath, i: number, path: readonly string[]): void {
  if (node === null || typeof node !== 'object') return;
  const step = pattern[i]!;
  if (step === '*') {
    if (Array.isArray(node)) for (let j = 0; j < node.length; j++) visitChild(out, node, j, node[j], pattern, i, path);
    else for (const k of Object.keys(node)) visitChild(out, node as Record<string, unknown>, k, (node as Record<string, unknown>)[k], pattern, i, path);
  } else if (!Array.isArray(node) && Object.hasOwn(node, step)) {
    visitChild(out, node as Record<string, unknown>, step, (node as Record<string, unknown>)[step], pattern, i, path);
  }
}

function visitChild(out: Slot[], parent: Record<string, unknown> | unknown[], key: string | number, child: unknown, pattern: DataPath, i: number, path: readonly string[]): void {
  const next = path.length === 0 ? [String(key)] : [...path, String(key)];
  if (i < pattern.length - 1) visit(out, child, pattern, i + 1, next);
  else if (child !== undefined && child !== null) out.push({ parent, key, path: next, value: child });
}

/**
 * `root` with every container on a path of `patterns` replaced by a shallow copy, so the slots found in the
 * result can be written without touching the original. Containers off the paths are shared, not copied.
 */
function copyAlong(root: unknown, patterns: readonly DataPath[]): unknown {
  if (root === null || typeof root !== 'object') return root;
  const copies = new Set<object>();
  const top = shallowCopy(root, copies);
  for (const p of patterns) if (p.length > 1) copyPath(top, p, 0, copies);
  return top;
}

function copyPath(node: Record<string, unknown> | unknown[], pattern: DataPath, i: number, copies: Set<object>): void {
  // The container at pattern[i] is a copy; its children one step down the path are copied unless already.
  const step = pattern[i]!;
  const keys: (string | number)[] = step === '*' ? (Array.isArray(node) ? node.map((_, j) => j) : Object.keys(node)) : !Array.isArray(node) && Object.hasOwn(node, step) ? [step] : [];
  for (const k of keys) {
    const child = (node as Record<string | number, unknown>)[k];
    if (child === null || typeof child !== 'object') continue;
    const copy = copies.has(child) ? (child as Record<string, unknown> | unknown[]) : shallowCopy(child, copies);
    (node as Record<string | number, unknown>)[k] = copy;
    if (i + 1 < pattern.length - 1) copyPath(copy, pattern, i + 1, copies);
  }
}

// A spread defines own properties (a key "__proto__" included), where Object.assign would call the setter.
function shallowCopy(node: object, copies: Set<object>): Record<string, unknown> | unknown[] {
  const copy = Array.isArray(node) ? node.slice() : { ...(node as Record<string, unknown>) };
  copies.add(copy);
  return copy;
}

// Slots are own properties of a fresh JSON parse or of a copy made by copyAlong, so assignment writes the own property — a record key
// "__proto__" included (the prototype setter is only reached when no own property exists; tested).
const put = (slot: Slot, value: unknown): void => {
  (slot.parent as Record<string | number, unknown>)[slot.key] = value;
};

interface RecordMeta {
  readonly tenantId?: string;
  readonly subjectId?: string;
}

/** A fresh value the codec may write into: parsed from the stored text, or a JSON copy of an object. */
function decodeJson(value: unknown, what: string, r: RawStoredEvent): unknown {
  if (typeof value !== 'string' && !(value instanceof Uint8Array)) return value === undefined ? value : JSON.parse(JSON.stringify(value));
  try {
    // Buffer's own UTF-8 decoding: a TextDecoder per record cost more than the parse (bench/pii-reader.ts).
    return JSON.parse(typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : new TextDecoder().decode(value));
  } catch (e) {
    throw new CorruptEventError(`${what} is not valid JSON (${(e as Error).message})`, {
      streamId: r.streamId,
      streamRevision: r.streamRevision,
      position: r.position,
      eventId: r.eventId,
    });
  }
}

/** One record on its way through decodeAll: its data parsed, its personal slots found, its subject. */
interface Prepared<R extends RawStoredEvent> {
  readonly r: R;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly slots: readonly Slot[];
  readonly ref: SubjectRef | undefined;
  /** subjectKey(ref), computed once. */
  readonly subject: string;
}

const NO_SLOTS: readonly Slot[] = [];
const NO_PATHS: readonly DataPath[] = [];

function decodeOne<R extends RawStoredEvent>(p: Prepared<R>, keys: ReadonlyMap<string, KeyLookup>, onPlaintext: 'error' | 'flag'): DecodedRecord<R> {
  const { r, data, slots, ref } = p;
  let sealed: Slot[] | undefined;
  let plaintextPaths: DataPath[] | undefined;
  for (const slot of slots) {
    if (isCiphertext(slot.value)) {
      (sealed ??= []).push(slot);
    } else if (onPlaintext === 'flag') {
      (plaintextPaths ??= []).push(slot.path);
    } else {
      throw new PiiError(PiiErrorCode.PlaintextFound, `a personal value is stored in clear where a ciphertext is expected (a store written before encryption?)`, at(r, slot.path));
    }
  }
  let erasedPaths: DataPath[] | undefined;
  if (sealed) {
    const found = ref ? keys.get(p.subject) : undefined;
    if (!ref || !found) throw new Error('unreachable: a ciphertext without a looked-up subject');
    if (found.state === 'erased') {
      erasedPaths = [];
      for (const slot of sealed) {
        erasedPaths.push(slot.path);
        put(slot, ERASED);
      }
    } else if (found.state === 'missing') {
      throw new PiiError(
        PiiErrorCode.KeyMissing,
        `subject ${ref.subjectId} has neither a data key nor a destruction record (key table lost or restored from an older backup?)`,
        at(r, sealed[0]!.path),
        { tenantId: ref.tenantId, subjectId: ref.subjectId },
      );
    } else {
      const binding = { tenantId: ref.tenantId, subjectId: ref.subjectId, streamId: r.streamId, eventId: r.eventId };
      if (sealed.some(isV2)) openV2(r, found.key, binding, sealed);
      else openV1(r, found.key, binding, sealed);
    }
  }
  // Object.assign and then the fields, not `{ ...r, data, … }`: a spread that overrides properties of its
  // source cost ~3 µs per record (measured with node 20: more than the record's decryption).
  const out = Object.assign({}, r) as Record<string, unknown>;
  out.data = data;
  out.metadata = p.metadata;
  out.erased = erasedPaths !== undefined;
  out.erasedPaths = erasedPaths ?? NO_PATHS;
  out.plaintextPaths = plaintextPaths ?? NO_PATHS;
  return out as DecodedRecord<R>;
}

const isV2 = (slot: Slot): boolean => (slot.value as string).startsWith(V2_PREFIX);

const at = (r: RawStoredEvent, path: readonly string[]) => ({ streamId: r.streamId, streamRevision: r.streamRevision, eventId: r.eventId, path });

function unsupported(r: RawStoredEvent, path: readonly string[], value: string): PiiError {
  return new PiiError(PiiErrorCode.CiphertextUnsupported, `a ciphertext of an unknown format version (${value.split(':', 2).join(':')})`, at(r, path));
}

function invalid(r: RawStoredEvent, path: readonly string[]): PiiError {
  return new PiiError(PiiErrorCode.CiphertextInvalid, `a ciphertext does not authenticate (tampered, or moved from another field, event, stream or subject)`, at(r, path));
}

/** Every v1 value on its own (one GCM operation each). */
function openV1(r: RawStoredEvent, key: DataKey, binding: Omit<FieldBinding, 'path'>, sealed: readonly Slot[]): void {
  const prefix = aadPrefix(binding);
  for (const slot of sealed) {
    const value = slot.value as string;
    const d = decryptField(key, prefix, slot.path, value);
    if (!d.ok) throw d.reason === 'unsupported' ? unsupported(r, slot.path, value) : invalid(r, slot.path);
    put(slot, d.value);
  }
}

/** The event's one v2 seal (cipher.ts): one GCM operation over its values in canonical field order. */
function openV2(r: RawStoredEvent, key: DataKey, binding: Omit<FieldBinding, 'path'>, sealed: readonly Slot[]): void {
  const fields = sealed.map(toOpenField);
  if (fields.length > 1) fields.sort(bySealOrder);
  const opened = openEvent(key, aadPrefixV2(binding), fields);
  if (opened.ok) {
    for (let i = 0; i < fields.length; i++) put(fields[i]!.slot, opened.values[i]);
    return;
  }
  if (opened.field !== undefined) {
    const blamed = fields[opened.field]!;
    throw opened.reason === 'unsupported' ? unsupported(r, blamed.path, blamed.text) : invalid(r, blamed.path);
  }
  // One tag for the event: it cannot say which of its fields was altered, so the error names them all.
  const names = fields.map((f) => fieldName(f.path));
  throw new PiiError(
    PiiErrorCode.CiphertextInvalid,
    `the ciphertexts sealed together in this event (${names.join(', ')}) do not authenticate: one of them was tampered with, or moved, dropped or swapped`,
    at(r, fields[0]!.path),
    { fields: names },
  );
}

interface SealField {
  readonly slot: Slot;
  readonly path: readonly string[];
  readonly pathKey: string;
}

// A field's path key, JSON.stringify(path), memoised for one-step paths (most personal fields): the same
// few names come back on every event.
const oneStepKeys = new Map<string, string>();
function pathKeyOf(path: readonly string[]): string {
  if (path.length !== 1) return JSON.stringify(path);
  const name = path[0]!;
  let k = oneStepKeys.get(name);
  if (k === undefined) {
    k = JSON.stringify(path);
    // Bounded: record keys of user data are one-step paths too, and need not all be remembered.
    if (oneStepKeys.size < 1024) oneStepKeys.set(name, k);
  }
  return k;
}

const toSealField = (slot: Slot): SealField => ({ slot, path: slot.path, pathKey: pathKeyOf(slot.path) });

const toOpenField = (slot: Slot) => ({ slot, path: slot.path, pathKey: JSON.stringify(slot.path), text: slot.value as string });

export function createPiiCodec(options: PiiCodecOptions): PiiCodec {
  const { keyStore } = options;
  const format = options.format ?? 'v2';
  const onPlaintext = options.onPlaintext ?? 'error';
  const pathsOf = options.personalPathsOf ?? personalPathsOf;
  const pathCache = new Map<string, readonly DataPath[]>();
  const patternsOf = (type: string, version: number): readonly DataPath[] => {
    const k = `${type}@${version}`;
    let p = pathCache.get(k);
    if (!p) pathCache.set(k, (p = pathsOf(type, version)));
    return p;
  };

  const subjectOf = (meta: RecordMeta, where: { streamId: string; streamRevision?: bigint; eventId: string }, path: readonly string[]): SubjectRef => {
    if (typeof meta.tenantId !== 'string' || typeof meta.subjectId !== 'string' || meta.subjectId === '') {
      throw new PiiError(PiiErrorCode.NoSubject, `personal data in ${fieldName(path)} but the event names no data subject (metadata.subjectId), so no key can cover it`, {
        ...where,
        path,
      });
    }
    return { tenantId: meta.tenantId, subjectId: meta.subjectId };
  };

  const encodeAll = async (events: readonly EventToEncode[]): Promise<unknown[]> => {
    // The caller's object is never mutated: the containers on a personal path are copied, nothing else
    // (a JSON copy of the whole payload cost more than the seal). The stored text is JSON.stringify of the
    // result, and each sealed value is JSON.stringify of its own value, so what is encrypted is what a reader
    // gets back (undefined members dropped, toJSON applied, as JSON.stringify does).
    const prepared = events.map((e) => {
      const patterns = patternsOf(e.type, e.schemaVersion);
      const data = patterns.length === 0 ? e.data : copyAlong(e.data, patterns);
      const slots = patterns.length === 0 ? NO_SLOTS : slotsOf(data, patterns);
      return { e, data, slots, ref: slots.length === 0 ? undefined : subjectOf(e.metadata, e, slots[0]!.path) };
    });
    // Usually one subject per command; a cached key costs no statement at all, and new subjects (of this
    // call and of concurrent ones) are created together by the key store.
    const refs = new Map<string, SubjectRef>();
    for (const { ref } of prepared) if (ref) refs.set(subjectKey(ref), ref);
    const keys = new Map<string, DataKey>(await Promise.all([...refs].map(async ([k, ref]) => [k, await keyStore.getOrCreate(ref)] as const)));
    return prepared.map(({ e, data, slots, ref }) => {
      if (!ref) return data;
      const key = keys.get(subjectKey(ref))!;
      const binding = { tenantId: ref.tenantId, subjectId: ref.subjectId, streamId: e.streamId, eventId: e.eventId };
      if (format === 'v1') {
        const prefix = aadPrefix(binding);
        for (const slot of slots) put(slot, encryptField(key, prefix, slot.path, slot.value));
        return data;
      }
      // Built field by field: a spread of each slot with its path key cost more than its seal.
      const fields = new Array<SealField>(slots.length);
      for (let i = 0; i < slots.length; i++) fields[i] = toSealField(slots[i]!);
      if (fields.length > 1) fields.sort(bySealOrder);
      const values = new Array<unknown>(fields.length);
      for (let i = 0; i < fields.length; i++) values[i] = fields[i]!.slot.value;
      const texts = sealEvent(key, aadPrefixV2(binding), fields, values);
      for (let i = 0; i < fields.length; i++) put(fields[i]!.slot, texts[i]);
      return data;
    });
  };

  const decodeAll = async <R extends RawStoredEvent>(records: readonly R[], options: DecodeOptions = {}): Promise<DecodedRecord<R>[]> => {
    const { pause } = options;
    const prepared: Prepared<R>[] = new Array<Prepared<R>>(records.length);
    const refs: SubjectRef[] = [];
    for (let i = 0; i < records.length; i++) {
      if (pause) {
        const p = pause('prepare');
        if (p) await p;
      }
      const r = records[i]!;
      const patterns = patternsOf(r.type, r.schemaVersion);
      if (patterns.length === 0) {
        prepared[i] = { r, data: r.data, metadata: r.metadata, slots: NO_SLOTS, ref: undefined, subject: '' };
        continue;
      }
      const data = decodeJson(r.data, 'data', r);
      const slots = slotsOf(data, patterns);
      const firstCipher = slots.find((p) => isCiphertext(p.value));
      if (!firstCipher) {
        prepared[i] = { r, data, metadata: r.metadata, slots, ref: undefined, subject: '' };
        continue;
      }
      // Parsed once here and handed on parsed: parseEvent takes it as it is instead of parsing it again.
      const metadata = decodeJson(r.metadata, 'metadata', r);
      const ref = subjectOf((metadata ?? {}) as RecordMeta, r, firstCipher.path);
      refs.push(ref);
      prepared[i] = { r, data, metadata, slots, ref, subject: subjectKey(ref) };
    }
    const keys: ReadonlyMap<string, KeyLookup> = refs.length > 0 ? await keyStore.lookup(refs) : new Map();
    const out: DecodedRecord<R>[] = new Array<DecodedRecord<R>>(prepared.length);
    for (let i = 0; i < prepared.length; i++) {
      if (pause) {
        const p = pause('decode');
        if (p) await p;
      }
      out[i] = decodeOne(prepared[i]!, keys, onPlaintext);
    }
    return out;
  };

  return {
    encode: async (event) => (await encodeAll([event]))[0],
    encodeAll,
    decode: async (record) => (await decodeAll([record]))[0]!,
    decodeAll,
  };
}

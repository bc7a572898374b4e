import type { KeyObject } from 'node:crypto';
import { CorruptEventError } from '../../schemas/events/errors.js';
import { ERASED_MARKER } from '../../schemas/events/opaque-personal.js';
import type { DataPath } from '../../schemas/events/personal-data.js';
import { personalPathsOf, type RawStoredEvent } from '../../schemas/events/registry.js';
import { aadPrefix, decryptField, encryptField, isCiphertext } from './cipher.js';
import { PiiError, PiiErrorCode, fieldName } from './errors.js';
import { subjectKey, type KeyLookup, type KeyStore, type SubjectRef } from './key-store.js';

/**
 * The codec the event-store facade will run at append (encode) and at read (decode), so every reader —
 * write side, relay, projections, replay, audit — sees plaintext or an explicit erased marker and nothing
 * in between. It changes only the values at the paths `personalPaths(schema)` finds for the event's type
 * at its stored schema version; every other field, and the envelope, pass through untouched.
 */

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

/** A stored record with its data decoded. `metadata` is left as the adapter gave it. */
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
  /** Personal paths of a type at a stored version; defaults to the event registry's. */
  readonly personalPathsOf?: (type: string, schemaVersion: number) => readonly DataPath[];
}

export interface PiiCodec {
  encode(event: EventToEncode): Promise<unknown>;
  /** Encrypted `data` of each event, in order; keys are fetched or created once per subject. */
  encodeAll(events: readonly EventToEncode[]): Promise<unknown[]>;
  decode<R extends RawStoredEvent>(record: R): Promise<DecodedRecord<R>>;
  /** Decodes a batch with at most one key-store statement, whatever the number of subjects. */
  decodeAll<R extends RawStoredEvent>(records: readonly R[]): Promise<DecodedRecord<R>[]>;
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
  const visit = (node: unknown, pattern: DataPath, i: number, path: readonly string[]): void => {
    if (node === null || typeof node !== 'object') return;
    const last = i === pattern.length - 1;
    const at = (parent: Record<string, unknown> | unknown[], key: string | number, child: unknown): void => {
      const next = [...path, String(key)];
      if (!last) visit(child, pattern, i + 1, next);
      else if (child !== undefined && child !== null) out.push({ parent, key, path: next, value: child });
    };
    const step = pattern[i]!;
    if (step === '*') {
      if (Array.isArray(node)) node.forEach((child, j) => at(node, j, child));
      else for (const [k, child] of Object.entries(node)) at(node as Record<string, unknown>, k, child);
    } else if (!Array.isArray(node) && Object.hasOwn(node, step)) {
      at(node as Record<string, unknown>, step, (node as Record<string, unknown>)[step]);
    }
  };
  // An empty pattern would mean "the whole payload is personal": no schema does that, and it has no field to bind to.
  for (const p of patterns) if (p.length > 0) visit(root, p, 0, []);
  return out;
}

// Slots are own properties of a fresh JSON parse, so assignment writes the own property — a record key
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

export function createPiiCodec(options: PiiCodecOptions): PiiCodec {
  const { keyStore } = options;
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
    // A JSON copy: the caller's object is never mutated, and what is encrypted is exactly what is stored
    // (undefined members dropped, as JSON.stringify would).
    const prepared = events.map((e) => {
      const data: unknown = e.data === undefined ? undefined : JSON.parse(JSON.stringify(e.data));
      const slots = slotsOf(data, patternsOf(e.type, e.schemaVersion));
      return { e, data, slots, ref: slots.length === 0 ? undefined : subjectOf(e.metadata, e, slots[0]!.path) };
    });
    // Usually one subject per command; a cached key costs no statement at all, and new subjects (of this
    // call and of concurrent ones) are created together by the key store.
    const refs = new Map<string, SubjectRef>();
    for (const { ref } of prepared) if (ref) refs.set(subjectKey(ref), ref);
    const keys = new Map<string, KeyObject>(await Promise.all([...refs].map(async ([k, ref]) => [k, await keyStore.getOrCreate(ref)] as const)));
    return prepared.map(({ e, data, slots, ref }) => {
      if (!ref) return data;
      const key = keys.get(subjectKey(ref))!;
      const prefix = aadPrefix({ tenantId: ref.tenantId, subjectId: ref.subjectId, streamId: e.streamId, eventId: e.eventId });
      for (const slot of slots) put(slot, encryptField(key, prefix, slot.path, slot.value));
      return data;
    });
  };

  const decodeAll = async <R extends RawStoredEvent>(records: readonly R[]): Promise<DecodedRecord<R>[]> => {
    const prepared = records.map((r) => {
      const patterns = patternsOf(r.type, r.schemaVersion);
      if (patterns.length === 0) return { r, data: r.data, slots: [], ref: undefined };
      const data = decodeJson(r.data, 'data', r);
      const slots = slotsOf(data, patterns);
      const firstCipher = slots.find((p) => isCiphertext(p.value));
      if (!firstCipher) return { r, data, slots, ref: undefined };
      const meta = (decodeJson(r.metadata, 'metadata', r) ?? {}) as RecordMeta;
      return { r, data, slots, ref: subjectOf(meta, r, firstCipher.path) };
    });
    const refs = prepared.flatMap((p) => (p.ref ? [p.ref] : []));
    const keys: ReadonlyMap<string, KeyLookup> = refs.length > 0 ? await keyStore.lookup(refs) : new Map();

    return prepared.map(({ r, data, slots, ref }) => {
      const erasedPaths: DataPath[] = [];
      const plaintextPaths: DataPath[] = [];
      const where = { streamId: r.streamId, streamRevision: r.streamRevision, eventId: r.eventId };
      const found = ref ? keys.get(subjectKey(ref)) : undefined;
      const prefix = ref ? aadPrefix({ ...ref, streamId: r.streamId, eventId: r.eventId }) : '';
      for (const slot of slots) {
        const { path, value } = slot;
        if (!isCiphertext(value)) {
          if (onPlaintext === 'flag') {
            plaintextPaths.push(path);
            continue;
          }
          throw new PiiError(PiiErrorCode.PlaintextFound, `a personal value is stored in clear where a ciphertext is expected (a store written before encryption?)`, {
            ...where,
            path,
          });
        }
        if (!ref || !found) throw new Error('unreachable: a ciphertext without a looked-up subject');
        if (found.state === 'erased') {
          erasedPaths.push(path);
          put(slot, ERASED);
          continue;
        }
        if (found.state === 'missing') {
          throw new PiiError(
            PiiErrorCode.KeyMissing,
            `subject ${ref.subjectId} has neither a data key nor a destruction record (key table lost or restored from an older backup?)`,
            { ...where, path },
            { tenantId: ref.tenantId, subjectId: ref.subjectId },
          );
        }
        const d = decryptField(found.key, prefix, path, value);
        if (d.ok) {
          put(slot, d.value);
          continue;
        }
        if (d.reason === 'unsupported') {
          throw new PiiError(PiiErrorCode.CiphertextUnsupported, `a ciphertext of an unknown format version (${value.split(':', 2).join(':')})`, { ...where, path });
        }
        throw new PiiError(PiiErrorCode.CiphertextInvalid, `a ciphertext does not authenticate (tampered, or moved from another field, event, stream or subject)`, {
          ...where,
          path,
        });
      }
      return { ...r, data, erased: erasedPaths.length > 0, erasedPaths, plaintextPaths } as DecodedRecord<R>;
    });
  };

  return {
    encode: async (event) => (await encodeAll([event]))[0],
    encodeAll,
    decode: async (record) => (await decodeAll([record]))[0]!,
    decodeAll,
  };
}

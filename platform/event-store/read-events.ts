import { EventContractError } from '../../schemas/events/errors.js';
import { parseEvent, personalPathsOf, type EventEnvelope, type RawStoredEvent } from '../../schemas/events/registry.js';
import { isCiphertext } from '../pii/cipher.js';
import type { DecodeOptions, PiiCodec } from '../pii/codec.js';
import { PiiError, PiiErrorCode } from '../pii/errors.js';
import type { EventStoreAdapter } from './port.js';

/**
 * THE one function every reader uses to turn a stored or published record into a domain event (issue
 * 10): decrypt the personal fields (when the store is encrypted), then upcast and validate
 * (`parseEvent`). The facade's reads, the projectors (bus messages), replays and the lead-conversion
 * process all come through here, so none of them can forget a step.
 *
 * Per record, the outcome is an event or the error that makes THIS record unreadable forever (a consumer
 * dead-letters it and goes on):
 * - a destroyed key is not an error: the event reads with `erased: true` and "[erased]" values;
 * - a ciphertext that does not authenticate, a ciphertext of an unknown format, plaintext where a
 *   ciphertext belongs, personal data without a subject, bad JSON or a failing schema: the record's error,
 *   typed and naming stream, revision and field;
 * - anything else (key store unreachable, master key not configured for a row, a lost key table) is not
 *   the record's fault: `read` rejects, and the caller retries the batch instead of dead-lettering
 *   events that are fine.
 */
export type ReadOutcome = { readonly ok: true; readonly event: EventEnvelope } | { readonly ok: false; readonly error: unknown };

export interface EventReader {
  /** Whether personal fields are decrypted (the store is encrypted). */
  readonly encrypted: boolean;
  /**
   * One outcome per record, in order; at most one key-store statement for the batch. `pause` (codec.ts)
   * is called between records, so a long batch can leave the event loop free now and then.
   */
  read(records: readonly RawStoredEvent[], options?: DecodeOptions): Promise<ReadOutcome[]>;
  /** Every record as an event; the first unreadable one throws its error. */
  readOrThrow(records: readonly RawStoredEvent[]): Promise<EventEnvelope[]>;
}

/** Errors that belong to one record and would recur on every attempt (dead-letter, never retry). */
const RECORD_CODES: ReadonlySet<string> = new Set([
  PiiErrorCode.CiphertextInvalid,
  PiiErrorCode.CiphertextUnsupported,
  PiiErrorCode.PlaintextFound,
  PiiErrorCode.NoSubject,
]);

export function isRecordError(error: unknown): boolean {
  if (error instanceof PiiError) return RECORD_CODES.has(error.code);
  return error instanceof EventContractError || error instanceof SyntaxError;
}

const parse = (record: RawStoredEvent, erased: boolean): ReadOutcome => {
  try {
    return { ok: true, event: parseEvent(record, erased ? { erased: true } : {}) };
  } catch (error) {
    return { ok: false, error };
  }
};

export function createEventReader(codec?: PiiCodec): EventReader {
  const read = async (records: readonly RawStoredEvent[], options: DecodeOptions = {}): Promise<ReadOutcome[]> => {
    const { pause } = options;
    // Validation after decryption, with the same pauses: parseEvent costs about as much as the decryption.
    const parseAll = async (rs: readonly RawStoredEvent[], erased: (i: number) => boolean): Promise<ReadOutcome[]> => {
      if (!pause) return rs.map((r, i) => parse(r, erased(i)));
      const out = new Array<ReadOutcome>(rs.length);
      for (let i = 0; i < rs.length; i++) {
        const p = pause('decode');
        if (p) await p;
        out[i] = parse(rs[i]!, erased(i));
      }
      return out;
    };
    if (!codec) return parseAll(records, () => false);
    if (records.length === 0) return [];
    try {
      const decoded = await codec.decodeAll(records, options);
      return await parseAll(decoded, (i) => decoded[i]!.erased);
    } catch (error) {
      if (!isRecordError(error)) throw error;
    }
    // One record of the batch is unreadable: find which, one by one (rare: the batch path is the norm).
    const out: ReadOutcome[] = [];
    for (const record of records) {
      try {
        const [d] = await codec.decodeAll([record], options);
        out.push(parse(d!, d!.erased));
      } catch (error) {
        if (!isRecordError(error)) throw error;
        out.push({ ok: false, error });
      }
    }
    return out;
  };
  return {
    encrypted: codec !== undefined,
    read,
    async readOrThrow(records) {
      return (await read(records)).map((o) => {
        if (!o.ok) throw o.error;
        return o.event;
      });
    },
  };
}

/**
 * The relay's check of a record it publishes as stored: the envelope (type, version, metadata, JSON) and
 * every non-personal field are validated; ciphertexts are not decrypted (the relay holds no key) and
 * travel as they are. Throws the record's error like `parseEvent`.
 */
export function checkSealedRecord(record: RawStoredEvent): void {
  parseEvent(record, { sealed: isCiphertext });
}

/** The store holds personal data in another form than this process would write (plaintext vs encrypted). */
export class StoreEncryptionMismatchError extends Error {
  readonly code = 'EVENTSTORE_ERR_ENCRYPTION_MISMATCH';
  constructor(message: string, readonly at: { streamId: string; streamRevision: bigint; eventId: string; path: readonly string[] }) {
    super(`${message} (first personal value at stream ${at.streamId}, revision ${at.streamRevision}, field data.${at.path.join('.')})`);
    this.name = 'StoreEncryptionMismatchError';
  }
}

/** Records scanned for the first personal value before giving up (a store with no personal data yet is fine either way). */
const SCAN_LIMIT = 2_000;

/**
 * Start-up check: the FIRST personal value in the store (in `$all` order) tells how it was written. A
 * store written in clear opened with encryption on — or an encrypted one opened with it off — refuses
 * to start with a message saying so, instead of mixing plaintext and ciphertext silently. Cheap: one
 * read of the store's first events (at most SCAN_LIMIT, usually the first one or two).
 */
export async function assertStoreEncryption(adapter: EventStoreAdapter, encrypted: boolean): Promise<void> {
  let after: bigint | undefined;
  for (let scanned = 0; scanned < SCAN_LIMIT; ) {
    const batch = await adapter.readAll({ after, maxCount: 500 });
    for (const r of batch) {
      const found = firstPersonalValue(r);
      if (!found) continue;
      const at = { streamId: r.streamId, streamRevision: r.streamRevision, eventId: r.eventId, path: found.path };
      if (isCiphertext(found.value) === encrypted) return;
      throw encrypted
        ? new StoreEncryptionMismatchError(
            'the event store holds personal data in clear (written before encryption was switched on): refusing to start rather than mix plaintext and ciphertext; start on a fresh store (or re-encrypt it with a migration tool)',
            at,
          )
        : new StoreEncryptionMismatchError('the event store holds encrypted personal data but this process runs with PII_ENCRYPTION=off: refusing to start', at);
    }
    if (batch.length < 500) return;
    scanned += batch.length;
    after = batch[batch.length - 1]!.position;
  }
}

function firstPersonalValue(r: RawStoredEvent): { path: string[]; value: unknown } | undefined {
  let patterns: readonly (readonly string[])[];
  let data: unknown;
  try {
    patterns = personalPathsOf(r.type, r.schemaVersion);
    if (patterns.length === 0) return undefined;
    data = typeof r.data === 'string' ? JSON.parse(r.data) : r.data instanceof Uint8Array ? JSON.parse(new TextDecoder().decode(r.data)) : r.data;
  } catch {
    return undefined; // unreadable records are the readers' business (dead letters), not this check's
  }
  const walk = (node: unknown, pattern: readonly string[], i: number, path: string[]): { path: string[]; value: unknown } | undefined => {
    if (i === pattern.length) return node === undefined || node === null ? undefined : { path, value: node };
    if (node === null || typeof node !== 'object') return undefined;
    const step = pattern[i]!;
    const entries = step === '*' ? Object.entries(node) : Object.hasOwn(node, step) ? [[step, (node as Record<string, unknown>)[step]] as const] : [];
    for (const [k, child] of entries) {
      const hit = walk(child, pattern, i + 1, [...path, k]);
      if (hit) return hit;
    }
    return undefined;
  };
  for (const p of patterns) {
    const hit = walk(data, p, 0, []);
    if (hit) return hit;
  }
  return undefined;
}

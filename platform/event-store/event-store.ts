import { EventMetadata, type Position } from '../../schemas/events/envelope.js';
import { EventSchemaError } from '../../schemas/events/errors.js';
import { issuesOf, validateNewEvent, type EventEnvelope } from '../../schemas/events/registry.js';
import type { PiiCodec } from '../pii/codec.js';
import { createEventReader, type EventReader } from './read-events.js';
import { newEventId } from './event-id.js';
import type {
  AppendResult,
  EventStoreAdapter,
  EventToStore,
  ExpectedRevision,
  ReadAllOptions,
  ReadStreamOptions,
  StoredRecord,
  SubjectQuery,
} from './port.js';

export interface NewEvent {
  readonly type: string;
  readonly data: unknown;
  readonly metadata: EventMetadata;
  /** Defaults to a fresh UUIDv7. */
  readonly eventId?: string;
}

/**
 * A read on behalf of one tenant (the tenant of the caller's token). The tenant check lives here once,
 * not beside every read of a stream a request names: a stream of another tenant reads as not found
 * (empty), is never decrypted, and `onOtherTenant` tells the caller so it can log the security event
 * (SPEC: a cross-tenant attempt is answered as not found and logged) or throw its own not-found.
 */
export interface TenantScope {
  readonly tenantId: string;
  readonly onOtherTenant?: (streamId: string) => void;
}

export type ReadTenantStreamOptions = ReadStreamOptions & Partial<TenantScope>;

export interface SubscribeOptions {
  /** Exclusive: the last position already processed; undefined starts from the beginning. */
  readonly after?: Position | undefined;
  readonly batchSize?: number;
  /** How long to wait for new events before polling again, in ms. */
  readonly pollIntervalMs?: number;
  /** Receives each batch in position order; the subscription advances only after it resolves. */
  readonly onBatch: (records: readonly StoredRecord[]) => Promise<void>;
  /** Called whenever the subscription has caught up with the head of the store. */
  readonly onCaughtUp?: (position: Position | undefined) => void;
  readonly signal: AbortSignal;
}

/**
 * The event store every deployable uses. Adapters store bytes; this facade is where the contract lives:
 * an event that fails its schema is never appended (the error names the field), personal fields are
 * encrypted at append when a codec is given, and every read goes through `reader` (decrypt, upcast,
 * validate), whose errors name the stream and position.
 */
export interface EventStore {
  readonly adapter: EventStoreAdapter;
  /**
   * Stored or published records → domain events (decrypt, upcast, validate): what every reader of this
   * store uses, the bus consumers of its events included (they share its key store).
   */
  readonly reader: EventReader;
  append(streamId: string, events: readonly NewEvent[], options?: { expectedRevision?: ExpectedRevision }): Promise<AppendResult>;
  /** With `tenantId`, a stream whose events belong to another tenant reads as `[]` (see TenantScope). */
  readStream(streamId: string, options?: ReadTenantStreamOptions): Promise<EventEnvelope[]>;
  readAll(options?: ReadAllOptions): Promise<EventEnvelope[]>;
  /** Raw records for pipes that forward bytes (the relay) and for chain verification. */
  readAllRaw(options?: ReadAllOptions): Promise<StoredRecord[]>;
  readStreamRaw(streamId: string, options?: ReadStreamOptions): Promise<StoredRecord[]>;
  /** Raw records of some data subjects through the adapter's lookup (port.ts `readBySubject`). */
  readBySubjectRaw(query: SubjectQuery): Promise<StoredRecord[]>;
  /** A catch-up subscription on `$all`: history from `after`, then live appends, until `signal` aborts. */
  subscribeToAll(options: SubscribeOptions): Promise<void>;
  headPosition(): Promise<Position | undefined>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface EventStoreOptions {
  /**
   * Encrypts every personal field at append (platform/pii) and decrypts at read. Without it the store
   * holds personal data in clear (tests, benches; `openEventStore` refuses to mix the two).
   */
  readonly codec?: PiiCodec | undefined;
}

export function createEventStore(adapter: EventStoreAdapter, options: EventStoreOptions = {}): EventStore {
  const { codec } = options;
  const reader = createEventReader(codec);
  const toStore = async (streamId: string, events: readonly NewEvent[]): Promise<EventToStore[]> => {
    const checked = events.map((e) => {
      const validated = validateNewEvent(e);
      const metadata = EventMetadata.safeParse(e.metadata);
      if (!metadata.success) throw new EventSchemaError(e.type, issuesOf(metadata.error, 'metadata'));
      return { eventId: (e.eventId ?? newEventId()).toLowerCase(), validated, metadata: metadata.data };
    });
    // Encrypted after validation (the schema sees the plaintext) and after the id is assigned (each
    // ciphertext is bound to it), so the hash chain covers ciphertext only.
    const data = codec
      ? await codec.encodeAll(
          checked.map((c) => ({ streamId, eventId: c.eventId, type: c.validated.type, schemaVersion: c.validated.schemaVersion, data: c.validated.data, metadata: c.metadata })),
        )
      : checked.map((c) => c.validated.data);
    return checked.map((c, i) => ({
      eventId: c.eventId,
      type: c.validated.type,
      schemaVersion: c.validated.schemaVersion,
      data: JSON.stringify(data[i]),
      metadata: JSON.stringify(c.metadata),
      occurredAt: c.metadata.occurredAt,
      subjectId: c.metadata.subjectId ?? null,
    }));
  };

  return {
    adapter,
    reader,
    async append(streamId, events, options = {}) {
      if (events.length === 0) throw new Error(`nothing to append to ${streamId}`);
      const records = await toStore(streamId, events);
      return adapter.append(streamId, records, options.expectedRevision ?? 'any');
    },
    async readStream(streamId, options = {}) {
      const { tenantId, onOtherTenant, ...range } = options;
      const records = await adapter.readStream(streamId, range);
      if (tenantId !== undefined && records.some((r) => isOtherTenant(tenantOf(r), tenantId))) {
        onOtherTenant?.(streamId);
        return [];
      }
      return reader.readOrThrow(records);
    },
    async readAll(options = {}) {
      return reader.readOrThrow(await adapter.readAll(options));
    },
    readAllRaw: (options = {}) => adapter.readAll(options),
    readStreamRaw: (streamId, options) => adapter.readStream(streamId, options),
    readBySubjectRaw: (query) => adapter.readBySubject(query),
    async subscribeToAll({ after, batchSize = 500, pollIntervalMs = 25, onBatch, onCaughtUp, signal }) {
      let checkpoint = after;
      while (!signal.aborted) {
        const batch = await adapter.readAll({ after: checkpoint, maxCount: batchSize });
        if (signal.aborted) return;
        if (batch.length > 0) {
          await onBatch(batch);
          checkpoint = batch[batch.length - 1]!.position;
        }
        if (batch.length < batchSize) {
          onCaughtUp?.(checkpoint);
          await adapter.waitForAppend(pollIntervalMs, signal);
        }
      }
    },
    headPosition: () => adapter.headPosition(),
    ping: () => adapter.ping(),
    close: () => adapter.close(),
  };
}

/**
 * The tenant a stored record was written for, read from its metadata before anything is decrypted.
 * Undefined when the metadata is unreadable: the reader then reports the record as corrupt.
 */
const isOtherTenant = (recordTenant: string | undefined, tenantId: string): boolean => recordTenant !== undefined && recordTenant !== tenantId;

function tenantOf(record: StoredRecord): string | undefined {
  try {
    const tenantId = (JSON.parse(record.metadata) as { tenantId?: unknown } | null)?.tenantId;
    return typeof tenantId === 'string' ? tenantId : undefined;
  } catch {
    return undefined;
  }
}

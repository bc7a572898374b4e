import { v7 as uuidv7 } from 'uuid';
import { EventMetadata, type Position } from '../../schemas/events/envelope.js';
import { EventSchemaError } from '../../schemas/events/errors.js';
import { issuesOf, parseEvent, validateNewEvent, type EventEnvelope } from '../../schemas/events/registry.js';
import type {
  AppendResult,
  EventStoreAdapter,
  EventToStore,
  ExpectedRevision,
  ReadAllOptions,
  ReadStreamOptions,
  StoredRecord,
} from './port.js';

export interface NewEvent {
  readonly type: string;
  readonly data: unknown;
  readonly metadata: EventMetadata;
  /** Defaults to a fresh UUIDv7. */
  readonly eventId?: string;
}

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
 * an event that fails its schema is never appended (the error names the field), and every read goes
 * through `parseEvent` (validate + upcast), whose errors name the stream and position.
 */
export interface EventStore {
  readonly adapter: EventStoreAdapter;
  append(streamId: string, events: readonly NewEvent[], options?: { expectedRevision?: ExpectedRevision }): Promise<AppendResult>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<EventEnvelope[]>;
  readAll(options?: ReadAllOptions): Promise<EventEnvelope[]>;
  /** Raw records for pipes that forward bytes (the relay) and for chain verification. */
  readAllRaw(options?: ReadAllOptions): Promise<StoredRecord[]>;
  readStreamRaw(streamId: string, options?: ReadStreamOptions): Promise<StoredRecord[]>;
  /** A catch-up subscription on `$all`: history from `after`, then live appends, until `signal` aborts. */
  subscribeToAll(options: SubscribeOptions): Promise<void>;
  headPosition(): Promise<Position | undefined>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function createEventStore(adapter: EventStoreAdapter): EventStore {
  const toStore = (e: NewEvent): EventToStore => {
    const validated = validateNewEvent(e);
    const metadata = EventMetadata.safeParse(e.metadata);
    if (!metadata.success) throw new EventSchemaError(e.type, issuesOf(metadata.error, 'metadata'));
    return {
      eventId: (e.eventId ?? uuidv7()).toLowerCase(),
      type: validated.type,
      schemaVersion: validated.schemaVersion,
      data: JSON.stringify(validated.data),
      metadata: JSON.stringify(metadata.data),
    };
  };

  return {
    adapter,
    async append(streamId, events, options = {}) {
      if (events.length === 0) throw new Error(`nothing to append to ${streamId}`);
      const records = events.map(toStore);
      return adapter.append(streamId, records, options.expectedRevision ?? 'any');
    },
    async readStream(streamId, options) {
      return (await adapter.readStream(streamId, options)).map(parseEvent);
    },
    async readAll(options = {}) {
      return (await adapter.readAll(options)).map(parseEvent);
    },
    readAllRaw: (options = {}) => adapter.readAll(options),
    readStreamRaw: (streamId, options) => adapter.readStream(streamId, options),
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

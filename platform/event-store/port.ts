import type { EventMetadata, Position } from '../../schemas/events/envelope.js';
import type { RawStoredEvent } from '../../schemas/events/registry.js';

/**
 * The event store port. Adapters (PostgreSQL/PGlite, EventStoreDB) store and return raw records; the
 * facade in event-store.ts validates on the way in and parses (upcasts) on the way out, so every
 * adapter gets the same contract by construction. The contract suite (contract.ts) proves it.
 */

/** What the caller expects the stream's current revision to be (optimistic concurrency). */
export type ExpectedRevision = 'no_stream' | 'any' | 'stream_exists' | bigint;

/** An event ready for storage: validated, with its JSON already serialized (the hash chain covers these bytes). */
export interface EventToStore {
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: string;
  readonly metadata: string;
}

export interface AppendResult {
  readonly streamId: string;
  /** Revision of the last event appended; pass it as `expectedRevision` next time. */
  readonly nextExpectedRevision: bigint;
  /** Global position of the last event appended: the consistency token. */
  readonly position: Position;
}

export interface ReadStreamOptions {
  /** First revision to return (inclusive), default 0. */
  readonly fromRevision?: bigint;
  /** Last revision to return (inclusive). */
  readonly toRevision?: bigint;
  /** Only events whose `occurredAt` is at or before this instant (as-of queries). */
  readonly until?: Date;
}

export interface ReadAllOptions {
  /** Exclusive lower bound; undefined reads from the beginning. */
  readonly after?: Position | undefined;
  readonly maxCount?: number;
}

export interface StoredRecord extends RawStoredEvent {
  readonly data: string;
  readonly metadata: string;
  /** Hash of the previous event in the stream ('' for the first). */
  readonly prevHash: string;
  readonly hash: string;
}

/** What an adapter implements. Positions are strictly increasing in `readAll` order. */
export interface EventStoreAdapter {
  readonly name: string;
  append(streamId: string, events: readonly EventToStore[], expected: ExpectedRevision): Promise<AppendResult>;
  /** Events of one stream in revision order; [] when the stream does not exist. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<StoredRecord[]>;
  /**
   * Events of every stream in global position order, after `options.after`. Must never return an event
   * and later return another with a smaller position: a reader that resumes from the last position it
   * saw must see every event exactly once, whatever the commit order of concurrent appends.
   */
  readAll(options: ReadAllOptions): Promise<StoredRecord[]>;
  /** Position of the newest event that `readAll` can return now (for lag), undefined when empty. */
  headPosition(): Promise<Position | undefined>;
  /** Resolves when new events may be readable (or after `timeoutMs`); lets subscriptions wait without spinning. */
  waitForAppend(timeoutMs: number, signal?: AbortSignal): Promise<void>;
  /** Checks the connection; throws when the store cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class WrongExpectedRevisionError extends Error {
  readonly code = 'EVENTSTORE_ERR_WRONG_EXPECTED_REVISION';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    readonly actual: bigint | 'no_stream',
  ) {
    super(`stream ${streamId} is at ${String(actual)}, expected ${String(expected)}`);
    this.name = 'WrongExpectedRevisionError';
  }
}

export type NewEventMetadata = EventMetadata;

/** How many times an `any` append retries a race on the stream's next revision before giving up. */
const ANY_RETRIES = 10;

/**
 * `any` promises success whatever the revision, but every adapter appends at the exact next revision (the
 * hash chain needs the previous hash), so a concurrent writer can still make one attempt fail: retry it.
 */
export async function appendRetryingAny<T>(expected: ExpectedRevision, appendOnce: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await appendOnce();
    } catch (e) {
      if (expected === 'any' && e instanceof WrongExpectedRevisionError && attempt < ANY_RETRIES) continue;
      throw e;
    }
  }
}

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
  /** metadata.occurredAt, when the caller has it at hand (the facade does); else adapters read it from `metadata`. */
  readonly occurredAt?: string;
  /** metadata.subjectId (null: none), when the caller has it at hand; else adapters read it from `metadata`. */
  readonly subjectId?: string | null;
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

export interface SubjectQuery {
  readonly subjectIds: readonly string[];
  readonly streamIds: readonly string[];
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
  /**
   * The records of some data subjects, in position order, without reading the rest of the store: every
   * record of `streamIds` (the subjects' own streams) and every record whose metadata names one of
   * `subjectIds` (a deal event appended for the contact…). Its cost grows with the subjects' records, not
   * with the store (the erasure scan, pii-scanner.ts). EventStoreDB cannot look metadata up by value: its
   * adapter reads `streamIds` only (see esdb/adapter.ts).
   */
  readBySubject(query: SubjectQuery): Promise<StoredRecord[]>;
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

/**
 * An append reused an event id in a way that is not a plain retry (see the duplicate-id rule below).
 * Nothing was written. 409: the request conflicts with what is stored.
 */
export class DuplicateEventIdError extends Error {
  readonly code = 'EVENTSTORE_ERR_DUPLICATE_EVENT_ID';
  readonly statusCode = 409;
  constructor(
    readonly streamId: string,
    readonly eventIds: readonly string[],
    detail: string,
  ) {
    super(`append to ${streamId} reuses event id(s) ${eventIds.join(', ')}: ${detail}`);
    this.name = 'DuplicateEventIdError';
  }
}

/*
 * The duplicate-id rule, the same on every adapter (the contract suite pins it):
 *
 * An append's "window" is where its events would land: revisions e+1 … e+n for an exact revision e,
 * 0 … n-1 for `no_stream`, and the stream's last n revisions for `any` / `stream_exists`.
 *   1. Ids repeated inside one append: refused (DuplicateEventIdError), nothing written.
 *   2. The window already holds exactly these ids, in this order: the append is a retry of one that
 *      was written (say its acknowledgement was lost). Idempotent success: nothing is written, and the
 *      result is the original one (revision and position of its last event). This wins over the
 *      expected-revision check, since the stream has of course moved on by then.
 *   3. The window holds some of the ids but not all in order: refused (DuplicateEventIdError).
 *   4. Otherwise the expected revision is checked as usual.
 * Ids outside the window: PostgreSQL refuses any id already stored anywhere (a unique index), EventStoreDB
 * does not look (ids are UUIDv7, fresh unless a caller reuses them on purpose, which is what 2. is for).
 */

/** Throws DuplicateEventIdError when one append carries an id twice (rule 1). */
export function assertDistinctIds(streamId: string, events: readonly EventToStore[]): void {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const e of events) (seen.has(e.eventId) ? repeated : seen).add(e.eventId);
  if (repeated.size > 0) throw new DuplicateEventIdError(streamId, [...repeated], 'the same id twice in one append');
}

/**
 * Rules 2 and 3 given the window's stored ids (in revision order, possibly fewer than the append's when
 * the stream is shorter): 'retry' when it holds exactly the append's ids, 'overlap' when it holds some,
 * 'fresh' when none.
 */
export function classifyWindow(appendIds: readonly string[], windowIds: readonly string[]): 'retry' | 'overlap' | 'fresh' {
  const wanted = new Set(appendIds);
  if (!windowIds.some((id) => wanted.has(id))) return 'fresh';
  const exact = windowIds.length === appendIds.length && appendIds.every((id, i) => windowIds[i] === id);
  return exact ? 'retry' : 'overlap';
}

export type NewEventMetadata = EventMetadata;

export interface AppendRetryOptions {
  /** Attempts after the first (default 30). */
  readonly retries?: number;
  /** Backoff cap in ms (default 200): full jitter over min(cap, base * 2^attempt). */
  readonly maxDelayMs?: number;
  readonly baseDelayMs?: number;
  /** How to wait (tests record the delays). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * `any` and `stream_exists` promise success whatever the exact revision, but every adapter appends at the
 * exact next revision (the hash chain needs the previous hash), so a concurrent writer can make one attempt
 * lose a race: retry it, after a jittered backoff so that writers that collided do not collide again in
 * lock step (immediate retries on a hot stream exhausted their budget). `stream_exists` on a missing stream
 * is a real answer, not a race, and is never retried; exact revisions and `no_stream` are never retried.
 * Appends to one stream from this process are queued (`streamQueue`), so races here come from other
 * processes only.
 */
export async function appendWithRetries<T>(expected: ExpectedRevision, appendOnce: () => Promise<T>, options: AppendRetryOptions = {}): Promise<T> {
  const retries = options.retries ?? 30;
  const base = options.baseDelayMs ?? 2;
  const cap = options.maxDelayMs ?? 200;
  const wait = options.sleep ?? sleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await appendOnce();
    } catch (e) {
      const race =
        e instanceof WrongExpectedRevisionError &&
        (expected === 'any' || (expected === 'stream_exists' && e.actual !== 'no_stream'));
      if (!race || attempt >= retries) throw e;
      await wait(Math.random() * Math.min(cap, base * 2 ** attempt));
    }
  }
}

/**
 * Runs the appends of one stream one after the other within this process. Concurrent appends to one stream
 * can only have one winner per revision anyway; queueing them turns the losers' wasted round trips and
 * retries into a wait. Streams are independent; an idle stream leaves no entry behind.
 */
export function streamQueue() {
  const tails = new Map<string, Promise<unknown>>();
  return function run<T>(streamId: string, task: () => Promise<T>): Promise<T> {
    const previous = tails.get(streamId) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => undefined);
    tails.set(streamId, tail);
    void tail.then(() => {
      if (tails.get(streamId) === tail) tails.delete(streamId);
    });
    return result;
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

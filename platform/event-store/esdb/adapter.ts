import { appendSignal } from '../append-signal.js';
import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError,
  jsonEvent,
  type AllStreamResolvedEvent,
  type Position as EsdbPosition,
  type ReadPosition,
  type RecordedEvent,
  type ResolvedEvent,
  type StreamingRead,
} from '@eventstore/db-client';
import { chainHash } from '../hash-chain.js';
import {
  DuplicateEventIdError,
  WrongExpectedRevisionError,
  appendWithRetries,
  assertDistinctIds,
  classifyWindow,
  streamQueue,
  type AppendResult,
  type AppendRetryOptions,
  type EventStoreAdapter,
  type EventToStore,
  type ExpectedRevision,
  type ReadAllOptions,
  type ReadStreamOptions,
  type StoredRecord,
  type SubjectQuery,
} from '../port.js';

/**
 * The EventStoreDB adapter, on the real `@eventstore/db-client` API (gRPC). Written against the client's
 * source (6.2.1); run the contract suite against a server with infra/compose (see esdb.int.test.ts).
 *
 * Mapping decisions:
 * - `data` and `metadata` are written as JSON events (readable in the ESDB UI and by server projections).
 *   The text we hash is `JSON.stringify` of the object, which round-trips exactly through the client.
 * - Our schema version and the hash chain ride in the metadata under `$annals`, and are removed on read.
 * - A global position is the event's commit position. ESDB writes one event per commit record on the
 *   gRPC API, so commit = prepare, and resuming from `{commit: p, prepare: p}` is exact.
 * - The hash chain needs the previous hash, so every append reads the stream's last event first and then
 *   appends at that exact revision: a concurrent writer makes ESDB refuse ours (WrongExpectedVersion),
 *   never fork the chain. Appends to one stream are queued in this process; `any` and `stream_exists`
 *   retry races with other processes after a jittered backoff (port.ts).
 * - Duplicate event ids follow the rule in port.ts, checked here on the append's window, because the
 *   server's own check only covers a retry at the same expected revision and we always send the exact one.
 * - Every read is bounded (`maxCount`) and cancelled in `finally`: breaking out of a `for await` ends the
 *   Node stream but not the gRPC call behind it.
 * - Events of system streams or with `$` types ($all carries `$stats`, `$metadata`, links, …) are skipped on
 *   read but still count for revisions: the stream's current revision is the server's, whatever the type.
 */
interface AnnalsMeta {
  schemaVersion: number;
  prevHash: string;
  hash: string;
}

export interface EsdbEventStoreOptions {
  /** Backoff of `any` / `stream_exists` appends that lose a race with another process. */
  readonly retry?: AppendRetryOptions;
  /** Records per `$all` page when looking back for the head (default 500). */
  readonly headPageSize?: number;
}

export function esdbEventStore(connectionString: string, options: EsdbEventStoreOptions = {}): EventStoreAdapter {
  const client = EventStoreDBClient.connectionString(connectionString);
  const appended = appendSignal();
  const queue = streamQueue();
  const headPageSize = options.headPageSize ?? 500;

  const positionOf = (resolved: ResolvedEvent | AllStreamResolvedEvent): bigint | undefined => resolved.event?.position?.commit ?? resolved.commitPosition;

  const isOurs = (e: RecordedEvent) => !e.type.startsWith('$') && !e.streamId.startsWith('$');

  const toRecord = (resolved: ResolvedEvent | AllStreamResolvedEvent): StoredRecord | undefined => {
    const e = resolved.event;
    if (!e || !isOurs(e)) return undefined;
    const meta = (e.metadata ?? {}) as Record<string, unknown> & { $annals?: AnnalsMeta };
    const { $annals, ...rest } = meta;
    const data = e.isJson ? JSON.stringify(e.data) : new TextDecoder().decode(e.data as Uint8Array);
    const position = positionOf(resolved);
    if (position === undefined) throw new Error(`EventStoreDB returned event ${e.id} of ${e.streamId} without a position`);
    return {
      eventId: e.id,
      type: e.type,
      schemaVersion: $annals?.schemaVersion ?? 1,
      streamId: e.streamId,
      streamRevision: e.revision,
      position,
      data,
      metadata: JSON.stringify(rest),
      prevHash: $annals?.prevHash ?? '',
      hash: $annals?.hash ?? '',
    };
  };

  /** Consumes a read to its end or until `take` returns false, then always cancels the gRPC call. */
  async function drain<E>(read: StreamingRead<E>, take: (e: E) => boolean | void): Promise<void> {
    try {
      for await (const item of read) if (take(item as E) === false) break;
    } finally {
      await read.cancel().catch(() => undefined);
    }
  }

  /** Raw events of one stream (system types included), in revision order; [] when it does not exist. */
  async function readRaw(streamId: string, from: bigint | typeof END, direction: typeof FORWARDS | typeof BACKWARDS, maxCount: bigint): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    try {
      await drain(client.readStream(streamId, { direction, fromRevision: from, maxCount }), (r) => {
        if (r.event) out.push(r.event);
      });
    } catch (e) {
      if (e instanceof StreamNotFoundError) return [];
      throw e;
    }
    return direction === BACKWARDS ? out.reverse() : out;
  }

  async function currentRevision(streamId: string): Promise<bigint | 'no_stream'> {
    const [last] = await readRaw(streamId, END, BACKWARDS, 1n);
    return last ? last.revision : 'no_stream';
  }

  async function appendOnce(streamId: string, events: readonly EventToStore[], expected: ExpectedRevision, raced = false): Promise<AppendResult> {
    const n = BigInt(events.length);
    const tailOnly = expected === 'any' || expected === 'stream_exists';
    // For `any` / `stream_exists` the window is the stream's last n events, read in the same round trip.
    const tail = await readRaw(streamId, END, BACKWARDS, tailOnly ? n : 1n);
    const last = tail[tail.length - 1];
    const actual = last ? last.revision : ('no_stream' as const);

    let window: RecordedEvent[] = [];
    if (tailOnly) window = tail;
    else if (actual !== 'no_stream') {
      const from = expected === 'no_stream' ? 0n : (expected as bigint) + 1n;
      if (from <= actual) window = await readRaw(streamId, from, FORWARDS, n);
    }
    const ids = events.map((e) => e.eventId.toLowerCase());
    switch (classifyWindow(ids, window.map((e) => e.id.toLowerCase()))) {
      case 'retry': {
        const end = window[window.length - 1]!;
        const position = end.position?.commit;
        if (position === undefined) throw new Error(`EventStoreDB returned event ${end.id} without a position`);
        return { streamId, nextExpectedRevision: end.revision, position };
      }
      case 'overlap':
        throw new DuplicateEventIdError(streamId, window.map((e) => e.id).filter((id) => ids.includes(id.toLowerCase())), 'some of these ids were already written there, not as this append');
      case 'fresh':
        break;
    }

    const stale =
      (expected === 'no_stream' && actual !== 'no_stream') ||
      (expected === 'stream_exists' && actual === 'no_stream') ||
      (typeof expected === 'bigint' && actual !== expected);
    if (stale) throw new WrongExpectedRevisionError(streamId, expected, actual);

    // The chain continues from our last event; a foreign (`$`-typed) last event carries no hash and the
    // verifier will report the gap, which is what it is there for.
    let prevHash = last ? ((last.metadata as { $annals?: AnnalsMeta } | undefined)?.$annals?.hash ?? '') : '';
    let revision = last ? last.revision : -1n;
    const payload = events.map((e) => {
      revision++;
      const hash = chainHash({ prevHash, eventId: e.eventId, streamId, streamRevision: revision, type: e.type, schemaVersion: e.schemaVersion, data: e.data, metadata: e.metadata });
      const $annals: AnnalsMeta = { schemaVersion: e.schemaVersion, prevHash, hash };
      prevHash = hash;
      return jsonEvent({
        id: e.eventId,
        type: e.type,
        data: JSON.parse(e.data) as Record<string, never>,
        metadata: { ...(JSON.parse(e.metadata) as Record<string, unknown>), $annals },
      });
    });

    // The race: another process appended between our read and this write.
    const lostRace = async (): Promise<AppendResult> => {
      // One more look tells a concurrent identical retry (idempotent success) from a real conflict.
      if (!raced) return appendOnce(streamId, events, expected, true);
      throw new WrongExpectedRevisionError(streamId, expected, await currentRevision(streamId));
    };
    let result;
    try {
      result = await client.appendToStream(streamId, payload, { expectedRevision: last ? last.revision : NO_STREAM });
    } catch (e) {
      if (e instanceof WrongExpectedVersionError) return lostRace();
      throw e;
    }
    // With `throwOnAppendFailure=false` in the connection string the client resolves instead of throwing; its
    // batch-append path even reports the current revision as 0 or 1 (BigInt of a boolean), so re-read it.
    if (!result.success) return lostRace();
    if (result.position === undefined) throw new Error(`EventStoreDB acknowledged the append to ${streamId} without a position`);
    return { streamId, nextExpectedRevision: result.nextExpectedRevision, position: result.position.commit };
  }

  async function readAllPage(from: ReadPosition, direction: typeof FORWARDS | typeof BACKWARDS, maxCount: number): Promise<AllStreamResolvedEvent[]> {
    const out: AllStreamResolvedEvent[] = [];
    await drain(client.readAll({ fromPosition: from, direction, maxCount }), (r) => {
      out.push(r);
    });
    return out;
  }

  return {
    name: 'esdb',

    async append(streamId, events, expected) {
      if (events.length === 0) throw new Error('append needs at least one event');
      assertDistinctIds(streamId, events);
      const result = await queue(streamId, () => appendWithRetries(expected, () => appendOnce(streamId, events, expected), options.retry));
      appended.notify();
      return result;
    },

    async readStream(streamId, opts: ReadStreamOptions = {}) {
      const from = opts.fromRevision ?? 0n;
      const to = opts.toRevision;
      if (to !== undefined && to < from) return [];
      const out: StoredRecord[] = [];
      try {
        // Bounded by toRevision on the server, so a long stream is not streamed to us to be thrown away.
        const read = client.readStream(streamId, { direction: FORWARDS, fromRevision: from, ...(to !== undefined ? { maxCount: to - from + 1n } : {}) });
        await drain(read, (r) => {
          const rec = toRecord(r);
          if (!rec) return true;
          if (to !== undefined && rec.streamRevision > to) return false;
          if (opts.until !== undefined) {
            const occurredAt = (JSON.parse(rec.metadata) as { occurredAt?: string }).occurredAt;
            if (occurredAt && new Date(occurredAt) > opts.until) return true;
          }
          out.push(rec);
          return true;
        });
      } catch (e) {
        if (e instanceof StreamNotFoundError) return [];
        throw e;
      }
      return out;
    },

    // EventStoreDB has no secondary index on event metadata: finding the events that name a subject in
    // another stream would take a `$all` read (the store's size) or a server-side projection emitting a
    // by-subject stream (not deployed). So this reads the subjects' own streams only; `subjectIds` is not
    // looked up. Documented as a limit of the erasure scan on EventStoreDB (docs/gdpr.md).
    async readBySubject(query: SubjectQuery) {
      const out: StoredRecord[] = [];
      for (const streamId of new Set(query.streamIds)) out.push(...(await this.readStream(streamId)));
      return out.sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
    },

    async readAll(opts: ReadAllOptions) {
      // System events count against maxCount but are not ours: keep reading until we have a batch or the end,
      // so a run of system events can never look like "caught up" forever.
      const want = opts.maxCount ?? 1000;
      const out: StoredRecord[] = [];
      let cursor = opts.after;
      for (;;) {
        const page = await readAllPage(cursor === undefined ? START : { commit: cursor, prepare: cursor }, FORWARDS, want + 1);
        let advanced = false;
        for (const r of page) {
          const pos = positionOf(r);
          if (pos === undefined || (cursor !== undefined && pos <= cursor)) continue;
          cursor = pos;
          advanced = true;
          const rec = toRecord(r);
          if (rec) out.push(rec);
          if (out.length === want) return out;
        }
        if (!advanced || page.length < want + 1) return out;
      }
    },

    async headPosition() {
      // Walk $all back page by page until an event of ours: a quiet store's tail can be all `$stats` records.
      let from: ReadPosition = END;
      let cursor: bigint | undefined;
      for (;;) {
        const page = await readAllPage(from, BACKWARDS, headPageSize);
        let oldest: EsdbPosition | undefined;
        for (const r of page) {
          const pos = positionOf(r);
          if (pos === undefined || (cursor !== undefined && pos >= cursor)) continue;
          const rec = toRecord(r);
          if (rec) return rec.position;
          cursor = pos;
          oldest = r.event?.position ?? { commit: pos, prepare: pos };
        }
        if (oldest === undefined || page.length < headPageSize) return undefined;
        from = oldest;
      }
    },

    waitForAppend: (timeoutMs, signal) => appended.wait(timeoutMs, signal),

    async ping() {
      await readAllPage(END, BACKWARDS, 1);
    },

    close: () => client.dispose(),
  };
}

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
  type ResolvedEvent,
} from '@eventstore/db-client';
import { chainHash } from '../hash-chain.js';
import {
  WrongExpectedRevisionError,
  appendRetryingAny,
  type AppendResult,
  type EventStoreAdapter,
  type EventToStore,
  type ExpectedRevision,
  type ReadAllOptions,
  type ReadStreamOptions,
  type StoredRecord,
} from '../port.js';

/**
 * The EventStoreDB adapter, on the real `@eventstore/db-client` API (gRPC).
 *
 * Mapping decisions:
 * - `data` and `metadata` are written as JSON events (readable in the ESDB UI and by server projections).
 *   The text we hash is `JSON.stringify` of the object, which round-trips exactly through the client.
 * - Our schema version and the hash chain ride in the metadata under `$annals`, and are removed on read.
 * - A global position is the event's commit position. ESDB writes one event per commit record on the
 *   gRPC API, so commit = prepare, and resuming from `{commit: p, prepare: p}` is exact.
 * - The hash chain needs the previous hash, so every append reads the stream's last event first and then
 *   appends at that exact revision: a concurrent writer makes ESDB refuse ours (WrongExpectedVersion),
 *   never fork the chain. `any` retries that race a bounded number of times.
 */
interface AnnalsMeta {
  schemaVersion: number;
  prevHash: string;
  hash: string;
}


export function esdbEventStore(connectionString: string): EventStoreAdapter {
  const client = EventStoreDBClient.connectionString(connectionString);
  const appended = appendSignal();

  const toRecord = (resolved: ResolvedEvent | AllStreamResolvedEvent): StoredRecord | undefined => {
    const e = resolved.event;
    if (!e || e.type.startsWith('$') || e.streamId.startsWith('$')) return undefined;
    const meta = (e.metadata ?? {}) as Record<string, unknown> & { $annals?: AnnalsMeta };
    const { $annals, ...rest } = meta;
    const data = e.isJson ? JSON.stringify(e.data) : new TextDecoder().decode(e.data as Uint8Array);
    return {
      eventId: e.id,
      type: e.type,
      schemaVersion: $annals?.schemaVersion ?? 1,
      streamId: e.streamId,
      streamRevision: e.revision,
      position: e.position?.commit ?? resolved.commitPosition ?? -1n,
      data,
      metadata: JSON.stringify(rest),
      prevHash: $annals?.prevHash ?? '',
      hash: $annals?.hash ?? '',
    };
  };

  async function lastEvent(streamId: string): Promise<StoredRecord | undefined> {
    try {
      for await (const r of client.readStream(streamId, { direction: BACKWARDS, fromRevision: END, maxCount: 1 })) {
        return toRecord(r);
      }
    } catch (e) {
      if (e instanceof StreamNotFoundError) return undefined;
      throw e;
    }
    return undefined;
  }

  async function appendOnce(streamId: string, events: readonly EventToStore[], expected: ExpectedRevision): Promise<AppendResult> {
    const last = await lastEvent(streamId);
    const actual = last ? last.streamRevision : ('no_stream' as const);
    const stale =
      (expected === 'no_stream' && actual !== 'no_stream') ||
      (expected === 'stream_exists' && actual === 'no_stream') ||
      (typeof expected === 'bigint' && actual !== expected);
    if (stale) throw new WrongExpectedRevisionError(streamId, expected, actual);

    let prevHash = last?.hash ?? '';
    let revision = last ? last.streamRevision : -1n;
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
    try {
      const result = await client.appendToStream(streamId, payload, { expectedRevision: last ? last.streamRevision : NO_STREAM });
      return { streamId, nextExpectedRevision: result.nextExpectedRevision, position: result.position?.commit ?? -1n };
    } catch (e) {
      if (e instanceof WrongExpectedVersionError) {
        const now = e.actualVersion;
        throw new WrongExpectedRevisionError(streamId, expected, typeof now === 'bigint' ? now : 'no_stream');
      }
      throw e;
    }
  }

  async function readAllFrom(after: bigint | undefined, direction: typeof FORWARDS | typeof BACKWARDS, maxCount: number) {
    const from = after === undefined ? (direction === FORWARDS ? START : END) : { commit: after, prepare: after };
    const out: AllStreamResolvedEvent[] = [];
    for await (const r of client.readAll({ fromPosition: from, direction, maxCount })) out.push(r);
    return out;
  }

  return {
    name: 'esdb',

    async append(streamId, events, expected) {
      if (events.length === 0) throw new Error('append needs at least one event');
      const result = await appendRetryingAny(expected, () => appendOnce(streamId, events, expected));
      appended.notify();
      return result;
    },

    async readStream(streamId, options: ReadStreamOptions = {}) {
      const out: StoredRecord[] = [];
      try {
        for await (const r of client.readStream(streamId, { direction: FORWARDS, fromRevision: options.fromRevision ?? START })) {
          const rec = toRecord(r);
          if (!rec) continue;
          if (options.toRevision !== undefined && rec.streamRevision > options.toRevision) break;
          if (options.until !== undefined) {
            const occurredAt = (JSON.parse(rec.metadata) as { occurredAt?: string }).occurredAt;
            if (occurredAt && new Date(occurredAt) > options.until) continue;
          }
          out.push(rec);
        }
      } catch (e) {
        if (e instanceof StreamNotFoundError) return [];
        throw e;
      }
      return out;
    },

    async readAll(options: ReadAllOptions) {
      // System events count against maxCount but are not ours: keep reading until we have a batch or the end,
      // so a run of system events can never look like "caught up" forever.
      const want = options.maxCount ?? 1000;
      const out: StoredRecord[] = [];
      let cursor = options.after;
      for (;;) {
        const page = await readAllFrom(cursor, FORWARDS, want + 1);
        let advanced = false;
        for (const r of page) {
          const pos = r.event?.position?.commit ?? r.commitPosition;
          if (pos === undefined || (options.after !== undefined && pos <= options.after) || (cursor !== undefined && pos <= cursor)) continue;
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
      const page = await readAllFrom(undefined, BACKWARDS, 200);
      for (const r of page) {
        const rec = toRecord(r);
        if (rec) return rec.position;
      }
      return undefined;
    },

    waitForAppend: (timeoutMs, signal) => appended.wait(timeoutMs, signal),

    async ping() {
      await readAllFrom(undefined, BACKWARDS, 1);
    },

    close: () => client.dispose(),
  };
}

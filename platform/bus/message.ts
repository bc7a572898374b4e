import type { RawStoredEvent } from '../../schemas/events/registry.js';

/**
 * The wire format of an event on the bus (SPEC: Kafka):
 *   key     = stream id (per-entity order: one stream always lands on one partition)
 *   value   = the event's `data` JSON, byte for byte as stored (the hash chain covers these bytes)
 *   headers = the envelope; `metadata` is the stored metadata JSON text, positions and revisions are
 *             decimal strings because they are 64-bit.
 * Consumers never trust this shape: `decodeEvent` rebuilds the raw record and the caller must still run
 * it through `parseEvent` (validate + upcast), exactly like a reader of the event store.
 */
export interface BusMessage {
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Readonly<Record<string, string>>;
}

export interface OutgoingMessage extends BusMessage {
  readonly topic: string;
}

export interface ConsumedMessage extends BusMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
}

export const H = {
  eventId: 'eventId',
  type: 'type',
  schemaVersion: 'schemaVersion',
  streamId: 'streamId',
  streamRevision: 'streamRevision',
  position: 'position',
  metadata: 'metadata',
  hash: 'hash',
} as const;

/** Headers a dead letter adds to the original message (which it otherwise keeps unchanged). */
export const DLQ = {
  error: 'dlq.error',
  code: 'dlq.code',
  consumer: 'dlq.consumer',
  sourceTopic: 'dlq.sourceTopic',
  sourcePartition: 'dlq.sourcePartition',
  sourceOffset: 'dlq.sourceOffset',
  attempts: 'dlq.attempts',
  at: 'dlq.at',
} as const;

const text = (v: unknown): string => (typeof v === 'string' ? v : v instanceof Uint8Array ? new TextDecoder().decode(v) : JSON.stringify(v));

export function encodeEvent(record: RawStoredEvent): BusMessage {
  const headers: Record<string, string> = {
    [H.eventId]: record.eventId,
    [H.type]: record.type,
    [H.schemaVersion]: String(record.schemaVersion),
    [H.streamId]: record.streamId,
    [H.streamRevision]: record.streamRevision.toString(),
    [H.position]: record.position.toString(),
    [H.metadata]: text(record.metadata),
  };
  if (record.hash !== undefined) headers[H.hash] = record.hash;
  return { key: record.streamId, value: text(record.data), headers };
}

/** A message whose headers are not an event envelope (not produced by the relay, or mangled in transit). */
export class MalformedMessageError extends Error {
  readonly code = 'BUS_ERR_MALFORMED_MESSAGE';
  constructor(detail: string, readonly at: { topic: string; partition: number; offset: bigint }) {
    super(`malformed bus message at ${at.topic}[${at.partition}]@${at.offset}: ${detail}`);
    this.name = 'MalformedMessageError';
  }
}

/** Rebuilds the raw stored record from a consumed message; still to be validated with `parseEvent`. */
export function decodeEvent(m: ConsumedMessage): RawStoredEvent {
  const at = { topic: m.topic, partition: m.partition, offset: m.offset };
  const h = m.headers;
  for (const name of [H.eventId, H.type, H.schemaVersion, H.streamId, H.streamRevision, H.position, H.metadata]) {
    if (h[name] === undefined) throw new MalformedMessageError(`header ${name} is missing`, at);
  }
  let streamRevision: bigint;
  let position: bigint;
  try {
    streamRevision = BigInt(h[H.streamRevision]!);
    position = BigInt(h[H.position]!);
  } catch {
    throw new MalformedMessageError('streamRevision/position are not integers', at);
  }
  return {
    eventId: h[H.eventId]!,
    type: h[H.type]!,
    schemaVersion: Number(h[H.schemaVersion]),
    streamId: h[H.streamId]!,
    streamRevision,
    position,
    data: m.value ?? 'null',
    metadata: h[H.metadata]!,
    hash: h[H.hash],
  };
}

export interface DeadLetterReason {
  readonly consumer: string;
  readonly error: unknown;
  readonly attempts: number;
  readonly source?: { topic: string; partition: number; offset: bigint } | undefined;
  readonly at: Date;
}

/**
 * Only the error's message and code travel: messages of our errors name fields and coordinates, never
 * values (driver `detail` strings can carry values, so they are left out).
 */
export function deadLetter(original: BusMessage, topic: string, reason: DeadLetterReason): OutgoingMessage {
  const err = reason.error as { message?: unknown; code?: unknown } | undefined;
  const headers: Record<string, string> = {
    ...original.headers,
    [DLQ.error]: typeof err?.message === 'string' ? err.message : String(reason.error),
    [DLQ.code]: typeof err?.code === 'string' ? err.code : 'UNKNOWN',
    [DLQ.consumer]: reason.consumer,
    [DLQ.attempts]: String(reason.attempts),
    [DLQ.at]: reason.at.toISOString(),
  };
  if (reason.source) {
    headers[DLQ.sourceTopic] = reason.source.topic;
    headers[DLQ.sourcePartition] = String(reason.source.partition);
    headers[DLQ.sourceOffset] = reason.source.offset.toString();
  }
  return { topic, key: original.key, value: original.value, headers };
}

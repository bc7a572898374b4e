import { z } from 'zod';
import { Id, IsoDateTime, Role, TenantId, Text, UserId } from './common.js';
import { assertStorable } from './storable.js';

/** Who caused an event. */
export const Actor = z.object({
  userId: UserId,
  roles: z.array(Role),
});
export type Actor = z.infer<typeof Actor>;

/**
 * What travels with every event besides its payload. It is stored as the event's metadata and
 * carried in Kafka headers.
 */
export const EventMetadata = z.object({
  tenantId: TenantId,
  actor: Actor,
  correlationId: Text.min(1).max(128),
  causationId: Text.min(1).max(128),
  occurredAt: IsoDateTime,
  /** The data subject whose key encrypts the personal fields (contact or lead id), if any. */
  subjectId: Id.optional(),
  /** The idempotency key of the command that produced the event, if the caller sent one. */
  idempotencyKey: Text.max(256).optional(),
  /**
   * A keyed hash (HMAC) of the request that carried the idempotency key: method, path and body. A retry
   * with the same key but another request is refused instead of answered with the first result.
   */
  requestHash: Text.max(128).optional(),
});
export type EventMetadata = z.infer<typeof EventMetadata>;
// The envelope comes partly from input (the token's subject, the correlation and idempotency headers)
// and is stored beside the payload: the same storable-input gate applies (common.ts).
assertStorable(EventMetadata, 'the event metadata');

/**
 * A global position in the store's `$all` order. 64-bit (EventStoreDB commit positions and our
 * PostgreSQL positions both exceed 2^53), so it is a bigint in code and a decimal string on the wire.
 */
export type Position = bigint;

/** The envelope of a stored event, as SPEC lists it. `type` and `data` come from the event union. */
export interface Envelope<E extends { type: string; data: unknown } = { type: string; data: unknown }> {
  readonly eventId: string;
  readonly type: E['type'];
  readonly schemaVersion: number;
  readonly streamId: string;
  readonly streamRevision: bigint;
  readonly position: Position;
  readonly occurredAt: string;
  readonly tenantId: string;
  readonly actor: Actor;
  readonly correlationId: string;
  readonly causationId: string;
  readonly subjectId?: string | undefined;
  /** The idempotency key of the command that produced the event, when the caller sent one. */
  readonly idempotencyKey?: string | undefined;
  /** Keyed hash of the request that carried the idempotency key (see EventMetadata). */
  readonly requestHash?: string | undefined;
  readonly data: E['data'];
  /** Hash of this event chained to the previous event of its stream (tamper evidence). */
  readonly hash?: string | undefined;
  /** Set when the data subject was erased (key destroyed): personal values read as "[erased]". */
  readonly erased?: true;
  /** The concrete paths inside `data` that read as erased (current schema version's terms). */
  readonly erasedPaths?: readonly (readonly string[])[];
}

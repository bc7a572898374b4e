import type { FastifyReply, FastifyRequest } from 'fastify';
import type { EventEnvelope } from '../../schemas/events/registry.js';
import type { EventStore } from '../../platform/event-store/event-store.js';
import type { Command, Decider, DomainEvent } from '../kernel/decider.js';
import { DomainError } from '../kernel/errors.js';
import { handleCommand, type CommandEnvelope, type CommandResult, type HandleOptions } from '../kernel/handle-command.js';
import type { CommandAccepted } from './schemas.js';

export interface RunCommand<C extends Command, S, E extends DomainEvent> {
  readonly store: EventStore;
  readonly decider: Decider<C, S, E>;
  readonly streamId: string;
  /** The aggregate id answered to the client. */
  readonly id: string;
  readonly command: C;
  readonly envelope: CommandEnvelope;
  /** 201 for creates, 200 otherwise. */
  readonly created?: boolean;
  /** The aggregate's own not-found error, answered for another tenant's stream (indistinguishable from absent). */
  readonly notFound: () => DomainError;
  /** Reservations taken on every attempt, from the state that attempt appends at (see HandleOptions.reserve). */
  readonly reserve?: HandleOptions<S, E>['reserve'];
}

/**
 * Runs one command through the kernel shell and shapes the HTTP answer: `{ id, revision, position }`,
 * an ETag with the new revision, `Idempotent-Replayed: true` on a replay. Another tenant's stream is
 * answered exactly like an absent one, and logged as a security event.
 */
export async function runCommand<C extends Command, S, E extends DomainEvent>(
  request: FastifyRequest,
  reply: FastifyReply,
  run: RunCommand<C, S, E>,
): Promise<CommandAccepted> {
  let result: CommandResult<E>;
  try {
    result = await handleCommand(run.store, run.decider, run.streamId, run.command, run.envelope, run.reserve ? { reserve: run.reserve } : {});
  } catch (e) {
    if (isCrossTenant(e)) throw crossTenant(request, run.streamId, run.notFound);
    throw e;
  }
  request.replayed = result.replayed;
  reply.code(run.created ? 201 : 200);
  reply.header('etag', `"${result.revision}"`);
  if (result.replayed) reply.header('idempotent-replayed', 'true');
  return { id: run.id, revision: result.revision.toString(), position: (result.position ?? 0n).toString() };
}

export function isCrossTenant(e: unknown): boolean {
  return e instanceof DomainError && e.code === 'TENANT_ERR_NOT_FOUND' && e.details?.crossTenant === true;
}

/** Logs the attempt (no personal data: ids and the caller) and returns the not-found error to throw. */
export function crossTenant(request: FastifyRequest, streamId: string, notFound: () => DomainError): DomainError {
  request.log.warn({ security: 'cross-tenant-access', streamId }, 'security event: access to a stream of another tenant refused');
  return notFound();
}

/**
 * Reads a stream that another command needs as context (consent for an interaction, the survivor of a
 * merge). Another tenant's stream reads as absent, and the attempt is logged.
 */
export async function readSameTenant(request: FastifyRequest, store: EventStore, streamId: string, tenantId: string): Promise<EventEnvelope[]> {
  return store.readStream(streamId, {
    tenantId,
    onOtherTenant: () => request.log.warn({ security: 'cross-tenant-access', streamId }, 'security event: reference to a stream of another tenant refused'),
  });
}

export function foldEvents<S, E>(decider: { evolve: (s: S, e: E) => S; initialState: () => S }, events: readonly EventEnvelope[]): S {
  return events.reduce((s, e) => decider.evolve(s, { type: e.type, data: e.data } as unknown as E), decider.initialState());
}

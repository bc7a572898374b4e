import type { Actor } from '../../schemas/events/envelope.js';

/**
 * Everything a decision may depend on besides the command payload and the state: time, the actor and
 * the tenant arrive here, so `decide` stays pure (no clock, no random, no I/O).
 */
export interface CommandMetadata {
  readonly now: Date;
  readonly actor: Actor;
  readonly tenantId: string;
}

export interface Command<T extends string = string, D = unknown> {
  readonly type: T;
  readonly data: D;
  readonly metadata: CommandMetadata;
}

export interface DomainEvent<T extends string = string, D = unknown> {
  readonly type: T;
  readonly data: D;
}

/**
 * A decider (emmett / Jérémie Chassaing): the whole aggregate as three pure functions.
 * `decide` returns the events a command produces, or throws a `DomainError` naming the rule broken.
 */
export interface Decider<C extends Command, S, E extends DomainEvent> {
  readonly decide: (command: C, state: S) => readonly E[];
  readonly evolve: (state: S, event: E) => S;
  readonly initialState: () => S;
}

export function fold<S, E>(decider: { evolve: (s: S, e: E) => S; initialState: () => S }, events: Iterable<E>): S {
  let state = decider.initialState();
  for (const e of events) state = decider.evolve(state, e);
  return state;
}

export function hasRole(metadata: CommandMetadata, ...roles: Actor['roles']): boolean {
  return metadata.actor.roles.some((r) => roles.includes(r));
}

import type { FastifyInstance } from 'fastify';
import type { DocumentNode, GraphQLSchema } from 'graphql';
import { CONSISTENCY_HEADER, parseConsistencyToken, type ConsistencyGate, type ConsistencyOutcome } from './gate.js';
import { modelsTouched, type ReadModelCoordinates } from './models.js';

/** The `extensions.consistency` of an answer to a request that carried X-Consistent-With. */
export function consistencyExtension(o: ConsistencyOutcome): Record<string, unknown> {
  return o.stale
    ? { stale: true, requested: o.requested.toString(), reached: Object.fromEntries(Object.entries(o.reached).map(([m, p]) => [m, p === null ? null : p.toString()])), waitedMs: o.waitedMs }
    : { stale: false, requested: o.requested.toString(), waitedMs: o.waitedMs };
}

interface MercuriusContextLike {
  readonly reply: { readonly request: { readonly headers: Record<string, unknown>; readonly log: { info: (o: object, m: string) => void } } };
}

/**
 * Wires the gate into mercurius: `preExecution` (after parsing and validation, so a malformed query never
 * waits) reads the header, works out the models the document touches and waits; `onResolution` adds
 * `extensions.consistency`. A request without the header costs nothing here.
 */
export function registerConsistency(app: FastifyInstance, options: { gate: ConsistencyGate; coordinates: () => ReadModelCoordinates; allModels: () => readonly string[] }): void {
  const outcomes = new WeakMap<object, ConsistencyOutcome>();
  const graphql = (app as unknown as { graphql: { addHook: (name: string, fn: (...args: never[]) => Promise<unknown>) => void } }).graphql;
  graphql.addHook('preExecution', (async (schema: GraphQLSchema, document: DocumentNode, context: MercuriusContextLike) => {
    const position = parseConsistencyToken(context.reply.request.headers[CONSISTENCY_HEADER]);
    if (position === undefined) return undefined;
    const known = options.allModels().filter((m) => options.gate.knows(m));
    const models = modelsTouched(schema, document, options.coordinates(), known).filter((m) => options.gate.knows(m));
    const outcome = await options.gate.waitFor(position, models);
    outcomes.set(context, outcome);
    if (outcome.stale) context.reply.request.log.info({ consistency: consistencyExtension(outcome) }, 'read-your-writes: answered stale after the bounded wait');
    return undefined;
  }) as never);
  graphql.addHook('onResolution', (async (execution: { extensions?: Record<string, unknown> }, context: object) => {
    const outcome = outcomes.get(context);
    if (outcome) execution.extensions = { ...execution.extensions, consistency: consistencyExtension(outcome) };
  }) as never);
}

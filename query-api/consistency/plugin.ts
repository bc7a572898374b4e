import type { FastifyInstance } from 'fastify';
import type { DocumentNode, GraphQLSchema } from 'graphql';
import { CONSISTENCY_HEADER, parseConsistencyToken, type ConsistencyGate, type ConsistencyOutcome } from './gate.js';
import { modelsTouched, type ReadModelMap } from './models.js';

/** The `extensions.consistency` of an answer to a request that carried X-Consistent-With. */
export function consistencyExtension(o: ConsistencyOutcome & { unchecked?: readonly string[] }): Record<string, unknown> {
  const base = o.stale
    ? { stale: true, requested: o.requested.toString(), reached: Object.fromEntries(Object.entries(o.reached).map(([m, p]) => [m, p === null ? null : p.toString()])), waitedMs: o.waitedMs }
    : { stale: false, requested: o.requested.toString(), waitedMs: o.waitedMs };
  return o.unchecked ? { ...base, unchecked: o.unchecked } : base;
}

interface MercuriusContextLike {
  readonly reply: { readonly request: { readonly headers: Record<string, unknown>; readonly log: { info: (o: object, m: string) => void } } };
}

/**
 * Wires the gate into mercurius: `preExecution` (after parsing and validation, so a malformed query never
 * waits) reads the header, works out the models the document touches and waits; `onResolution` adds
 * `extensions.consistency`. A request without the header costs nothing here.
 */
export function registerConsistency(app: FastifyInstance, options: { gate: ConsistencyGate; map: ReadModelMap; allModels: readonly string[] }): void {
  const outcomes = new WeakMap<object, ConsistencyOutcome & { unchecked?: readonly string[] }>();
  const graphql = (app as unknown as { graphql: { addHook: (name: string, fn: (...args: never[]) => Promise<unknown>) => void } }).graphql;
  graphql.addHook('preExecution', (async (schema: GraphQLSchema, document: DocumentNode, context: MercuriusContextLike) => {
    const position = parseConsistencyToken(context.reply.request.headers[CONSISTENCY_HEADER]);
    if (position === undefined) return undefined;
    // An undeclared root field waits for every model: those the areas declare and those the gate's sources know.
    const known = [...new Set([...options.allModels, ...options.gate.models])].filter((m) => options.gate.knows(m));
    const touched = modelsTouched(schema, document, options.map, known);
    const outcome = await options.gate.waitFor(position, touched.filter((m) => options.gate.knows(m)));
    // A model no progress source can vouch for (a store without one yet) is named, never silently called fresh.
    const unchecked = touched.filter((m) => !options.gate.knows(m));
    outcomes.set(context, unchecked.length > 0 ? { ...outcome, unchecked } : outcome);
    if (outcome.stale) context.reply.request.log.info({ consistency: consistencyExtension(outcome) }, 'read-your-writes: answered stale after the bounded wait');
    return undefined;
  }) as never);
  graphql.addHook('onResolution', (async (execution: { extensions?: Record<string, unknown> }, context: object) => {
    const outcome = outcomes.get(context);
    if (outcome) execution.extensions = { ...execution.extensions, consistency: consistencyExtension(outcome) };
  }) as never);
}

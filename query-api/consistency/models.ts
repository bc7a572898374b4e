import { getNamedType, isObjectType, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema } from 'graphql';

/**
 * Which read models a GraphQL document touches, for read-your-writes. Declared, not guessed:
 * - `types`: an object type → the models its values come from (`Contact` → contacts, `Deal` → deals);
 *   every selected field whose named type is listed adds those models, at any depth (so `deal { contact }`
 *   waits for deals AND contacts);
 * - `fields`: a schema coordinate (`Query.auditTrail`) → its models, overriding its type (`[]`: reads no read
 *   model, e.g. the event-store fields auditTrail and …AsOf, which are consistent with a command's position
 *   the moment the command answered).
 * A root `Query` field neither declares nor returns a listed type → every known model: an undeclared
 * field makes the wait longer, never the answer wrong. Areas add their entries (GraphqlArea.readModels),
 * so search and analytics bring their own models and progress sources (gate.ts) along.
 */
export interface ReadModelMap {
  readonly types?: Readonly<Record<string, readonly string[]>>;
  readonly fields?: Readonly<Record<string, readonly string[]>>;
}

/** The PostgreSQL read models behind the entity areas (projector names: see projections/postgres). */
export const postgresReadModelMap: ReadModelMap = {
  types: {
    Contact: ['contacts'],
    TimelineEntry: ['timelines'],
    Lead: ['leads'],
    Deal: ['deals'],
    DealStageChange: ['deals'],
    Pipeline: ['deals'],
    PipelineStage: ['deals'],
    Consent: ['consents'],
    Budget: ['budgets'],
    BudgetAllocation: ['budgets'],
    BudgetSpend: ['budgets'],
  },
  fields: { 'Query.me': [] },
};

export function mergeReadModelMaps(maps: readonly (ReadModelMap | undefined)[]): Required<ReadModelMap> {
  const types: Record<string, string[]> = {};
  const fields: Record<string, string[]> = {};
  for (const m of maps) {
    for (const [k, v] of Object.entries(m?.types ?? {})) types[k] = [...new Set([...(types[k] ?? []), ...v])];
    for (const [k, v] of Object.entries(m?.fields ?? {})) fields[k] = [...new Set([...(fields[k] ?? []), ...v])];
  }
  return { types, fields };
}

export function modelsTouched(schema: GraphQLSchema, document: DocumentNode, map: ReadModelMap, allModels: readonly string[]): string[] {
  const touched = new Set<string>();
  const typeInfo = new TypeInfo(schema);
  const queryType = schema.getQueryType();
  const fields = map.fields ?? {};
  const types = map.types ?? {};
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const parent = typeInfo.getParentType();
        const name = node.name.value;
        if (!parent || name.startsWith('__')) return;
        const declared = fields[`${parent.name}.${name}`];
        if (declared) {
          for (const m of declared) touched.add(m);
          return;
        }
        const returned = typeInfo.getType();
        const named = returned ? getNamedType(returned) : undefined;
        const byType = named && isObjectType(named) ? types[named.name] : undefined;
        if (byType) for (const m of byType) touched.add(m);
        else if (parent === queryType) for (const m of allModels) touched.add(m);
      },
    }),
  );
  return [...touched].sort();
}

import { getNamedType, isObjectType, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema } from 'graphql';

/**
 * Which read models a GraphQL document touches, for read-your-writes: every area declares, per schema
 * coordinate (`Query.contact`, `Deal.contact`, `Contact.timeline`), the models its resolver reads; the
 * document's selections (fragments included) are walked with their types and the models of every selected
 * coordinate are collected. Search and analytics areas add their coordinates (and their models' progress
 * source, gate.ts) the same way, so the mapping grows with the schema instead of living in one list.
 *
 * A root `Query` field no area declared is treated as touching EVERY known model: an undeclared field
 * makes the wait longer, never the answer wrong. A field declared with `[]` reads no read model (`me`,
 * `auditTrail` and `…AsOf` read the event store, which is consistent with a command's position the moment
 * the command answered).
 */
export type ReadModelCoordinates = Readonly<Record<string, readonly string[]>>;

export function modelsTouched(schema: GraphQLSchema, document: DocumentNode, coordinates: ReadModelCoordinates, allModels: readonly string[]): string[] {
  const touched = new Set<string>();
  const typeInfo = new TypeInfo(schema);
  const queryType = schema.getQueryType();
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const parent = typeInfo.getParentType();
        if (!parent || !isObjectType(getNamedType(parent))) return;
        const name = node.name.value;
        if (name.startsWith('__')) return;
        const declared = coordinates[`${parent.name}.${name}`];
        if (declared) for (const m of declared) touched.add(m);
        else if (parent === queryType) for (const m of allModels) touched.add(m);
      },
    }),
  );
  return [...touched].sort();
}

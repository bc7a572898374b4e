import {
  buildASTSchema,
  concatAST,
  GraphQLScalarType,
  isObjectType,
  isScalarType,
  parse,
  printSchema,
  visit,
  type DocumentNode,
  type GraphQLFieldResolver,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import type { LoaderFactory, QueryContext } from '../context.js';
import type { ReadModelMap } from '../consistency/models.js';

/**
 * An area of the schema (contacts, deals, audit, search, analytics, …): its SDL, its resolvers and its
 * per-request loaders, in `query-api/graphql/<area>/`. `assembleSchema` merges every area into ONE
 * executable schema; nothing else knows the list of areas but `graphql/index.ts`.
 *
 * - `typeDefs`: SDL. Root fields are added with `extend type Query { … }`; an area may also extend
 *   another area's type (`extend type Contact { … }`) and resolve the new field itself.
 * - `resolvers`: `{ Query: { contact: fn }, Contact: { deals: fn } }`, plus custom scalars as
 *   GraphQLScalarType instances. Two areas resolving the same field is a start-up error.
 * - `loaders`: called once per request with the context; what it returns is merged into `ctx.loaders`.
 * - `preExecution`: a per-request step before execution; it may put entries in `ctx.extensions`, which
 *   the response carries as its top-level `extensions` (e.g. `extensions.consistency`).
 */
export interface GraphqlArea {
  readonly name: string;
  readonly typeDefs: string;
  readonly resolvers: Resolvers;
  readonly loaders?: LoaderFactory;
  /** Read-your-writes: the read models its types/fields read (query-api/consistency/models.ts). */
  readonly readModels?: ReadModelMap;
  /**
   * Runs before every execution, after the depth and cost limits, with the parsed document (e.g. the
   * read-your-writes wait of X-Consistent-With); throwing refuses the request with that error.
   */
  readonly preExecution?: (ctx: QueryContext, document: DocumentNode) => Promise<void>;
}

// Resolvers receive the parent as `any` on purpose: each area knows the row type its own parent is.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Resolver = GraphQLFieldResolver<any, QueryContext, any>;
export type Resolvers = Readonly<Record<string, Readonly<Record<string, Resolver>> | GraphQLScalarType>>;

/** The SDL every area builds on: the root types, the shared scalars and the Relay PageInfo. */
export const BASE_TYPE_DEFS = /* GraphQL */ `
"""
Read-only entry points. Every answer is scoped to the tenant of the caller's token; an id of another
tenant reads as null (and is logged as a security event). Writes go through the command API (/api/v1).
"""
type Query {
  "The caller as the token says (user, tenant, roles): handy to check a token in GraphiQL."
  me: Me!
}

type Me {
  userId: String!
  tenantId: String!
  roles: [String!]!
  "False for roles that see personal fields masked (analyst)."
  seesPersonalData: Boolean!
}
`;

/**
 * Merges the areas into one executable schema. Resolvers are attached to the schema itself (not handed
 * to mercurius), so the schema printed to query-api/schema.graphql is exactly the one served.
 */
export function assembleSchema(areas: readonly GraphqlArea[]): GraphQLSchema {
  const names = new Set<string>();
  for (const a of areas) {
    if (names.has(a.name)) throw new Error(`GraphQL area "${a.name}" is registered twice`);
    names.add(a.name);
  }
  const document = oneByteNames(concatAST([parse(BASE_TYPE_DEFS), ...areas.map((a) => parseArea(a))]));
  const schema = buildASTSchema(document, { assumeValidSDL: false });
  const owner = new Map<string, string>();
  const base: GraphqlArea = {
    name: 'base',
    typeDefs: '',
    resolvers: {
      Query: { me: (_p: unknown, _a: unknown, ctx: QueryContext) => ctx.principal },
      Me: { seesPersonalData: (_p: unknown, _a: unknown, ctx: QueryContext) => ctx.seesPersonal },
    },
  };
  for (const area of [base, ...areas]) {
    for (const [typeName, fields] of Object.entries(area.resolvers)) {
      const type = schema.getType(typeName);
      if (!type) throw new Error(`GraphQL area "${area.name}" resolves type ${typeName}, which no area declares`);
      if (fields instanceof GraphQLScalarType) {
        if (!isScalarType(type)) throw new Error(`GraphQL area "${area.name}": ${typeName} is not a scalar`);
        Object.assign(type, { serialize: fields.serialize, parseValue: fields.parseValue, parseLiteral: fields.parseLiteral, specifiedByURL: fields.specifiedByURL });
        continue;
      }
      if (!isObjectType(type)) throw new Error(`GraphQL area "${area.name}": ${typeName} is not an object type`);
      const typeFields = (type as GraphQLObjectType).getFields();
      for (const [fieldName, resolve] of Object.entries(fields)) {
        const field = typeFields[fieldName];
        if (!field) throw new Error(`GraphQL area "${area.name}" resolves ${typeName}.${fieldName}, which the schema does not declare`);
        const key = `${typeName}.${fieldName}`;
        const other = owner.get(key);
        if (other) throw new Error(`${key} is resolved by both GraphQL areas "${other}" and "${area.name}"`);
        owner.set(key, area.name);
        field.resolve = resolve;
      }
    }
  }
  return schema;
}

/**
 * Every name of the SDL as a one-byte string. An SDL with one character beyond Latin-1 in a description
 * (×, →, …) is a two-byte string, and graphql-js slices its names out of it; V8 interns a name such as
 * `edges` in that representation the first time the schema keys a map with it, and from then on every
 * object of the process with an `edges` key (every answer) makes JSON.stringify write the WHOLE answer two
 * bytes per character: twice the memory, and a UTF-16 to UTF-8 conversion when the socket sends it (the
 * query API's serialisation cost ~1.7× the same JSON's in a bare route: bench/query-api.ts profile).
 * Names are ASCII by the grammar, so the Latin-1 round trip is exact.
 */
function oneByteNames(document: DocumentNode): DocumentNode {
  return visit(document, { Name: (node) => ({ ...node, value: Buffer.from(node.value, 'latin1').toString('latin1') }) });
}

function parseArea(area: GraphqlArea) {
  try {
    return parse(area.typeDefs);
  } catch (e) {
    throw new Error(`GraphQL area "${area.name}": its SDL does not parse: ${(e as Error).message}`);
  }
}

/** The schema as printed to query-api/schema.graphql (in declaration order: areas as graphql/index.ts lists them). */
export function printedSchema(schema: GraphQLSchema): string {
  return `${printSchema(schema)}\n`;
}

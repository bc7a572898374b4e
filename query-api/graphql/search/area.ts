import type { GraphqlArea } from '../area.js';
import { searchResolvers } from './resolvers.js';
import { typeDefs } from './schema.js';

/**
 * `search`: ids from the search port, entities from the PostgreSQL read models. Read-your-writes waits for
 * the search model of whichever store this deployment runs (`search_es` on Elasticsearch, `search`
 * embedded: the gate ignores the one it does not know) and, through the union's member types, for
 * contacts, leads and deals.
 */
export const searchArea: GraphqlArea = {
  name: 'search',
  typeDefs,
  resolvers: searchResolvers,
  readModels: { fields: { 'Query.search': ['search', 'search_es'] } },
};

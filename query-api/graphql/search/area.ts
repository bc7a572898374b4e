import type { GraphqlArea } from '../area.js';
import { searchResolvers } from './resolvers.js';
import { typeDefs } from './schema.js';

/**
 * Read models a search reads (read-your-writes): the search model of either store (`search_es` on
 * Elasticsearch, `search` embedded) and the entity models its hits are loaded from.
 */
export const SEARCH_MODELS = ['search', 'search_es', 'contacts', 'leads', 'deals'] as const;

export const searchArea: GraphqlArea = { name: 'search', typeDefs, resolvers: searchResolvers };

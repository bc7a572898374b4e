import type { GraphqlArea } from '../area.js';
import { dealLoaders } from './loaders.js';
import { dealResolvers } from './resolvers.js';
import { typeDefs } from './schema.js';

export const dealsArea: GraphqlArea = { name: 'deals', typeDefs, resolvers: dealResolvers, loaders: dealLoaders };

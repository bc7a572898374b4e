import type { GraphqlArea } from '../area.js';
import { leadLoaders } from './loaders.js';
import { leadResolvers } from './resolvers.js';
import { typeDefs } from './schema.js';

export const leadsArea: GraphqlArea = { name: 'leads', typeDefs, resolvers: leadResolvers, loaders: leadLoaders };

import type { GraphqlArea } from '../area.js';
import { consentLoaders } from './loaders.js';
import { consentResolvers } from './resolvers.js';
import { typeDefs } from './schema.js';

export const consentsArea: GraphqlArea = { name: 'consents', typeDefs, resolvers: consentResolvers, loaders: consentLoaders };

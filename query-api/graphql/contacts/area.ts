import type { GraphqlArea } from '../area.js';
import { contactLoaders } from './loaders.js';
import { contactResolvers } from './resolvers.js';
import { typeDefs } from './schema.js';

export const contactsArea: GraphqlArea = { name: 'contacts', typeDefs, resolvers: contactResolvers, loaders: contactLoaders };

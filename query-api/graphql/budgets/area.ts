import type { GraphqlArea } from '../area.js';
import { budgetLoaders } from './loaders.js';
import { budgetResolvers } from './resolvers.js';
import { typeDefs } from './schema.js';

export const budgetsArea: GraphqlArea = { name: 'budgets', typeDefs, resolvers: budgetResolvers, loaders: budgetLoaders };

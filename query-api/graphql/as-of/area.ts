import type { GraphqlArea } from '../area.js';
import { asOfResolvers } from './resolvers.js';
import { typeDefs } from './schema.js';

/** `contactAsOf / leadAsOf / dealAsOf / budgetAsOf(id, at)`: state folded from the event store up to `at`. */
export const asOfArea: GraphqlArea = {
  name: 'as-of',
  typeDefs,
  resolvers: asOfResolvers,
  // Folded from the event store: nothing to wait for under X-Consistent-With.
  readModels: { fields: { 'Query.contactAsOf': [], 'Query.leadAsOf': [], 'Query.dealAsOf': [], 'Query.budgetAsOf': [] } },
};

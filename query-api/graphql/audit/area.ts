import type { GraphqlArea } from '../area.js';
import { auditResolvers } from './resolvers.js';
import { typeDefs } from './schema.js';

/** `auditTrail`: an entity's history from the event store (platform/audit, folded with the deciders' evolve). */
export const auditArea: GraphqlArea = {
  name: 'audit',
  typeDefs,
  resolvers: auditResolvers,
  // Reads the event store, not a read model: consistent with a command's position as soon as it answered.
  readModels: { fields: { 'Query.auditTrail': [] } },
};

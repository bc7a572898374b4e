import type { GraphqlArea } from '../area.js';
import { analyticsResolvers } from './resolvers.js';
import { typeDefs } from './schema.js';

/** Read model this area reads (for read-your-writes: the projector `analytics_events` of projections/clickhouse). */
export const ANALYTICS_MODELS = ['analytics_events'] as const;

export const analyticsArea: GraphqlArea = { name: 'analytics', typeDefs, resolvers: analyticsResolvers };

import type { GraphqlArea } from '../area.js';
import { analyticsResolvers } from './resolvers.js';
import { typeDefs } from './schema.js';

/** Read model this area reads (for read-your-writes: the projector `analytics_events` of projections/clickhouse). */
export const ANALYTICS_MODELS = ['analytics_events'] as const;

/**
 * Declared, not left to the fallback: an undeclared root field waits for the models the maps declare, and
 * without this line that list would hold every PostgreSQL and search model but not this one, so a read
 * with X-Consistent-With could answer fresh before the ClickHouse model had the write (seen on CI).
 */
export const analyticsArea: GraphqlArea = { name: 'analytics', typeDefs, resolvers: analyticsResolvers, readModels: { fields: { 'Query.analytics': [...ANALYTICS_MODELS] } } };

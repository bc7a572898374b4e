import type { GraphqlArea } from '../area.js';
import { CONNECTION_TYPE_DEFS } from './connection.js';
import { DateScalar, DateTimeScalar, JsonScalar, MinorScalar } from './scalars.js';

/** The shared scalars and connection types every area uses. */
export const commonArea: GraphqlArea = {
  name: 'common',
  typeDefs: /* GraphQL */ `
"An ISO-8601 instant with a time zone, e.g. 2025-03-01T09:00:00Z (output: UTC with milliseconds)."
scalar DateTime

"A calendar date YYYY-MM-DD."
scalar Date

"An integer amount in the currency's minor units (cents): a JSON number (a decimal string is accepted as input)."
scalar Minor

"Any JSON value."
scalar JSON

"An amount of money: minor units and an ISO-4217 currency code."
type Money {
  minor: Minor!
  currency: String!
}
${CONNECTION_TYPE_DEFS}`,
  resolvers: { DateTime: DateTimeScalar, Date: DateScalar, Minor: MinorScalar, JSON: JsonScalar },
};

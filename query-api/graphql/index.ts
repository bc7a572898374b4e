import { analyticsArea } from './analytics/area.js';
import { asOfArea } from './as-of/area.js';
import { auditArea } from './audit/area.js';
import type { GraphqlArea } from './area.js';
import { budgetsArea } from './budgets/area.js';
import { commonArea } from './common/area.js';
import { consentsArea } from './consents/area.js';
import { contactsArea } from './contacts/area.js';
import { dealsArea } from './deals/area.js';
import { leadsArea } from './leads/area.js';
import { searchArea } from './search/area.js';

/**
 * Every area of the schema, in the order their SDL is concatenated. To add an area (audit, search,
 * analytics): create `graphql/<area>/{schema.ts,resolvers.ts,loaders.ts,area.ts}` and add ONE line here.
 * docs/query-api.md explains the contract.
 */
export const areas: readonly GraphqlArea[] = [
  commonArea,
  contactsArea,
  leadsArea,
  dealsArea,
  consentsArea,
  budgetsArea,
  analyticsArea,
  auditArea,
  asOfArea,
  searchArea,
];

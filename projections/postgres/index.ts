import type { PostgresReadModel } from './sql.js';
import { contactsProjection } from './contacts/projection.js';
import { leadsProjection } from './leads/projection.js';
import { dealsProjection } from './deals/projection.js';
import { timelinesProjection } from './timelines/projection.js';
import { consentsProjection } from './consents/projection.js';
import { budgetsProjection } from './budgets/projection.js';

export type { PostgresReadModel, PersonalColumns } from './sql.js';
export { contactsProjection } from './contacts/projection.js';
export { leadsProjection } from './leads/projection.js';
export { dealsProjection } from './deals/projection.js';
export { timelinesProjection } from './timelines/projection.js';
export { consentsProjection } from './consents/projection.js';
export { budgetsProjection } from './budgets/projection.js';

/** Every PostgreSQL read model of SPEC ("Read models"), for the runtime and `replay rebuild all`. */
export const postgresProjections: readonly PostgresReadModel[] = [
  contactsProjection,
  leadsProjection,
  dealsProjection,
  timelinesProjection,
  consentsProjection,
  budgetsProjection,
];

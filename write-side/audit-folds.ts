import type { AggregateFolds } from '../platform/audit/port.js';
import { budgetDecider } from './budget/decide.js';
import { consentDecider } from './consent/decide.js';
import { contactDecider } from './contact/decide.js';
import { dealDecider } from './deal/decide.js';
import { leadDecider } from './lead/decide.js';

/**
 * The deciders' own folds, for the readers of history (GraphQL `auditTrail` / `…AsOf`, `annals replay
 * history`), which may not import write-side/: a composition root passes this object to them. The SAME
 * `initialState` / `evolve` that decide commands, so what an auditor reads as of an instant is the state a
 * command would have been decided on then.
 */
export const auditFolds: AggregateFolds = {
  lead: leadDecider as AggregateFolds['lead'],
  contact: contactDecider as AggregateFolds['contact'],
  deal: dealDecider as AggregateFolds['deal'],
  consent: consentDecider as AggregateFolds['consent'],
  budget: budgetDecider as AggregateFolds['budget'],
};

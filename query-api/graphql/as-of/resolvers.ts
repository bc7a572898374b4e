import type { AsOfState } from '../../../platform/audit/history.js';
import type { Plain } from '../../../platform/audit/plain.js';
import type { AggregateName } from '../../../schemas/events/streams.js';
import type { QueryContext } from '../../context.js';
import type { Resolvers } from '../area.js';
import { uuidArg } from '../common/inputs.js';
import { historyOf, scopeOf } from '../audit/resolvers.js';

/**
 * `…AsOf(id, at)`: platform/audit's `stateAsOf`, folded by the deciders the composition root injected.
 * The typed fields below only READ the decider's state (`state`); no rule is restated here. `at` is a
 * DateTime (the shared scalar refuses year 0000, an offset beyond ±14:00, garbage: QUERY_ERR_INVALID_INSTANT).
 */
const asOf = (aggregate: AggregateName, field: string) => async (_: unknown, args: { id: string; at: Date }, ctx: QueryContext) => {
  const history = historyOf(ctx, field);
  const id = uuidArg(args.id, `${field}.id`);
  return history.stateAsOf(aggregate, id, args.at, scopeOf(ctx));
};

const str = (v: Plain | undefined): string | null => (typeof v === 'string' ? v : null);
const obj = (v: Plain | undefined): { [k: string]: Plain } | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? v : null);
const money = (v: Plain | undefined) => {
  const m = obj(v);
  return m && typeof m['amountMinor'] === 'number' && typeof m['currency'] === 'string' ? { minor: m['amountMinor'], currency: m['currency'] } : null;
};
const field = (name: string) => (s: AsOfState) => s.state[name] ?? null;
const fields = (...names: string[]) => Object.fromEntries(names.map((n) => [n, field(n)]));

const meta = {
  status: (s: AsOfState) => String(s.state['status'] ?? '').toUpperCase(),
  revision: (s: AsOfState) => Number(s.revision),
  position: (s: AsOfState) => s.position.toString(),
};

export const asOfResolvers: Resolvers = {
  Query: {
    contactAsOf: asOf('contact', 'contactAsOf'),
    leadAsOf: asOf('lead', 'leadAsOf'),
    dealAsOf: asOf('deal', 'dealAsOf'),
    budgetAsOf: asOf('budget', 'budgetAsOf'),
  },
  ContactAsOf: {
    ...meta,
    ...fields('firstName', 'lastName', 'email', 'phone', 'company', 'title'),
    tags: (s: AsOfState) => (Array.isArray(s.state['tags']) ? s.state['tags'] : []),
    customFields: field('customFields'),
    mergedInto: (s: AsOfState) => str(s.state['survivorId']),
  },
  LeadAsOf: {
    ...meta,
    ...fields('ownerId', 'bant'),
    lostReason: (s: AsOfState) => str(s.state['lostReason']),
    convertedContactId: (s: AsOfState) => str(s.state['contactId']),
    convertedDealId: (s: AsOfState) => str(s.state['dealId']),
  },
  DealAsOf: {
    ...meta,
    ...fields('contactId', 'ownerId', 'pipeline', 'stage', 'probability'),
    value: (s: AsOfState) => money(s.state['value']),
    lostReason: (s: AsOfState) => str(s.state['reason']),
  },
  BudgetAsOf: {
    ...meta,
    amount: (s: AsOfState) => money(s.state['amount']),
    periodStart: (s: AsOfState) => str(obj(s.state['period'])?.['start']),
    periodEnd: (s: AsOfState) => str(obj(s.state['period'])?.['end']),
    allocations: (s: AsOfState) => {
      const currency = str(obj(s.state['amount'])?.['currency']) ?? '';
      return Object.entries(obj(s.state['allocations']) ?? {}).map(([campaign, minor]) => ({ campaign, amount: { minor, currency } }));
    },
    spent: (s: AsOfState) => {
      const currency = str(obj(s.state['amount'])?.['currency']);
      return currency === null ? null : { minor: s.state['spentMinor'] ?? 0, currency };
    },
    thresholdsReached: (s: AsOfState) => (Array.isArray(s.state['thresholdsReached']) ? s.state['thresholdsReached'] : []),
  },
};

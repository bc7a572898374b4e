import type { AggregateName } from '../../schemas/events/streams.js';

/**
 * The port through which readers of history (GraphQL `auditTrail` / `…AsOf`, `annals replay history`) fold
 * a stream with the write side's OWN deciders, without importing write-side/ (the lint boundary forbids it
 * for query-api/ and scripts/replay/). A composition root injects the deciders' `initialState` and `evolve`
 * (write-side/audit-folds.ts); nothing here knows an aggregate's rules, so there is no second copy of the
 * state logic to drift from the one that decides commands.
 *
 * The state goes to readers through `plainState` (audit/plain.ts), generically: Maps become objects, Sets
 * arrays, the "nothing yet" state null. So what an auditor sees as of an instant is exactly what the decider
 * would have decided on at that instant, no more (a lead's decider keeps no personal data: its as-of state
 * has none either; the audit trail shows those values in each event's `data`).
 */
export interface AggregateFold<S = unknown, E = unknown> {
  readonly initialState: () => S;
  readonly evolve: (state: S, event: E) => S;
}

/** One fold per aggregate whose history can be read (consent included: it shares its id with its subject). */
export type AggregateFolds = Readonly<Partial<Record<AggregateName, AggregateFold>>>;

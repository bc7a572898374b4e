import type { PendingRow } from '../lib/types.js';

/**
 * Rows the benchmark issue asks for that the harness does not measure yet. When one is written: add
 * its workload in bench/workloads/, its rows in a file here, and drop its entry below.
 */
export const pending: readonly PendingRow[] = [
  { id: 'command-api', title: 'Command API: commands/s through HTTP', waitingFor: 'a workload over write-side/build-app.ts' },
  {
    id: 'projections',
    title: 'Projections: events/s from the store into the PostgreSQL read models',
    waitingFor: 'a harness workload; measured standalone today by `npm run bench:projection` (bench/projection-catchup.ts)',
  },
  { id: 'query', title: 'Query API: GraphQL queries/s on the read models', waitingFor: 'query-api' },
  { id: 'rebuild', title: 'Rebuild: time to replay the store into a fresh read-model generation', waitingFor: 'scripts/replay rebuild' },
  { id: 'memory', title: 'Memory: RSS of the one-process start (`npm start`) under load', waitingFor: 'a workload over the one-process start' },
];

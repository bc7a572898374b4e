import type { PendingRow } from '../lib/types.js';

/**
 * Rows the benchmark issue asks for that the harness does not measure yet. When one is written: add
 * its workload in bench/workloads/, its rows in a file here, and drop its entry below.
 */
export const pending: readonly PendingRow[] = [
  { id: 'query', title: 'Query API: GraphQL queries/s on the read models', status: 'measured by its own script: npm run bench:query (bench/query-api.ts)' },
  { id: 'rebuild', title: 'Rebuild: time to replay the store into a fresh read-model generation', status: 'not yet measured (waiting for scripts/replay rebuild)' },
];

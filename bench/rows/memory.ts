import type { CaseSpec, Row, RowModule } from '../lib/types.js';

/**
 * Peak RSS of the one-process start (`npm start`, embedded adapters) under a command load: the first
 * start (initdb of both PGlite databases) and a restart on the same DATA_DIR. The target is per service:
 * the largest process of the tree (the annals service itself, or the chDB host it starts for analytics);
 * the whole tree (launcher + service + chDB host) is its own row, a figure to watch. Every other
 * service's peak is in the last column of its own rows.
 */
export const rows: RowModule['rows'] = ({ quick }) => {
  const spec = (start: 'first' | 'restart'): CaseSpec => ({ workload: 'one-process', system: 'annals-start', params: { start, connections: 16, commands: quick ? 200 : 800 } });
  const row = (start: 'first' | 'restart', title: string): Row => ({
    id: `memory-start-${start}`,
    title,
    unit: 'MB',
    higherIsBetter: false,
    ours: spec(start),
    target: { value: 512, label: 'every service < 512 MB' },
    quickRounds: 1,
    fullOnly: start === 'restart',
  });
  // The same restart case also says what the one-process mode sustains (no baseline: a figure to watch).
  const throughput = (id: string, unit: string, metric: string, higherIsBetter: boolean): Row => ({
    id: `start-restart-${id}`,
    title: '`npm start` (embedded, one process), POST /leads with an Idempotency-Key each, 16 clients',
    unit,
    higherIsBetter,
    ours: spec('restart'),
    metric: { ours: metric },
    fullOnly: true,
  });
  const tree = (start: 'first' | 'restart', title: string): Row => ({
    id: `memory-start-${start}-tree`,
    title,
    unit: 'MB',
    higherIsBetter: false,
    ours: spec(start),
    metric: { ours: 'treeMb' },
    quickRounds: 1,
    fullOnly: start === 'restart',
  });
  return [
    row('first', 'Memory: peak RSS of `npm start`\'s largest process (first start, fresh DATA_DIR) under 16 clients'),
    row('restart', 'Memory: peak RSS of `npm start`\'s largest process (restart on its DATA_DIR) under 16 clients'),
    tree('first', 'Memory: peak RSS of `npm start`\'s whole process tree, chDB host included (first start)'),
    tree('restart', 'Memory: peak RSS of `npm start`\'s whole process tree, chDB host included (restart)'),
    throughput('throughput', 'commands/s', 'commandsPerSec', true),
    throughput('p95', 'p95 ms', 'p95Ms', false),
  ];
};

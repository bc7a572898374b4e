import type { CaseSpec, Row, RowModule } from '../lib/types.js';

/**
 * The command API through HTTP: the real app (write-side/build-app.ts) against a bare fastify route
 * doing the same append, on our event store on the PostgreSQL server, at 16 and 64 concurrent clients.
 * One case yields both figures: commands/s and the p95 latency.
 */
export const rows: RowModule['rows'] = ({ quick }) => {
  const commands = quick ? 1_000 : 5_000;
  const spec = (system: 'ours-http-pg' | 'bare-http-pg', connections: number): CaseSpec => ({ workload: 'command-api', system, params: { connections, commands } });
  return [16, 64].flatMap((connections): Row[] => {
    const pair = { ours: spec('ours-http-pg', connections), baseline: spec('bare-http-pg', connections), baselineLabel: 'bare fastify route + append', fullOnly: connections === 64, quickRounds: 1 };
    return [
      { ...pair, id: `command-api-c${connections}-throughput`, title: `Command API (POST /leads), ${connections} clients`, unit: 'commands/s', higherIsBetter: true },
      {
        ...pair,
        id: `command-api-c${connections}-p95`,
        title: `Command API (POST /leads), ${connections} clients`,
        unit: 'p95 ms',
        higherIsBetter: false,
        metric: { ours: 'p95Ms', baseline: 'p95Ms' },
      },
    ];
  });
};

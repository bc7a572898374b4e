import { captureLeadBody, runLoad } from '../lib/load.js';
import type { ServiceWorkload } from './index.js';

/**
 * `connections` clients POST /api/v1/leads (CaptureLead, a fresh Idempotency-Key each) over keep-alive
 * connections, closed loop, until `commands` answers, after a warm-up of 10% (at least 200). The server
 * runs in this case process (so its peak RSS is this process's), the load generator in another.
 */
export const commandApi: ServiceWorkload = {
  kind: 'service',
  async run(system, p) {
    const connections = Number(p.connections);
    const commands = Number(p.commands);
    const { serve } = system === 'ours-http-pg' ? await import('../systems/ours-http-pg.js') : system === 'bare-http-pg' ? await import('../systems/bare-http-pg.js') : unknownSystem(system);
    // A connection per client, as the append cases size their pools to their writers.
    const service = await serve({ poolSize: connections });
    try {
      const load = await runLoad({
        url: service.url,
        path: '/api/v1/leads',
        token: service.token,
        body: captureLeadBody,
        connections,
        warmup: Math.max(200, Math.round(commands / 10)),
        amount: commands,
      });
      return {
        value: load.commandsPerSec,
        elapsedMs: load.elapsedMs,
        detail: { commands: load.commands, p50Ms: round(load.p50Ms), p95Ms: round(load.p95Ms), p99Ms: round(load.p99Ms) },
        settings: await service.describe(),
      };
    } finally {
      await service.close();
    }
  },
};

const round = (ms: number) => Math.round(ms * 100) / 100;

function unknownSystem(system: string): never {
  throw new Error(`the command-api workload has no server for ${system}`);
}

import type { SqlClient } from '../../platform/sql/client.js';
import type { Bus } from '../../platform/bus/port.js';
import type { EventStore } from '../../platform/event-store/event-store.js';
import { postgresReadModels } from '../../projections/main.js';
import { projectionStatus, type ProjectionStatus } from '../../projections/kernel/status.js';

/**
 * `annals replay status`: checkpoints, generations and lag of every read model, read from the read
 * database itself — the same figures the projections service puts on /metrics, whichever process applies.
 */
export async function replayStatus(deps: { readSql: SqlClient; store: EventStore; bus?: Bus }): Promise<ProjectionStatus[]> {
  return projectionStatus({ sql: deps.readSql, projections: postgresReadModels, headPosition: () => deps.store.headPosition(), bus: deps.bus });
}

export function formatStatus(rows: readonly ProjectionStatus[]): string {
  const header = ['read model', 'version (code/live)', 'generation', 'applied position', 'head position', 'state', 'offset lag'];
  const lines = rows.map((r) => [
    r.name,
    `${r.codeVersion}/${r.liveVersion ?? '-'}`,
    String(r.liveGeneration ?? '-'),
    r.appliedPosition?.toString() ?? '-',
    r.headPosition?.toString() ?? '-',
    r.needsRebuild ? 'needs rebuild' : r.behind ? 'behind' : 'caught up',
    r.offsetLag?.toString() ?? '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  return [header, ...lines].map((l) => l.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

import type { Bus } from '../../platform/bus/port.js';
import type { EventStore } from '../../platform/event-store/event-store.js';
import type { SqlClient } from '../../platform/sql/client.js';
import { RELAY_CONSUMER, uncollectedCounts } from '../../projections/dead-letters/collect.js';
import { pendingCounts } from '../../projections/dead-letters/store.js';
import { projectionStatus, type ProjectionStatus, type StatusSubject } from '../../projections/kernel/status.js';

/**
 * `annals replay status`: every read model of every store, from the control tables of the read database
 * (projections/kernel/target.ts: every target keeps its checkpoint there), so it reads the same whichever
 * process applies, and the store head from the event store:
 * - checkpoint: the highest global position applied to the live generation;
 * - lag in events: bus messages not yet applied (end offsets − committed offsets, every aggregate topic);
 *   positions are not counts, so this is the exact "how many";
 * - lag in seconds: how long the oldest event the model has not applied has been waiting (now − its
 *   `occurredAt`), 0 when caught up;
 * - generation in use and needs-rebuild (the code's version ≠ the live generation's);
 * - dead letters waiting: pending in `annals_dead_letters` plus those still on the topic, not collected.
 * Models the control plane knows but this build does not (another store's service registered them) are
 * listed too, with an unknown code version: nothing is hidden because this build lacks its code.
 */
export interface ModelStatus extends Omit<ProjectionStatus, 'codeVersion' | 'store'> {
  readonly store: ProjectionStatus['store'] | 'unknown';
  /** Undefined: the model is registered in the read database but not part of this build. */
  readonly codeVersion: number | undefined;
  readonly lagEvents: bigint | undefined;
  readonly lagSeconds: number | undefined;
  readonly deadLetters: number;
  readonly state: 'caught up' | 'behind' | 'needs rebuild' | 'not registered' | 'not in this build';
}

export interface StatusReport {
  readonly at: Date;
  readonly headPosition: bigint | undefined;
  readonly models: readonly ModelStatus[];
  /** Dead letters of the relay (events it refused to publish). */
  readonly relayDeadLetters: number;
}

export async function replayStatus(deps: {
  readSql: SqlClient;
  store: EventStore;
  /** The bus: lag in events and dead letters not collected yet. Without it those read "-". */
  bus?: Bus | undefined;
  /** The read models of this build (every store). */
  models: readonly StatusSubject[];
  now?: () => Date;
}): Promise<StatusReport> {
  const now = (deps.now ?? (() => new Date()))();
  const registered = await registeredNames(deps.readSql);
  const known = new Set(deps.models.map((m) => m.name));
  const unknown = registered.filter((n) => !known.has(n));
  const head = await deps.store.headPosition();
  const base = await projectionStatus({
    sql: deps.readSql,
    projections: [...deps.models, ...unknown.map((name) => ({ name, version: -1 }))],
    headPosition: async () => head,
    bus: deps.bus,
  });
  const consumers = [RELAY_CONSUMER, ...base.map((b) => b.name)];
  const pending = await pendingCounts(deps.readSql);
  const uncollected = deps.bus ? await uncollectedCounts(deps.readSql, deps.bus, consumers) : new Map<string, number>();
  const letters = (name: string) => (pending.get(name) ?? 0) + (uncollected.get(name) ?? 0);

  // One read of the store per distinct checkpoint: the first event after it is the oldest one waiting.
  const waitingSince = new Map<string, number | undefined>();
  const lagSecondsOf = async (applied: bigint | undefined): Promise<number | undefined> => {
    if (head === undefined || (applied !== undefined && applied >= head)) return 0;
    const key = String(applied);
    if (!waitingSince.has(key)) {
      const [first] = await deps.store.adapter.readAll({ after: applied, maxCount: 1 });
      waitingSince.set(key, first ? occurredAtMs(first.metadata) : undefined);
    }
    const since = waitingSince.get(key);
    return since === undefined ? undefined : Math.max(0, (now.getTime() - since) / 1000);
  };

  const models: ModelStatus[] = [];
  for (const b of base) {
    const inBuild = known.has(b.name);
    const registeredHere = b.liveGeneration !== undefined;
    models.push({
      ...b,
      store: inBuild ? b.store : 'unknown',
      codeVersion: inBuild ? b.codeVersion : undefined,
      needsRebuild: inBuild && registeredHere && b.needsRebuild,
      lagEvents: b.offsetLag,
      lagSeconds: registeredHere ? await lagSecondsOf(b.appliedPosition) : undefined,
      deadLetters: letters(b.name),
      state: !registeredHere ? 'not registered' : !inBuild ? 'not in this build' : b.needsRebuild ? 'needs rebuild' : b.behind ? 'behind' : 'caught up',
    });
  }
  return { at: now, headPosition: head, models, relayDeadLetters: letters(RELAY_CONSUMER) };
}

async function registeredNames(sql: SqlClient): Promise<string[]> {
  const exists = await sql.query<{ t: string | null }>(`SELECT to_regclass('annals_projections')::text AS t`);
  if (exists.rows[0]?.t == null) return [];
  return (await sql.query<{ name: string }>(`SELECT name FROM annals_projections ORDER BY name`)).rows.map((r) => r.name);
}

function occurredAtMs(metadata: string): number | undefined {
  try {
    const t = Date.parse((JSON.parse(metadata) as { occurredAt?: string }).occurredAt ?? '');
    return Number.isNaN(t) ? undefined : t;
  } catch {
    return undefined;
  }
}

const seconds = (s: number | undefined) => (s === undefined ? '-' : s < 10 ? s.toFixed(1) : String(Math.round(s)));

export function formatStatus(report: StatusReport): string {
  const header = ['read model', 'store', 'version code/live', 'generation', 'checkpoint', 'lag events', 'lag s', 'dead letters', 'state'];
  const lines = report.models.map((r) => [
    r.name,
    r.store,
    `${r.codeVersion ?? '?'}/${r.liveVersion ?? '-'}`,
    String(r.liveGeneration ?? '-'),
    r.appliedPosition?.toString() ?? '-',
    r.lagEvents?.toString() ?? '-',
    seconds(r.lagSeconds),
    String(r.deadLetters),
    r.state,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const table = [header, ...lines].map((l) => l.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  return [
    `store head position ${report.headPosition ?? '-'} at ${report.at.toISOString()}`,
    ...table,
    `relay dead letters: ${report.relayDeadLetters}${report.models.some((m) => m.deadLetters > 0) || report.relayDeadLetters > 0 ? '  (annals dlq list)' : ''}`,
  ].join('\n');
}

/** JSON with 64-bit values as strings and without the per-partition detail unless asked. */
export function statusJson(report: StatusReport, detail = false): string {
  const models = report.models.map((m) => {
    const { partitions, generations, offsetLag: _offsetLag, ...rest } = m;
    return detail ? { ...rest, partitions, generations } : { ...rest, generations };
  });
  return JSON.stringify({ ...report, models }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
}

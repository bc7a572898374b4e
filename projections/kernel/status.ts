import type { Bus } from '../../platform/bus/port.js';
import { tpKey } from '../../platform/bus/port.js';
import { allEventsTopics } from '../../platform/bus/topics.js';
import type { SqlClient } from '../../platform/sql/client.js';
import type { ReadModelStore } from './target.js';

export interface GenerationStatus {
  readonly generation: number;
  readonly version: number;
  readonly status: 'building' | 'live' | 'retired';
  readonly position: bigint | undefined;
  readonly eventsApplied: bigint;
}

/** What status needs of a read model: its name and code version (a `ReadModelTarget` or a `PostgresProjection`). */
export interface StatusSubject {
  readonly name: string;
  readonly version: number;
  /** Default `postgres`. */
  readonly store?: ReadModelStore;
}

export interface ProjectionStatus {
  readonly name: string;
  /** The store the read model lives in; its checkpoints are in the control tables whatever the store. */
  readonly store: ReadModelStore;
  readonly codeVersion: number;
  readonly liveVersion: number | undefined;
  readonly liveGeneration: number | undefined;
  readonly needsRebuild: boolean;
  /** Highest global position applied to the live generation. */
  readonly appliedPosition: bigint | undefined;
  readonly headPosition: bigint | undefined;
  /** head > applied: events exist that this read model has not applied (positions are not counts). */
  readonly behind: boolean;
  /** Messages on the bus not yet applied (sum over partitions of end offset − checkpoint); undefined without a bus. */
  readonly offsetLag: bigint | undefined;
  readonly partitions: ReadonlyArray<{ topic: string; partition: number; nextOffset: bigint; endOffset: bigint }>;
  readonly generations: readonly GenerationStatus[];
}

/**
 * Checkpoints and lag of every read model of every store, from the control tables of the read database
 * (target.ts: every target keeps its bookkeeping there), so `annals replay status` sees the same as the
 * service's /metrics, whichever process applies. Read-only.
 */
export async function projectionStatus(args: {
  sql: SqlClient;
  projections: readonly StatusSubject[];
  headPosition?: () => Promise<bigint | undefined>;
  bus?: Bus;
  topics?: readonly string[];
}): Promise<ProjectionStatus[]> {
  const head = args.headPosition ? await args.headPosition() : undefined;
  const topics = args.topics ?? allEventsTopics;
  const ends = new Map<string, bigint>();
  if (args.bus) {
    for (const t of topics) for (const [p, o] of await args.bus.endOffsets(t)) ends.set(tpKey(t, p), o);
  }
  const exists = await args.sql.query<{ t: string | null }>(`SELECT to_regclass('annals_projections')::text AS t`);
  const bookkeeping = exists.rows[0]?.t != null;
  const out: ProjectionStatus[] = [];
  for (const projection of args.projections) {
    const live = bookkeeping
      ? (await args.sql.query<{ version: number; live_generation: number }>(`SELECT version, live_generation FROM annals_projections WHERE name = $1`, [projection.name])).rows[0]
      : undefined;
    const generations = bookkeeping
      ? (
          await args.sql.query<{ generation: number; version: number; status: GenerationStatus['status']; position: string | null; events_applied: string }>(
            `SELECT generation, version, status, position::text AS position, events_applied::text AS events_applied FROM annals_projection_generations WHERE name = $1 ORDER BY generation`,
            [projection.name],
          )
        ).rows.map((g) => ({
          generation: g.generation,
          version: g.version,
          status: g.status,
          position: g.position === null ? undefined : BigInt(g.position),
          eventsApplied: BigInt(g.events_applied),
        }))
      : [];
    const offsets = bookkeeping
      ? (await args.sql.query<{ topic: string; partition: number; o: string }>(`SELECT topic, partition, next_offset::text AS o FROM annals_projection_offsets WHERE name = $1`, [projection.name])).rows
      : [];
    const stored = new Map(offsets.map((o) => [tpKey(o.topic, o.partition), BigInt(o.o)]));
    const partitions: Array<{ topic: string; partition: number; nextOffset: bigint; endOffset: bigint }> = [];
    let offsetLag: bigint | undefined = args.bus ? 0n : undefined;
    for (const [k, end] of ends) {
      const sep = k.lastIndexOf(':');
      const next = stored.get(k) ?? 0n;
      partitions.push({ topic: k.slice(0, sep), partition: Number(k.slice(sep + 1)), nextOffset: next, endOffset: end });
      if (offsetLag !== undefined && end > next) offsetLag += end - next;
    }
    const applied = generations.find((g) => g.generation === live?.live_generation)?.position;
    out.push({
      name: projection.name,
      store: projection.store ?? 'postgres',
      codeVersion: projection.version,
      liveVersion: live?.version,
      liveGeneration: live?.live_generation,
      needsRebuild: live === undefined || live.version !== projection.version,
      appliedPosition: applied,
      headPosition: head,
      behind: head !== undefined && (applied === undefined || applied < head),
      offsetLag,
      partitions,
      generations,
    });
  }
  return out;
}

export interface Gauge {
  readonly name: string;
  readonly help: string;
  readonly samples: ReadonlyArray<{ labels: Readonly<Record<string, string>>; value: number | bigint }>;
}

/**
 * Prometheus text exposition (format 0.0.4) for gauges. Hand-written rather than prom-client: every value
 * here is read at scrape time from the database, so a registry of stateful metric objects buys nothing,
 * and it keeps a dependency out of the package every service shares. Positions beyond 2^53 lose precision
 * as floats; that is fine for a gauge (exact values are in `annals replay status`).
 */
export function renderPrometheus(gauges: readonly Gauge[]): string {
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
  const lines: string[] = [];
  for (const g of gauges) {
    lines.push(`# HELP ${g.name} ${g.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    lines.push(`# TYPE ${g.name} gauge`);
    for (const s of g.samples) {
      const labels = Object.entries(s.labels);
      const l = labels.length ? `{${labels.map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}` : '';
      lines.push(`${g.name}${l} ${typeof s.value === 'bigint' ? s.value.toString() : Number.isFinite(s.value) ? String(s.value) : 'NaN'}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** The projector gauges for /metrics. */
export function projectionGauges(statuses: readonly ProjectionStatus[]): Gauge[] {
  const by = (f: (s: ProjectionStatus) => number | bigint | undefined) =>
    statuses.flatMap((s) => {
      const v = f(s);
      return v === undefined ? [] : [{ labels: { projection: s.name }, value: v }];
    });
  return [
    { name: 'annals_projection_applied_position', help: 'Highest global position applied to the live generation.', samples: by((s) => s.appliedPosition) },
    { name: 'annals_eventstore_head_position', help: 'Global position of the newest event in the store.', samples: statuses[0]?.headPosition !== undefined ? [{ labels: {}, value: statuses[0].headPosition }] : [] },
    { name: 'annals_projection_behind', help: '1 when the store holds events the read model has not applied.', samples: by((s) => (s.behind ? 1 : 0)) },
    { name: 'annals_projection_offset_lag', help: 'Bus messages not yet applied (sum over partitions).', samples: by((s) => s.offsetLag) },
    { name: 'annals_projection_needs_rebuild', help: '1 when the code version differs from the live generation.', samples: by((s) => (s.needsRebuild ? 1 : 0)) },
    { name: 'annals_projection_live_generation', help: 'Live generation number.', samples: by((s) => s.liveGeneration) },
  ];
}

import type { AnalyticsEngine } from '../../../platform/analytics/port.js';
import { AnalyticsError } from '../../../platform/analytics/port.js';
import type { EventEnvelope } from '../../../schemas/events/registry.js';
import { EVENTS_ALL_VIEW, EVENTS_VIEW, eventsAllViewDdl, eventsTable, eventsTableDdl, eventsViewDdl } from '../../../schemas/read-models/clickhouse/events.js';
import { str } from '../../../schemas/read-models/clickhouse/sql.js';
import { dealIntervalsTable, dealSelectors } from '../../../schemas/read-models/clickhouse/deal-intervals.js';
import { recomputeDealIntervals, stateGenerationDdl, stateGenerationObjects, stateViews } from '../../../schemas/read-models/clickhouse/state.js';
import { ProjectionEventError } from '../../kernel/errors.js';
import type { BatchPreference, ExternalReadModel } from '../../kernel/target.js';
import { clickhousePiiScanner } from '../pii-scanner.js';
import { factEventTypes, factRecord } from './facts.js';

export const ANALYTICS_EVENTS_MODEL = 'analytics_events';

export interface AnalyticsEventsOptions {
  /** The read model's name (default `analytics_events`); tests give each model their own. */
  readonly name?: string;
  /** Most rows per INSERT (default 50 000): ClickHouse wants few large inserts, each one part on disk. */
  readonly maxRowsPerInsert?: number;
  /** The batch size the runtime is asked for (default: `analyticsBatchPreference` of the engine). */
  readonly preferredBatch?: BatchPreference;
}

/**
 * The batch size this model asks the runtime for (target.ts `preferredBatch`), per engine:
 * - the server: 50,000 events. ClickHouse 18.16 pays ~0.2 s per INSERT whatever its size (a wide part of
 *   ~150 files in three tables with the state views), so at the runtime's 5,000 the projector reached only
 *   0.22× of a raw bulk load and 0.47× at 50,000 (docs/analytics.md). The live projector keeps about two
 *   batches in memory while pipelining (100,000 messages during a catch-up; nothing extra at low traffic).
 * - chDB: no hint (the runtime's defaults). In-process INSERTs cost little per statement (0.58× raw at
 *   5,000), and the engine shares `npm start`'s machine and memory budget.
 */
export function analyticsBatchPreference(engine: Pick<AnalyticsEngine, 'kind'>): BatchPreference | undefined {
  return engine.kind === 'server' ? { maxEvents: 50_000 } : undefined;
}

/** Network-level failures of the server: waited out by the runtime, never blamed on an event. */
const TRANSIENT = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET']);
function transient(error: unknown): boolean {
  for (let e: unknown = error, i = 0; e !== undefined && e !== null && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT.has(code)) return true;
    if (e instanceof Error && /timeout|socket hang up|ECONNREFUSED|ECONNRESET/i.test(e.message)) return true;
  }
  return false;
}

/**
 * The ClickHouse read model `analytics_events` (SPEC: the `events` fact table), as an `ExternalReadModel`:
 * the runtime (controlledTarget) keeps its checkpoint, revision guard and generations in the control
 * tables and calls `write` with the events of a batch; this writes their rows, idempotently by position
 * (ReplacingMergeTree, read through FINAL), in as few INSERTs as the batch allows.
 */
export function analyticsEventsModel(engine: AnalyticsEngine, options: AnalyticsEventsOptions = {}): ExternalReadModel {
  const maxRows = options.maxRowsPerInsert ?? 50_000;
  // Lines per chunk of an INSERT's body: ~1 MB, a few milliseconds of serialising.
  const CHUNK_LINES = 2_000;
  const name = options.name ?? ANALYTICS_EVENTS_MODEL;
  const preferredBatch = options.preferredBatch ?? analyticsBatchPreference(engine);
  const tableExists = async (name: string) =>
    (await engine.query<{ n: string }>(`SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = ${str(name)}`))[0]?.n !== '0';
  // Generations seen with a pipeline ledger (a generation keeps its tables until it is dropped).
  const ledgers = new Set<number>();
  const hasLedger = async (generation: number) => {
    if (!ledgers.has(generation) && (await tableExists(dealIntervalsTable(generation)))) ledgers.add(generation);
    return ledgers.has(generation);
  };
  return {
    name,
    // 2: the per-entity state tables (state.ts) beside the fact table; a generation without them needs a rebuild.
    // 3: the deal state's event lists are groupArray (read as sets), not groupUniqArray: a rebuild.
    // 4: the pipeline ledger deal_intervals (deal-intervals.ts), filled by write: a rebuild.
    version: 4,
    store: 'clickhouse',
    // No per-stream revision guard: every write is idempotent by position, duplicates and late events included
    // (ReplacingMergeTree on position; the state views keep only idempotent aggregates; the ledger recompute
    // converges on any delivery). The guard's read and upsert of ~17,000 stream rows per 50,000-event batch
    // cost 0.7–1.8 s per 200,000 events in PostgreSQL, in series with the INSERT.
    revisionGuard: false,
    eventTypes: factEventTypes,
    ...(preferredBatch ? { preferredBatch } : {}),
    async createGeneration(generation) {
      const table = eventsTable(generation);
      await engine.command(eventsTableDdl(table));
      // The state views fill their tables on every INSERT into the fact table; created before any row is written.
      for (const ddl of stateGenerationDdl(generation, table)) await engine.command(ddl);
    },
    async write(generation, events: readonly EventEnvelope[]) {
      // Each event's line straight from its record (factRecord: the row without its NULLs, the same text
      // factJsonLines writes): mapping and serialising are most of the projector's own CPU per event.
      // Produced in chunks while the INSERT is under way (the server parses one while the next is built).
      const deals: { tenantId: string; streamId: string }[] = [];
      let failure: ProjectionEventError | undefined;
      function* chunks(from: number, to: number): Generator<string> {
        let lines: string[] = [];
        for (let index = from; index < to; index++) {
          const event = events[index]!;
          let record;
          try {
            record = factRecord(event);
          } catch (err) {
            throw (failure = new ProjectionEventError(name, event, err, true, index));
          }
          if (!record) continue;
          lines.push(JSON.stringify(record));
          if (record.aggregate === 'deal') deals.push({ tenantId: event.tenantId, streamId: event.streamId });
          if (lines.length === CHUNK_LINES) {
            // The empty last element ends the last line: one flat string, not a join plus a concatenation.
            lines.push('');
            yield lines.join('\n');
            lines = [];
          }
        }
        if (lines.length > 0) {
          lines.push('');
          yield lines.join('\n');
        }
      }
      const table = eventsTable(generation);
      for (let i = 0; i < events.length; i += maxRows) {
        try {
          await engine.insertJsonLines(table, chunks(i, Math.min(events.length, i + maxRows)));
        } catch (err) {
          // An event that cannot be mapped broke the body: it, not the INSERT, is the failure.
          throw failure ?? err;
        }
      }
      // Then the pipeline ledger of every deal these rows belong to, from the deal state the INSERTs just
      // updated (deal-intervals.ts). If this fails, so does the batch, and its retry recomputes from the
      // ledger's current rows. A generation built by version 3 or older has no ledger: while its rebuild
      // runs it stays live, and its batches must still apply (no dead letters for a missing table).
      if (deals.length > 0 && (await hasLedger(generation))) {
        for (const selector of dealSelectors(deals)) await engine.command(recomputeDealIntervals(generation, selector));
      }
    },
    async swap(generation) {
      // No CREATE OR REPLACE VIEW on 18.16: build the new views beside, then RENAME all of them in ONE
      // statement, so a reader sees the old pair or the new pair.
      const views = [
        { name: EVENTS_VIEW, ddl: eventsViewDdl },
        { name: EVENTS_ALL_VIEW, ddl: eventsAllViewDdl },
        // The per-entity state (no FINAL: the reports merge the states per entity themselves).
        ...stateViews.map((v) => ({ name: v.name, ddl: (view: string) => eventsAllViewDdl(view, v.table(generation)) })),
      ];
      const renames: string[] = [];
      const drops: string[] = [];
      for (const v of views) {
        const next = `${v.name}__next`;
        const prev = `${v.name}__prev`;
        await engine.command(`DROP TABLE IF EXISTS ${next}`);
        await engine.command(`DROP TABLE IF EXISTS ${prev}`);
        await engine.command(v.ddl(next, eventsTable(generation)));
        if (await tableExists(v.name)) {
          renames.push(`${v.name} TO ${prev}`);
          drops.push(prev);
        }
        renames.push(`${next} TO ${v.name}`);
      }
      await engine.command(`RENAME TABLE ${renames.join(', ')}`);
      for (const d of drops) await engine.command(`DROP TABLE IF EXISTS ${d}`);
    },
    async dropGeneration(generation) {
      ledgers.delete(generation);
      for (const object of stateGenerationObjects(generation)) await engine.command(`DROP TABLE IF EXISTS ${object}`);
      await engine.command(`DROP TABLE IF EXISTS ${eventsTable(generation)}`);
    },
    // Nothing personal is stored here (facts.ts); the scanner proves it per erasure.
    redactSubject: async () => ({ redacted: 0 }),
    scanner: clickhousePiiScanner(engine, name),
    isTransient: (error) => transient(error) || (error instanceof AnalyticsError && transient(error.cause)),
  };
}

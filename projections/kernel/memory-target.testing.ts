import type { ScanFinding } from '../../platform/pii/scanner.js';
import { matchLeaves } from '../../platform/pii/scanner.js';
import type { EventEnvelope } from '../../schemas/events/registry.js';
import { ProjectionEventError } from './errors.js';
import type { ExternalReadModel } from './target.js';
import { POISON_SCORE } from './test-projection.js';

/** One lead of the kernel's test model, as every contract subject reads it back. */
export interface LeadRow {
  readonly leadId: string;
  readonly tenantId: string;
  readonly score: number | null;
  /** Events applied to the lead: a duplicate that slipped through shows up here (or in `eventsWritten`). */
  readonly events: number;
}

interface Doc extends LeadRow {
  /** External version: the global position of the last event written (Elasticsearch's `version_type: external`). */
  readonly version: bigint;
}

export interface MemoryReadModel extends ExternalReadModel {
  /** The live (aliased) generation's leads, by lead id; or those of `generation`. */
  rows(generation?: number): LeadRow[];
  /** Events handed to `write` so far (a duplicate the control plane should have stopped counts here). */
  readonly eventsWritten: number;
  /** Generations whose store objects exist. */
  generationsPresent(): number[];
  /** The generation the public name points at. */
  readonly alias: number | undefined;
  /** The next `n` writes fail as "store unavailable" (recognised by `isTransient`) before writing anything. */
  failWrites(n: number): void;
}

/** The error the memory store throws while "unavailable". */
export const MEMORY_UNAVAILABLE = 'MEMORY_ERR_UNAVAILABLE';

/**
 * The kernel's test model (test-projection.ts: a lead per `LeadCaptured`, `LeadScored` sets the score and
 * counts; score 13 is poison) in an in-memory store WITHOUT transactions that behaves like Elasticsearch:
 * a document per lead carrying an external version (the global position); a write whose position is not
 * above the document's version changes nothing, so writes are idempotent and a redelivered or late event
 * never overwrites newer data. A bulk write applies its items in order and reports the first failing one
 * by name (`ProjectionEventError`) after keeping the items before it, as `_bulk` does.
 */
export function memoryReadModel(options: { name: string; version?: number; /** Runs at the start of every write (a test looks at the database meanwhile). */ onWrite?: () => Promise<void> }): MemoryReadModel {
  const generations = new Map<number, Map<string, Doc>>();
  let alias: number | undefined;
  let eventsWritten = 0;
  let unavailable = 0;
  const docsOf = (generation: number) => {
    const docs = generations.get(generation);
    if (!docs) throw new Error(`memory store: generation ${generation} of ${options.name} does not exist`);
    return docs;
  };
  const writeOne = (docs: Map<string, Doc>, event: EventEnvelope) => {
    if (event.type === 'LeadCaptured') {
      const doc = docs.get(event.data.leadId);
      if (doc && doc.version >= event.position) return;
      docs.set(event.data.leadId, { leadId: event.data.leadId, tenantId: event.tenantId, score: doc?.score ?? null, events: (doc?.events ?? 0) + 1, version: event.position });
    } else if (event.type === 'LeadScored') {
      const doc = docs.get(event.data.leadId);
      if (!doc || doc.version >= event.position) return;
      docs.set(event.data.leadId, { ...doc, score: event.data.score, events: doc.events + 1, version: event.position });
    }
  };
  const model: MemoryReadModel = {
    name: options.name,
    version: options.version ?? 1,
    store: 'elasticsearch',
    eventTypes: ['LeadCaptured', 'LeadScored'],
    async createGeneration(generation) {
      if (!generations.has(generation)) generations.set(generation, new Map());
    },
    async write(generation, events) {
      await options.onWrite?.();
      if (unavailable > 0) {
        unavailable--;
        throw Object.assign(new Error('memory store: unavailable'), { code: MEMORY_UNAVAILABLE });
      }
      const docs = docsOf(generation);
      for (const [i, event] of events.entries()) {
        eventsWritten++;
        if (event.type === 'LeadScored' && event.data.score === POISON_SCORE) {
          throw new ProjectionEventError(options.name, event, Object.assign(new Error('memory store: mapper_parsing_exception for score 13'), { code: 'MEMORY_ERR_MAPPING' }), true, i);
        }
        writeOne(docs, event);
      }
    },
    async swap(generation) {
      docsOf(generation);
      alias = generation;
    },
    async dropGeneration(generation) {
      generations.delete(generation);
    },
    async redactSubject() {
      // The test model holds no personal values (ids, scores, counts).
      return { redacted: 0 };
    },
    scanner: {
      store: `memory:${options.name}`,
      async scan(target) {
        const findings: ScanFinding[] = [];
        let examined = 0;
        for (const doc of alias === undefined ? [] : docsOf(alias).values()) {
          if (doc.tenantId !== target.tenantId || !target.subjectIds.includes(doc.leadId)) continue;
          examined++;
          matchLeaves(target.matcher, { ...doc, version: doc.version.toString() }, (h) => findings.push({ location: `leads.${doc.leadId}`, valueHash: h }));
        }
        return { store: `memory:${options.name}`, found: findings.length, findings, examined };
      },
    },
    isTransient: (error) => (error as { code?: unknown })?.code === MEMORY_UNAVAILABLE,
    rows(generation) {
      const g = generation ?? alias;
      if (g === undefined) return [];
      return [...docsOf(g).values()].map(({ version: _version, ...row }) => row).sort((a, b) => a.leadId.localeCompare(b.leadId));
    },
    get eventsWritten() {
      return eventsWritten;
    },
    generationsPresent: () => [...generations.keys()].sort((a, b) => a - b),
    get alias() {
      return alias;
    },
    failWrites(n) {
      unavailable = n;
    },
  };
  return model;
}

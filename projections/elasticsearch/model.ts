import type { Client } from '@elastic/elasticsearch';
import type { Logger } from 'pino';
import { isRetryableStatus, isTransientElasticsearchError } from '../../platform/elasticsearch/client.js';
import { defineErrors } from '../../platform/errors/catalogue.js';
import type { PersonalDataScanner } from '../../platform/pii/scanner.js';
import type { EventEnvelope } from '../../schemas/events/registry.js';
import { aliasOf, documentIdOf, indexOf, searchIndexMappings, searchIndexSettings } from '../../schemas/read-models/elasticsearch/indices.js';
import { searchKinds, type SearchDocument, type SearchKind } from '../../schemas/read-models/search/documents.js';
import { ProjectionEventError } from '../kernel/errors.js';
import type { ExternalReadModel, WriteContext } from '../kernel/target.js';
import { changesOf, fold, searchEventTypes, type DocumentChange } from '../search/documents.js';
import { elasticsearchPiiScanner, redactSubjectDocuments } from './erasure.js';
import { KeyFilter } from './key-filter.js';

/**
 * The Elasticsearch search read model (issue 12 §2): aliases `contacts`, `leads`, `deals` over the indices
 * of the live generation (`contacts_v<generation>`), documents folded by the pure search projector
 * (projections/search/documents.ts), written versioned by global position.
 *
 * WHY WHOLE DOCUMENTS. Elasticsearch's external versioning (`version_type: external`, version = position:
 * a write with a version not above the stored one is refused with 409) is what makes a redelivered or late
 * event harmless, and partial updates cannot carry an external version. So a batch reads the current
 * documents it touches (`_mget`, real-time: it sees writes not yet refreshed), folds its events into them
 * in order (skipping any change whose position is not above the document's), and indexes the resulting
 * whole documents with version = the position of the last change folded in. A concurrent or repeated
 * writer loses with 409 (the stored document is as new or newer): that is a duplicate, not a failure.
 * One exception: an erasure older than the document (a `SubjectErased` from the consent stream, delivered
 * after a newer event of the contact) is written at the stored version with `external_gte`, because
 * erasure must win and only ever removes data.
 *
 * NO READ FOR A DOCUMENT THAT CANNOT EXIST. A rebuild fills a generation this instance created empty, in
 * position order, one fill after the other (WriteContext.fill: the runtime's compare-and-set on
 * `history_through` makes the chain). While every fill of a generation since its creation went through this
 * instance, a document it never wrote is not there, so its `_mget` is skipped and it is folded from
 * nothing, exactly what a "not found" would have given. What was written is kept in a Bloom filter
 * (key-filter.ts; a false positive only costs the read). Anything else (a write that is not the next fill,
 * an index that existed before createGeneration, the swap) ends it for that generation: it reads again.
 * A retried fill keeps it: a document of the failed attempt not yet in the filter holds only this batch's
 * events, and writing them again at the same version is refused with 409 like any duplicate.
 *
 * BACKPRESSURE. A batch's documents go in slices of MAX_BULK_DOCS, each read (_mget), folded and written
 * (_bulk, in chunks of at most MAX_BULK_BYTES) on its own: a document's changes are all in its slice. At
 * most REQUESTS_IN_FLIGHT slices per model at once, so at most that many requests are in flight (a large
 * batch of a replay or rebuild: one slice's _mget travels while the server indexes another's _bulk);
 * items refused with 429 or 5xx are retried alone (never the whole bulk) with exponential backoff;
 * if they still fail, the batch fails with a transient error (the runtime waits it out, never blames an
 * event). An item refused for any other reason (a mapping error) is that event's failure: it is named,
 * retried by the runtime and, if it repeats, dead-lettered.
 */
export const ELASTICSEARCH_MODEL_NAME = 'search_es';
export const MAX_BULK_DOCS = 1_000;
export const MAX_BULK_BYTES = 5 * 1024 * 1024;
/** Requests of one batch sent side by side. Two: the client's work on one overlaps the server's on the other. */
export const REQUESTS_IN_FLIGHT = 2;
const BULK_ANSWER = ['items.*.status', 'items.*.error'];
/** Each doc's found, version and source, or its error: every doc keeps an entry, so positions hold. */
const MGET_ANSWER = ['docs.found', 'docs._version', 'docs._source', 'docs.error'];

export interface ElasticsearchModelOptions {
  readonly client: Client;
  /** ELASTICSEARCH_INDEX_PREFIX (tests use a fresh one each). */
  readonly prefix?: string;
  readonly log?: Logger;
  /** Retries of items refused with 429/5xx before the batch fails as transient (default 8, backoff 50 ms → 5 s). */
  readonly itemRetries?: number;
  /** `wait_for`: a bulk returns once its documents are searchable (tests; costs up to a refresh interval per bulk). */
  readonly refresh?: boolean | 'wait_for';
  readonly sleep?: (ms: number) => Promise<void>;
  /** Size of each filled generation's filter of written documents, as log2 of its bits (default 26: 8 MB). */
  readonly filterBits?: number;
}

/** The search projector's own codes (internal, like the runtime's: they travel in logs and `replay status`). */
export const SearchIndexErrorCode = defineErrors('SEARCH_INDEX', {
  /** Bulk items still refused with 429/5xx after every retry: Elasticsearch is overloaded; waited out. */
  Backpressure: 'SEARCH_INDEX_ERR_BACKPRESSURE',
});

/** Retried items still failing after every attempt: the store is overloaded; the runtime waits it out. */
export class ElasticsearchBackpressureError extends Error {
  readonly code = SearchIndexErrorCode.Backpressure;
  constructor(readonly items: number, readonly lastStatus: number) {
    super(`elasticsearch: ${items} bulk item(s) still refused with ${lastStatus} after every retry`);
    this.name = 'ElasticsearchBackpressureError';
  }
}

interface Pending {
  readonly kind: SearchKind;
  readonly id: string;
  /** The changes to this document, in event order, with the index (in `events`) of their event. */
  readonly changes: Array<{ readonly change: DocumentChange; readonly index: number }>;
}

export function elasticsearchModel(options: ElasticsearchModelOptions): ExternalReadModel & { readonly prefix: string } {
  const { client } = options;
  const prefix = options.prefix ?? '';
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const itemRetries = options.itemRetries ?? 8;
  const name = ELASTICSEARCH_MODEL_NAME;

  /** Generations this instance created empty and has filled alone since: what it wrote, and up to where. */
  const filledAlone = new Map<number, { readonly written: KeyFilter; through: bigint | undefined }>();

  async function createGeneration(generation: number): Promise<void> {
    filledAlone.delete(generation);
    let created = 0;
    for (const kind of searchKinds) {
      const index = indexOf(kind, generation, prefix);
      if (await client.indices.exists({ index })) continue; // left by an attempt that crashed before its bookkeeping: idempotent data
      created++;
      await client.indices
        .create({ index, settings: searchIndexSettings, mappings: searchIndexMappings as never })
        .catch((err: unknown) => {
          // Two processes starting at once: the other one created it.
          if ((err as { meta?: { body?: { error?: { type?: string } } } }).meta?.body?.error?.type !== 'resource_already_exists_exception') throw err;
          created = Number.NEGATIVE_INFINITY; // another process made it: not ours alone
        });
    }
    if (created === searchKinds.length) filledAlone.set(generation, { written: new KeyFilter(options.filterBits), through: undefined });
  }

  async function write(generation: number, events: readonly EventEnvelope[], context: WriteContext = {}): Promise<void> {
    // The documents this generation can hold, when this write is the next fill of a generation filled alone.
    let alone = filledAlone.get(generation);
    if (alone && !(context.fill && context.fill.after === alone.through)) {
      filledAlone.delete(generation);
      alone = undefined;
    }
    // 1. Plan (pure): every event's changes, gathered per document in event order. A mapping that throws is
    //    that event's failure, before anything is read or written.
    const pending = new Map<string, Pending>();
    events.forEach((event, index) => {
      try {
        for (const change of changesOf(event)) {
          const id = documentIdOf(change.key.tenantId, change.key.id);
          const key = `${change.key.kind}/${id}`;
          let p = pending.get(key);
          if (!p) pending.set(key, (p = { kind: change.key.kind, id, changes: [] }));
          p.changes.push({ change, index });
        }
      } catch (err) {
        throw new ProjectionEventError(name, event, err, true, index);
      }
    });
    if (pending.size === 0) {
      // Nothing to write, and the fill chain still moves on (a batch of events that change no document).
      if (alone) alone.through = context.fill!.through;
      return;
    }
    // 2. Per slice of documents, REQUESTS_IN_FLIGHT slices side by side: read, fold, write. A document's
    //    changes are all in its slice, so slices are independent, and one slice's _mget travels while
    //    another's _bulk is indexed.
    const list = [...pending.values()];
    const slices: Pending[][] = [];
    for (let i = 0; i < list.length; i += MAX_BULK_DOCS) slices.push(list.slice(i, i + MAX_BULK_DOCS));
    const keyOf = (p: Pending) => `${p.kind}/${p.id}`;
    await sideBySide(slices, async (slice) => {
      // The current documents (real-time get: sees what was written and not yet refreshed), except those
      // the generation cannot hold yet (see NO READ above).
      const toRead = alone ? slice.filter((p) => alone.written.has(keyOf(p))) : slice;
      const r = toRead.length > 0 ? await client.mget<SearchDocument>({ docs: toRead.map((p) => ({ _index: indexOf(p.kind, generation, prefix), _id: p.id })), filter_path: MGET_ANSWER }) : { docs: [] };
      const stored = new Map(toRead.map((p, k) => [p, r.docs[k]!]));
      const ops: BulkOp[] = [];
      const writing: string[] = [];
      slice.forEach((p) => {
        const d = stored.get(p);
        const found = d !== undefined && 'found' in d && d.found && d._source !== undefined;
        const current = found ? d._source : undefined;
        const storedVersion = found ? d._version : undefined;
        // Fold in event order; only a document that changed is written, whole, versioned.
        let next = current;
        let lastEvent = -1;
        for (const { change, index } of p.changes) {
          const folded = fold(next, change);
          if (folded !== next) {
            next = folded;
            lastEvent = index;
          }
        }
        if (next === undefined || next === current) return;
        const olderRedaction = storedVersion !== undefined && next.position <= storedVersion;
        writing.push(keyOf(p));
        ops.push({
          action: {
            index: {
              _index: indexOf(p.kind, generation, prefix),
              _id: p.id,
              version: olderRedaction ? storedVersion : next.position,
              version_type: olderRedaction ? 'external_gte' : 'external',
            },
          },
          json: JSON.stringify(next),
          eventIndex: lastEvent,
        });
      });
      await bulkWithRetry(ops, events);
      // Written, or refused with 409 because it is there already: either way it exists now.
      if (alone) for (const key of writing) alone.written.add(key);
    });
    if (alone) alone.through = context.fill!.through;
  }

  interface BulkOp {
    readonly action: { index: { _index: string; _id: string; version: number; version_type: 'external' | 'external_gte' } };
    /** The document, serialised once: its length sizes the chunk, and the client sends the string as it is. */
    readonly json: string;
    readonly eventIndex: number;
  }

  /** Sends `ops` in bounded chunks, one after the other; retries only the items refused with 429/5xx. */
  async function bulkWithRetry(ops: readonly BulkOp[], events: readonly EventEnvelope[]): Promise<void> {
    for (const chunk of chunks(ops)) {
      let todo = chunk;
      for (let attempt = 0; todo.length > 0; attempt++) {
        // The answer carries only each item's status and error (every item has a status, so positions hold):
        // a full answer of 1,000 items is ~250 KB of JSON to parse, most of it _index/_id/_shards/_seq_no.
        const r = await client.bulk({ operations: todo.flatMap((o) => [o.action, o.json]), filter_path: BULK_ANSWER, ...(options.refresh ? { refresh: options.refresh } : {}) });
        const retry: BulkOp[] = [];
        let lastStatus = 0;
        r.items.forEach((item, k) => {
          const result = item.index!;
          if (result.status < 300) return;
          // 409: the stored document's version is as new or newer (a duplicate, a concurrent member): done.
          if (result.status === 409) return;
          if (isRetryableStatus(result.status)) {
            retry.push(todo[k]!);
            lastStatus = result.status;
            return;
          }
          const op = todo[k]!;
          throw new ProjectionEventError(name, events[op.eventIndex]!, Object.assign(new Error(`${result.error?.type ?? 'error'}: ${result.error?.reason ?? ''}`), { code: String(result.status) }), true, op.eventIndex);
        });
        if (retry.length === 0) break;
        if (attempt >= itemRetries) throw new ElasticsearchBackpressureError(retry.length, lastStatus);
        options.log?.warn({ items: retry.length, status: lastStatus, attempt: attempt + 1 }, 'elasticsearch: bulk items refused; retrying those only');
        await sleep(Math.min(5_000, 50 * 2 ** attempt));
        todo = retry;
      }
    }
  }

  async function swap(generation: number, previous: number | undefined): Promise<void> {
    // Live from now on: the consumer writes it too.
    filledAlone.delete(generation);
    // One `_aliases` call: the three aliases move together, atomically; readers see old or new, never a mix.
    const actions = searchKinds.flatMap((kind) => [
      ...(previous !== undefined && previous !== generation ? [{ remove: { index: indexOf(kind, previous, prefix), alias: aliasOf(kind, prefix), must_exist: false } }] : []),
      { add: { index: indexOf(kind, generation, prefix), alias: aliasOf(kind, prefix) } },
    ]);
    await client.indices.updateAliases({ actions });
  }

  async function dropGeneration(generation: number): Promise<void> {
    filledAlone.delete(generation);
    await client.indices.delete({ index: searchKinds.map((k) => indexOf(k, generation, prefix)).join(','), ignore_unavailable: true, allow_no_indices: true });
  }

  const scanner: PersonalDataScanner = elasticsearchPiiScanner(client, { prefix, store: `elasticsearch:${name}` });

  return {
    name,
    version: 1,
    store: 'elasticsearch',
    eventTypes: searchEventTypes,
    // Batches of up to 10,000 events (a replay or rebuild; live batches are what the consumer fetched):
    // each costs an _mget, a control transaction and a bulk round per 1,000 documents, so larger batches
    // reach about the raw _bulk rate per document (bench:rebuild: 0.30× raw at 2,000 events, 0.37× at 10,000).
    preferredBatch: { maxEvents: 10_000 },
    prefix,
    createGeneration,
    write,
    swap,
    dropGeneration,
    redactSubject: (tenantId, subjectIds) => redactSubjectDocuments(client, { prefix, tenantId, subjectIds, refresh: options.refresh }),
    scanner,
    isTransient: (error) => isTransientElasticsearchError(error) || error instanceof ElasticsearchBackpressureError,
  };
}

/**
 * `work` over `items`, REQUESTS_IN_FLIGHT at a time. Every started request is waited for (none outlives the
 * batch's write, so the checkpoint never commits while one is still running); then the failure of the
 * earliest failed item, if any, is thrown (the same as one at a time would have thrown first).
 */
export async function sideBySide<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  const failures = new Map<number, unknown>();
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < items.length; i = next++) {
      // After a failure nothing new starts; what runs finishes.
      if (failures.size > 0) return;
      await work(items[i]!).catch((error: unknown) => void failures.set(i, error));
    }
  };
  await Promise.all(Array.from({ length: Math.min(REQUESTS_IN_FLIGHT, items.length) }, lane));
  if (failures.size > 0) throw failures.get(Math.min(...failures.keys()));
}

/** Chunks of at most MAX_BULK_DOCS operations and about MAX_BULK_BYTES of documents. */
function* chunks<T extends { json: string }>(ops: readonly T[]): Generator<T[]> {
  let chunk: T[] = [];
  let bytes = 0;
  for (const op of ops) {
    const size = op.json.length + 150;
    if (chunk.length > 0 && (chunk.length >= MAX_BULK_DOCS || bytes + size > MAX_BULK_BYTES)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(op);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}

import type { PersonalDataScanner } from '../../platform/pii/scanner.js';
import type { AnnalsEventType, EventEnvelope } from '../../schemas/events/registry.js';

/**
 * The read-model TARGET: one read model in one store, as the store-neutral projection runtime sees it.
 *
 * The runtime (projector.ts: consume the bus, decode through the GDPR seam, group commit, retry with
 * backoff, bisect to a poison event, dead-letter, stall detection; replay.ts: fill, rebuild and verify
 * from the event store) never touches a store. It hands a target batches of decoded events with their
 * checkpoint, and the target makes them durable. PostgreSQL (projections/postgres, via
 * `postgresTarget`) is the first target; Elasticsearch and ClickHouse implement the same interface.
 *
 * THE CONTROL PLANE. Every target, whatever its store, keeps its bookkeeping in the control tables of the
 * read database (PostgreSQL or PGlite; schema.ts): `annals_projections` (live generation and version),
 * `annals_projection_generations` (each generation's position high-water mark), `annals_projection_offsets`
 * (consumed bus offsets per topic/partition) and `annals_projection_streams` (per-stream revision guard).
 * So `annals replay status`, /metrics, the erasure wait, `dlq` and `replay rebuild` read every store's
 * progress from one place, with one query.
 *
 * ATOMICITY, decided per store:
 * - a store with transactions in the read database (PostgreSQL) writes rows, revision guard, offsets and
 *   position in ONE transaction (GUIDE rule 8): a crash anywhere leaves all or nothing;
 * - a store without them (Elasticsearch, ClickHouse) writes the DATA FIRST, IDEMPOTENTLY (Elasticsearch:
 *   `version_type: external` with version = the event's global position; ClickHouse: a ReplacingMergeTree
 *   whose version column is the position, queries correct before merges), THEN commits guard, offsets and
 *   position in the control tables. A crash between the two re-delivers the batch, whose second write
 *   changes nothing. `controlledTarget` (controlled.ts) implements exactly this rule around a small
 *   `ExternalReadModel` (create / write / swap / drop of a store's generation), so a new store only
 *   writes documents or rows; it inherits dedupe, checkpoints, blue-green bookkeeping and status.
 *
 * GUARANTEES the runtime relies on (and the store-neutral tests in target-contract.unit.test.ts check
 * against every target): applying the same batch twice, or any prefix of it and then all of it, leaves the
 * model as applying it once; a message below its partition's stored offset is skipped; an event whose
 * stream revision is <= the last applied to that generation is a duplicate (a relay republish arrives at a
 * new offset); position and offsets only ever move forward. The guard is one module (guard.ts), and a
 * rebuild's fill of a fresh shadow skips it, guarding by `history_through` instead.
 */
export interface ReadModelTarget {
  /** Read model name: consumer group `annals.projector.<name>`, checkpoint key, `replay rebuild <name>`. Unique across stores. */
  readonly name: string;
  /** Bump when the mapping or the store schema changes meaning: a live generation at another version needs a rebuild. */
  readonly version: number;
  readonly store: ReadModelStore;
  /** Event types it reacts to: the runtime decodes (decrypts) only these; the others move the position and cost no write. */
  readonly eventTypes: readonly AnnalsEventType[];
  /**
   * The batch size this store works best with (see `BatchPreference`); absent: the runtime's defaults
   * (batching.ts). An explicit setting of the caller still wins.
   */
  readonly preferredBatch?: BatchPreference;

  /**
   * Makes sure the control tables exist and the model has a live generation; the first time, creates
   * generation 1 (store objects + bookkeeping) at `version`. Idempotent; safe when several processes start at once.
   */
  register(): Promise<Registration>;
  /** The live generation, or undefined before `register`. */
  live(): Promise<GenerationRef | undefined>;
  /** A fresh generation (status `building`) beside the live one: a blue-green rebuild or a verification replay. */
  createShadow(): Promise<GenerationRef>;

  /**
   * Applies a batch and its checkpoint. See `TargetBatch` for what to skip and what moves. The events of
   * `batch.items` must be applied in the given order.
   * - Failure of ONE event: throw `ProjectionEventError` (errors.ts) naming it (the runtime goes by its
   *   `event.eventId`; `index` is informational), so the runtime retries it and, after
   *   PROJECTOR_MAX_ATTEMPTS, dead-letters it. Any other error fails the batch; if it repeats, the runtime
   *   bisects the batch with probes (applies of prefixes of the batch's events).
   * - `options.probe`: do the work, then throw `ProbeRollback` (isolate.ts) WITHOUT committing the
   *   checkpoint. A transactional store rolls everything back; a store that cannot may keep the data it
   *   wrote (it is idempotent and the committed apply would write the same), never the checkpoint.
   * - A failure that is the store being unreachable must be recognisable by `isTransient` (or be a
   *   connection error of the read database, failures.ts): it is waited out, never blamed on an event.
   */
  apply(batch: TargetBatch, options?: ApplyOptions): Promise<ApplyResult>;
  /** Stored next offset per `topic:partition` (`tpKey`): where a (re)joining consumer member resumes. */
  readOffsets(): Promise<ReadonlyMap<string, bigint>>;
  /** The generation's position high-water mark (a replay's resume point); undefined when nothing was applied. */
  readPosition(generation: GenerationRef): Promise<bigint | undefined>;

  /**
   * Makes `generation` live (view / alias / table exchange) and retires the previous one; readers see the
   * old or the new generation, never a mix or an empty model. While it runs the live consumer is held off
   * (its `apply` with `generation: 'live'` waits), and `catchUp`, if given, runs first with an `apply` that
   * writes inside that hold: the rebuild applies the events appended since its replay, so nothing is lost
   * between the last replayed position and the swap. A failure leaves the old generation live.
   */
  swap(generation: GenerationRef, options?: SwapOptions): Promise<void>;
  /** Drops a retired (or abandoned building) generation's store objects and bookkeeping. Refuses the live one. */
  drop(generation: GenerationRef): Promise<void>;
  /** Generations of this model in the control tables (oldest first), for status, rebuild clean-up and verify. */
  generations(): Promise<readonly GenerationInfo[]>;

  /**
   * GDPR, the direct path: removes or redacts every copy of the subjects' personal values this model holds
   * in its LIVE generation (and in a building one, if any), for `tenantId` only. Models normally redact when
   * they apply the erasure events (`ContactErased`, `SubjectErased`: ordered after every personal value of
   * the stream); this is for copies that ordering does not reach (a subject's values denormalised into
   * another entity's document). Idempotent. A store holding no personal data (the ClickHouse fact table)
   * returns `{ redacted: 0 }`, and its `scanner` proves it.
   */
  redactSubject(tenantId: string, subjectIds: readonly string[]): Promise<{ redacted: number }>;
  /** The erasure certificate's scanner for this model's live generation (store name `<store>:<name>`). */
  readonly scanner: PersonalDataScanner;

  /**
   * Errors of THIS store to wait out (retry with backoff forever) rather than blame on an event: the server
   * unreachable, 429/503 backpressure. Connection errors of the read database are always transient.
   * Default: none besides those.
   */
  isTransient?(error: unknown): boolean;
}

export type ReadModelStore = 'postgres' | 'elasticsearch' | 'clickhouse';

/**
 * A store's hint for the size of the batches the runtime hands it. Some stores pay per request far more
 * than per row (ClickHouse 18.16: ~0.2 s and a part on disk per INSERT whatever its size), so the
 * runtime's defaults (5,000 events per live transaction, 1,000 per replay read) would cap them well
 * below their bulk rate. The runtime (batching.ts) honours it as an UPPER bound, never as a target to
 * wait for: the live projector commits whatever its fetches returned, up to `maxEvents` (so latency at
 * low traffic does not grow), and keeps about two batches in memory while pipelining; a replay reads
 * `maxEvents` records per batch. A caller's explicit setting (`maxMessagesPerTransaction`, `batchSize`)
 * wins over it.
 */
export interface BatchPreference {
  /** Most events per apply (a positive integer). Memory: the live projector holds about twice this many messages. */
  readonly maxEvents: number;
}

/** One generation of one read model. Physical names derive from it (`contacts_g3`, `annals-contacts-g3`). */
export interface GenerationRef {
  readonly name: string;
  readonly generation: number;
  /** The code version the generation was created with. */
  readonly version: number;
}

export interface Registration extends GenerationRef {
  /** The code's version differs from the live generation's: rebuild (blue-green) before trusting the data. */
  readonly needsRebuild: boolean;
  /** True when this call created generation 1 (the runtime then fills it from the event store). */
  readonly created: boolean;
}

export interface GenerationInfo extends GenerationRef {
  readonly status: 'building' | 'live' | 'retired';
  readonly position: bigint | undefined;
  readonly eventsApplied: bigint;
}

/** Bus coordinates of a consumed message. */
export interface SourceOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
}

/** One record of a batch, in apply order. */
export interface BatchItem {
  /** Global position from the record; moves the position high-water mark. Undefined: the record was unreadable. */
  readonly position: bigint | undefined;
  /**
   * The decoded event to apply. Undefined: a type the model does not handle, an unreadable record
   * (dead-lettered by the runtime), or an event the runtime excluded (poison): it still moves the position.
   */
  readonly event: EventEnvelope | undefined;
  /** Where it was consumed (bus batches only): compared with the stored offset of its partition. */
  readonly source?: SourceOffset;
}

/** Offset after the last message of a partition in the batch: the consumer resumes there. */
export interface PartitionOffset {
  readonly topic: string;
  readonly partition: number;
  readonly nextOffset: bigint;
}

/**
 * A batch and its checkpoint.
 * - `generation: 'live'` (the consumer): the target resolves the live generation INSIDE its atomic unit
 *   (holding off a swap), reads the stored offsets of the batch's partitions under a lock (a concurrent
 *   member of a stale consumer generation must not double-apply), SKIPS every item whose `source.offset` is
 *   below its partition's stored next offset (no write, no position), applies the rest, then stores
 *   `offsets` (never moving one backwards) and the highest position among the items not skipped.
 * - `generation: <ref>` (a replay / rebuild / verify): items come from the event store in position order,
 *   no offsets; the position stored is the highest item position (the last record read, applied or not).
 * In both, an event whose stream revision is <= the generation's revision guard is a duplicate (guard.ts;
 * a fill, `history` set into a fresh shadow, has no duplicates by construction and writes no guard rows).
 */
export interface TargetBatch {
  readonly generation: 'live' | GenerationRef;
  readonly items: readonly BatchItem[];
  /** Bus batches: per partition, where to resume (every message of the batch counts, readable or not). */
  readonly offsets?: readonly PartitionOffset[];
  /**
   * Replay batches: the items are ALL the records of `$all` right after `after` (undefined: from the start),
   * in order. Into a `building` generation holding exactly that prefix, the target may skip the per-stream
   * guard and commit `history_through` instead (guard.ts); elsewhere it changes nothing.
   */
  readonly history?: { readonly after: bigint | undefined };
}

export interface ApplyOptions {
  /** Bisection probe: do the work, then throw `ProbeRollback` without committing the checkpoint. */
  readonly probe?: boolean;
  readonly signal?: AbortSignal;
}

export interface ApplyResult {
  applied: number;
  /** Events skipped by the revision guard (applied before). */
  duplicates: number;
  /** Events of types the model does not handle (they still move the position). */
  ignored: number;
  /** The position committed by this apply (highest among the items not skipped by offset), if any. */
  maxPosition: bigint | undefined;
}

export interface SwapOptions {
  /**
   * Runs inside the swap's hold on the live consumer, before the switch. `apply` writes a batch to the
   * generation being swapped in (same contract as `ReadModelTarget.apply`, `generation` must be the swapped
   * one); a failure of `catchUp` aborts the swap.
   */
  readonly catchUp?: (apply: (batch: TargetBatch, options?: ApplyOptions) => Promise<ApplyResult>) => Promise<void>;
}

/** What the runtime knows about a write beyond its events. */
export interface WriteContext {
  /**
   * Set when the batch is a FILL (guard.ts): `generation` is a building generation holding exactly the
   * history up to `after` (undefined: nothing yet), and its checkpoint moves to `through` with this batch.
   * A model that has written every earlier fill of the generation itself, from the empty generation it
   * created, knows what the generation holds without reading it (model.ts of Elasticsearch).
   */
  readonly fill?: { readonly after: bigint | undefined; readonly through: bigint };
}

/**
 * What a store WITHOUT transactions in the read database implements; `controlledTarget(sql, model)`
 * (controlled.ts) turns it into a `ReadModelTarget` whose bookkeeping (guard, offsets, position,
 * generations) lives in the control tables, by the rule in the header: data first, idempotently, then the
 * checkpoint. The control transaction is open while `write` runs: it holds off a swap and a stale member
 * with advisory locks (no transaction id yet, so the event store's readers are not held back), and a swap
 * waits for it, so keep `write` bounded (one bulk request per batch).
 */
export interface ExternalReadModel {
  readonly name: string;
  readonly version: number;
  readonly store: Exclude<ReadModelStore, 'postgres'>;
  readonly eventTypes: readonly AnnalsEventType[];
  /** Passed on as the target's `preferredBatch`. */
  readonly preferredBatch?: BatchPreference;
  /**
   * `false`: the store needs no per-stream revision guard, because `write` is idempotent by position for
   * every event INCLUDING what the guard would drop (a republished duplicate, an older event after a newer
   * one): the ClickHouse fact table is keyed on position and its state keeps only idempotent aggregates.
   * The control plane then skips the guard's read and upsert (one row per stream per batch: ~17,000 rows
   * for a 50,000-event ClickHouse batch), counts no duplicates, and a dead-letter retry re-applies the
   * letter's event alone. Default: guarded.
   */
  readonly revisionGuard?: boolean;
  /**
   * Creates the store objects of generation `generation` (index with its mapping, table). Idempotent: a
   * crash before the bookkeeping commits calls it again for the same number; an object left over from an
   * abandoned attempt may be dropped and recreated.
   */
  createGeneration(generation: number): Promise<void>;
  /**
   * Writes `events` (in order; duplicates by revision already removed unless `revisionGuard` is false; only handled types) into
   * `generation`, idempotently: writing them again, or an older event after a newer one, changes nothing
   * (ES: external version = position; CH: replacing engine on position). Resolves once durable/visible
   * enough that a crash after the checkpoint commits cannot lose them (ES: refresh not required, the
   * translog is durable; CH: the INSERT acknowledged). One event's failure: `ProjectionEventError` with
   * `index` = its index in `events`; retry failed bulk items yourself before blaming them. A fill
   * (`context.fill`) is passed on even when none of its events is for this model (`events` empty), so a
   * model that follows the chain of fills sees every link.
   */
  write(generation: number, events: readonly EventEnvelope[], context?: WriteContext): Promise<void>;
  /** Points the public name (alias, view, `contacts` table exchange) at `generation`. Idempotent. */
  swap(generation: number, previous: number | undefined): Promise<void>;
  /** Removes generation `generation`'s store objects. Idempotent (missing is fine). */
  dropGeneration(generation: number): Promise<void>;
  redactSubject(tenantId: string, subjectIds: readonly string[]): Promise<{ redacted: number }>;
  readonly scanner: PersonalDataScanner;
  isTransient?(error: unknown): boolean;
}

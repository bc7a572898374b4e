import type { Logger } from 'pino';
import { backoffDelay, sleep } from '../../platform/bus/backoff.js';
import { decodeEvent, deadLetter, type ConsumedMessage } from '../../platform/bus/message.js';
import { tpKey, type Bus, type ConsumedBatch, type TopicPartition } from '../../platform/bus/port.js';
import { allEventsTopics, deadLetterTopic, projectorGroup } from '../../platform/bus/topics.js';
import type { SqlClient } from '../../platform/sql/client.js';
import type { EventEnvelope, RawStoredEvent } from '../../schemas/events/registry.js';
import { createEventReader, type EventReader } from '../../platform/event-store/read-events.js';
import { postgresReadModelTarget } from '../postgres/target.js';
import { liveBatchSize } from './batching.js';
import { decodeSlices } from './decode-slices.js';
import { describeFailure } from './failures.js';
import { defaultRetryPolicy, runIsolated, type RetryPolicy } from './isolate.js';
import type { PostgresProjection } from './projection.js';
import type { BatchItem, PartitionOffset, ReadModelTarget } from './target.js';

/**
 * Which read model a runtime entry point (projector, replay, rebuild) drives: a target of any store, or,
 * as shorthand for `postgresReadModelTarget(sql, projection)`, a PostgreSQL projection and its read database.
 */
export type TargetChoice = { readonly target: ReadModelTarget; readonly sql?: undefined; readonly projection?: undefined } | { readonly target?: undefined; readonly sql: SqlClient; readonly projection: PostgresProjection };

export const targetOf = (choice: TargetChoice): ReadModelTarget => choice.target ?? postgresReadModelTarget(choice.sql, choice.projection);

export type ProjectorOptions = TargetChoice & ProjectorSettings;

export interface ProjectorSettings {
  readonly bus: Bus;
  readonly log: Logger;
  readonly retry?: RetryPolicy;
  /**
   * Topics to consume (default: every aggregate topic). Every projector reads every aggregate topic, so
   * its position high-water mark tracks the whole store and lag is comparable across read models; events
   * of types it does not handle cost a header parse and no write.
   */
  readonly topics?: readonly string[];
  readonly now?: () => Date;
  /** Epoch ms for the progress bookkeeping (stall detector); tests pass a fake one. */
  readonly clock?: () => number;
  /**
   * Group commit bound: most messages one transaction takes when batches of several partitions wait
   * together. Default: the target's `preferredBatch` (target.ts), else 5 000; this setting wins over both.
   * A partition's batch is never split (the bus bounds it: Kafka ~1 MB per partition per fetch, the
   * embedded bus 500), so 1 means one batch per transaction.
   */
  readonly maxMessagesPerTransaction?: number;
  /**
   * Pipelining (the bus port's `pipelineMessages`): most messages handed over and not yet durable, so the
   * next fetch and its decoding overlap the transaction in flight. Default: twice maxMessagesPerTransaction;
   * 0 turns it off (one fetch at a time: fetch, decode, commit, fetch).
   */
  readonly pipelineMessages?: number;
  /**
   * Bus record → event (decrypt, upcast, validate): the event store's reader, so a projector decrypts
   * with the same key store as every other reader. Default: a store in clear (no codec).
   */
  readonly reader?: EventReader;
}

export interface PartitionProgress {
  nextOffset: bigint;
  highWatermark: bigint;
}

export interface ProjectorStats {
  applied: number;
  duplicates: number;
  deadLettered: number;
  /** Highest global position applied by this process (see the generation's row for the durable value). */
  position: bigint | undefined;
  partitions: Map<string, PartitionProgress>;
  /** The last failure of a batch or of the consumer (code and message), cleared when a batch commits. */
  lastError: string | undefined;
  /** Messages handed to the projector and not yet committed (the stall detector's "it has work"). */
  inFlight: number;
  /**
   * When the projector last made progress (a batch committed) or, if it was idle, when work last arrived
   * (epoch ms): "lag and no progress for PROJECTOR_STALL_MS" is measured from here.
   */
  progressAt: number;
}

export interface Projector {
  readonly name: string;
  readonly groupId: string;
  readonly stats: ProjectorStats;
  /**
   * Applies one partition's batch in ONE transaction with offsets, revision guard and position (together with
   * other partitions' batches handed over meanwhile: group commit); resolves once durable. Exposed for tests.
   */
  handleBatch(batch: ConsumedBatch, signal?: AbortSignal): Promise<void>;
  /** Consumes as group `annals.projector.<name>` until `signal` aborts; restarts the member after failures. */
  run(signal: AbortSignal): Promise<void>;
}

interface Decoded {
  readonly message: ConsumedMessage;
  /** From the headers; undefined only when the message could not be decoded. */
  readonly position?: bigint;
  /** Parsed only when the projection handles its type. */
  readonly event?: EventEnvelope;
  readonly error?: unknown;
}

const lastOffset = (decoded: readonly Decoded[]): bigint => decoded[decoded.length - 1]!.message.offset;

/** Whether the projector knows of messages it has not applied (handed over, or behind a partition's end). */
export function lagging(stats: ProjectorStats): boolean {
  if (stats.inFlight > 0) return true;
  for (const p of stats.partitions.values()) if (p.nextOffset < p.highWatermark) return true;
  return false;
}

/**
 * The consumer-group runtime of one read model, whatever its store: consume, decode through the GDPR seam
 * (the event reader), group commit, retry with backoff, bisect to a poison event, dead-letter it. The
 * target makes each batch durable with its checkpoint (target.ts). Call the target's `register` first
 * (the composition root does).
 */
export function createProjector(options: ProjectorOptions): Projector {
  const { bus, log: parentLog } = options;
  const target = targetOf(options);
  const log = parentLog.child({ projector: target.name });
  const policy = options.retry ?? defaultRetryPolicy;
  const now = options.now ?? (() => new Date());
  const groupId = projectorGroup(target.name);
  const dlq = deadLetterTopic(target.name);
  const topics = options.topics ?? allEventsTopics;
  const clock = options.clock ?? Date.now;
  const stats: ProjectorStats = { applied: 0, duplicates: 0, deadLettered: 0, position: undefined, partitions: new Map(), lastError: undefined, inFlight: 0, progressAt: clock() };

  const handled = new Set<string>(target.eventTypes);
  const reader = options.reader ?? createEventReader();

  const sendToDlq = async (message: ConsumedMessage, error: unknown, attempts: number) => {
    await bus.publish([
      deadLetter(message, dlq, { consumer: target.name, error, attempts, at: now(), source: { topic: message.topic, partition: message.partition, offset: message.offset } }),
    ]);
    stats.deadLettered++;
  };

  /**
   * Decodes a batch of messages once: the headers always (they carry the position, which moves for every
   * event), the payload only for the types this projection handles, through the event reader (decrypt,
   * upcast, validate: one key-store statement per batch); the others cost a header read and no write. A
   * record the reader cannot read (tampered ciphertext, bad schema) is dead-lettered; an erased subject
   * reads as "[erased]" values, not as an error.
   */
  const slices = decodeSlices();
  let handedOver = 0;
  const decodeAll = async (messages: readonly ConsumedMessage[], seq = handedOver++): Promise<Decoded[]> => {
    const out: Decoded[] = [];
    const toRead: { i: number; raw: RawStoredEvent }[] = [];
    for (const message of messages) {
      try {
        const raw = decodeEvent(message);
        if (handled.has(raw.type)) toRead.push({ i: out.length, raw });
        out.push({ message, position: raw.position });
      } catch (error) {
        out.push({ message, error });
      }
    }
    // The whole batch in one read (one key-store statement), in time slices with the event loop free in
    // between (decode-slices.ts): decoding runs while a transaction is in flight (from hand-over, and with
    // pipelining for the next fetch), and one long synchronous block would hold back each of its round
    // trips until it ends.
    if (toRead.length === 0) return out;
    let outcomes;
    try {
      outcomes = await reader.read(
        toRead.map((t) => t.raw),
        { pause: slices.pauser(seq) },
      );
    } finally {
      slices.done(seq);
    }
    for (let k = 0; k < toRead.length; k++) {
      const { i } = toRead[k]!;
      const o = outcomes[k]!;
      out[i] = o.ok ? { message: out[i]!.message, position: out[i]!.position, event: o.event } : { message: out[i]!.message, error: o.error };
    }
    return out;
  };

  /** Applies the batches of several partitions as ONE target batch (one transaction on PostgreSQL: rows, offsets, revision guard, position). */
  async function applyBatches(batches: readonly ConsumedBatch[], signal?: AbortSignal, predecoded?: readonly Promise<Decoded[]>[]): Promise<void> {
    const byPartition = new Map<string, { topic: string; partition: number; decoded: Decoded[]; highWatermark: bigint }>();
    for (const [i, b] of batches.entries()) {
      const key = tpKey(b.topic, b.partition);
      const part = byPartition.get(key) ?? { topic: b.topic, partition: b.partition, decoded: [], highWatermark: b.highWatermark };
      part.decoded.push(...(await (predecoded?.[i] ?? decodeAll(b.messages))));
      part.highWatermark = b.highWatermark;
      byPartition.set(key, part);
    }
    const parts = [...byPartition.values()];
    // Unreadable messages fail the same way on every attempt: dead-letter them at once, before the
    // offset moves past them (a crash in between dead-letters them again: duplicates in a DLQ are harmless).
    for (const d of parts.flatMap((p) => p.decoded)) {
      if (d.error === undefined) continue;
      log.error({ err: d.error, topic: d.message.topic, partition: d.message.partition, offset: d.message.offset.toString() }, 'projector: message failed parseEvent; dead-lettering it');
      await sendToDlq(d.message, d.error, 1);
    }
    const byEventId = new Map(parts.flatMap((p) => p.decoded).flatMap((d) => (d.event ? [[d.event.eventId, d.message] as const] : [])));
    // Every message moves its partition's offset, readable or not; the target skips the ones below the stored offset.
    const items: BatchItem[] = parts.flatMap((p) =>
      p.decoded.map((d) => ({ position: d.position, event: d.event, source: { topic: d.message.topic, partition: d.message.partition, offset: d.message.offset } })),
    );
    const offsets: PartitionOffset[] = parts.map((p) => ({ topic: p.topic, partition: p.partition, nextOffset: lastOffset(p.decoded) + 1n }));

    const result = await runIsolated({
      name: target.name,
      // The order the target applies them in: what a bisection splits.
      events: items.flatMap((i) => (i.event ? [i.event] : [])),
      policy,
      signal,
      log,
      isTransient: target.isTransient?.bind(target),
      onFailure: (error) => {
        stats.lastError = describeFailure(error);
      },
      onPoison: async (error, attempts) => {
        const message = byEventId.get(error.event.eventId);
        if (message) await sendToDlq(message, error, attempts);
      },
      attempt: (excluded, probe) =>
        target.apply(
          {
            generation: 'live',
            // An excluded (dead-lettered) event still moves the position and the offset.
            items: excluded.size === 0 ? items : items.map((i) => (i.event && excluded.has(i.event.eventId) ? { ...i, event: undefined } : i)),
            offsets,
          },
          { probe, ...(signal ? { signal } : {}) },
        ),
    });
    stats.applied += result.applied;
    stats.duplicates += result.duplicates;
    stats.lastError = undefined;
    stats.progressAt = clock();
    if (result.maxPosition !== undefined && (stats.position === undefined || result.maxPosition > stats.position)) stats.position = result.maxPosition;
    for (const p of parts) stats.partitions.set(tpKey(p.topic, p.partition), { nextOffset: lastOffset(p.decoded) + 1n, highWatermark: p.highWatermark });
    if (result.duplicates > 0) log.debug({ duplicates: result.duplicates }, 'projector: skipped events applied before');
  }

  /**
   * Group commit. Batches handed over while a transaction is running (the Kafka adapter delivers several
   * partitions at once, and with pipelining the next fetch's too) wait and then go together in the next
   * one, so N partitions with fresh messages cost one transaction and one WAL flush, not N in a row. Each
   * caller resolves when ITS batch is durable. Batches are applied in hand-over order.
   *
   * A session is one consumer-group member's stream of hand-overs (`run` opens one per member). With
   * pipelining a partition's next batches are handed over before the previous one is durable, so once a
   * group fails, no batch of its sessions handed over after it may be applied — that would move a
   * partition's offset past events never applied. They fail too (queued or arriving later), and the member
   * restarts from the checkpoint. A direct `handleBatch` call is a session of its own.
   */
  interface Session {
    failed?: unknown;
  }
  const queue: { batch: ConsumedBatch; decoded: Promise<Decoded[]>; signal?: AbortSignal | undefined; session: Session; done: (error?: unknown) => void }[] = [];
  let draining = false;
  // An upper bound, not a quantity to wait for: a drain takes what is queued now (see enqueue), so a
  // large hint costs no latency at low traffic; under a backlog, pipelining fills the queue up to it.
  const maxMessages = liveBatchSize(target, options.maxMessagesPerTransaction);
  const drain = async () => {
    while (queue.length > 0) {
      let size = queue[0]!.batch.messages.length;
      let n = 1;
      while (n < queue.length && size + queue[n]!.batch.messages.length <= maxMessages) size += queue[n++]!.batch.messages.length;
      const group = queue.splice(0, n);
      try {
        // A stopped member's queue is not applied (it may be long with pipelining): the next member resumes from the checkpoint.
        if (group[0]!.signal?.aborted) throw new Error('projector: stopped before the batch was applied');
        await applyBatches(
          group.map((g) => g.batch),
          group[0]!.signal,
          group.map((g) => g.decoded),
        );
        for (const g of group) g.done();
      } catch (e) {
        const error = e ?? new Error('projector: batch failed');
        for (const g of group) {
          g.session.failed ??= error;
          g.done(error);
        }
        // Everything queued behind it in a failed session fails with it, unapplied.
        for (let i = 0; i < queue.length; ) {
          const q = queue[i]!;
          if (q.session.failed === undefined) i++;
          else {
            queue.splice(i, 1);
            q.done(q.session.failed);
          }
        }
      }
    }
    draining = false;
  };
  function enqueue(batch: ConsumedBatch, signal: AbortSignal | undefined, session: Session): Promise<void> {
    // Work arriving at an idle projector starts the stall clock; arriving at a busy one it does not.
    if (stats.inFlight === 0 && !lagging(stats)) stats.progressAt = clock();
    if (session.failed !== undefined) return Promise.reject(session.failed as Error);
    stats.inFlight += batch.messages.length;
    return new Promise((resolve, reject) => {
      const done = (error?: unknown) => {
        stats.inFlight -= batch.messages.length;
        if (error === undefined) resolve();
        else reject(error as Error);
      };
      // Decoding (decryption: CPU, plus one key-store statement) starts at hand-over, so it overlaps the
      // transaction in flight instead of waiting for it. Its failure is rethrown by applyBatches.
      const decoded = decodeAll(batch.messages);
      decoded.catch(() => undefined);
      queue.push({ batch, decoded, signal, session, done });
      if (draining) return;
      draining = true;
      // One macrotask of patience: the other partitions of the same fetch are handed over in this one.
      setImmediate(() => void drain());
    });
  }
  const handleBatch = (batch: ConsumedBatch, signal?: AbortSignal): Promise<void> => enqueue(batch, signal, {});

  const resumeFrom = async (assigned: readonly TopicPartition[]) => {
    const stored = await target.readOffsets();
    const wanted = new Set(assigned.map((a) => tpKey(a.topic, a.partition)));
    return new Map([...stored].filter(([k]) => wanted.has(k)));
  };

  async function run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        await bus.ensureTopics([...topics, dlq]);
        log.info({ groupId, topics }, 'projector: joining consumer group');
        // One session per member: a failure fails what the member handed over after it (see enqueue).
        const session: Session = {};
        await bus.consume({
          groupId,
          topics,
          resumeFrom,
          signal,
          // Every partition of a fetch at once: they meet in one transaction (group commit, see handleBatch).
          concurrentPartitions: 64,
          // The next fetch (and its decoding) while this transaction runs: one transaction's worth waiting
          // behind the one in flight.
          pipelineMessages: options.pipelineMessages ?? 2 * maxMessages,
          onBatch: async (batch) => {
            await enqueue(batch, signal, session);
            failures = 0;
          },
        });
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        stats.lastError = describeFailure(err);
        const delay = backoffDelay(policy.backoff, failures, Math.random());
        // Restarting the member is safe: it resumes from the checkpoint committed with the rows. A warning:
        // it is retried; if it keeps the projector from progressing, the stall detector says so once, at error.
        log.warn({ err, retryInMs: delay }, 'projector: consumer failed; rejoining');
        await sleep(delay, signal);
      }
    }
  }

  return { name: target.name, groupId, stats, handleBatch, run };
}

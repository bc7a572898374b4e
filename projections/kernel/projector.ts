import type { Logger } from 'pino';
import { backoffDelay, sleep } from '../../platform/bus/backoff.js';
import { decodeEvent, deadLetter, type ConsumedMessage } from '../../platform/bus/message.js';
import { tpKey, type Bus, type ConsumedBatch, type TopicPartition } from '../../platform/bus/port.js';
import { allEventsTopics, deadLetterTopic, projectorGroup } from '../../platform/bus/topics.js';
import type { SqlClient } from '../../platform/sql/client.js';
import { parseEvent, type EventEnvelope } from '../../schemas/events/registry.js';
import { advanceGeneration, applyEvents } from './apply.js';
import { readLive } from './generations.js';
import { defaultRetryPolicy, runIsolated, type RetryPolicy } from './isolate.js';
import type { PostgresProjection } from './projection.js';

export interface ProjectorOptions {
  readonly sql: SqlClient;
  readonly bus: Bus;
  readonly projection: PostgresProjection;
  readonly log: Logger;
  readonly retry?: RetryPolicy;
  /**
   * Topics to consume (default: every aggregate topic). Every projector reads every aggregate topic, so
   * its position high-water mark tracks the whole store and lag is comparable across read models; events
   * of types it does not handle cost a header parse and no write.
   */
  readonly topics?: readonly string[];
  readonly now?: () => Date;
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
  lastError: string | undefined;
}

export interface Projector {
  readonly name: string;
  readonly groupId: string;
  readonly stats: ProjectorStats;
  /** Applies one partition's batch in ONE transaction with offsets, revision guard and position. Exposed for tests. */
  handleBatch(batch: ConsumedBatch, signal?: AbortSignal): Promise<void>;
  /** Consumes as group `annals.projector.<name>` until `signal` aborts; restarts the member after failures. */
  run(signal: AbortSignal): Promise<void>;
}

interface Decoded {
  readonly message: ConsumedMessage;
  readonly event?: EventEnvelope;
  readonly error?: unknown;
}

/** The consumer-group runtime of a PostgresProjection. Call `registerProjection` first (the composition root does). */
export function createProjector(options: ProjectorOptions): Projector {
  const { sql, bus, projection, log: parentLog } = options;
  const log = parentLog.child({ projector: projection.name });
  const policy = options.retry ?? defaultRetryPolicy;
  const now = options.now ?? (() => new Date());
  const groupId = projectorGroup(projection.name);
  const dlq = deadLetterTopic(projection.name);
  const topics = options.topics ?? allEventsTopics;
  const stats: ProjectorStats = { applied: 0, duplicates: 0, deadLettered: 0, position: undefined, partitions: new Map(), lastError: undefined };

  const storedOffset = async (topic: string, partition: number): Promise<bigint | undefined> => {
    const { rows } = await sql.query<{ o: string }>(`SELECT next_offset::text AS o FROM annals_projection_offsets WHERE name = $1 AND topic = $2 AND partition = $3`, [
      projection.name,
      topic,
      partition,
    ]);
    return rows[0] ? BigInt(rows[0].o) : undefined;
  };

  const sendToDlq = async (message: ConsumedMessage, error: unknown, attempts: number) => {
    await bus.publish([
      deadLetter(message, dlq, { consumer: projection.name, error, attempts, at: now(), source: { topic: message.topic, partition: message.partition, offset: message.offset } }),
    ]);
    stats.deadLettered++;
  };

  async function handleBatch(batch: ConsumedBatch, signal?: AbortSignal): Promise<void> {
    const { topic, partition } = batch;
    const key = tpKey(topic, partition);
    const last = batch.messages[batch.messages.length - 1]!;
    // Cheap pre-filter; the transaction re-reads the offset under a row lock, which is what counts.
    const known = await storedOffset(topic, partition);
    const fresh = batch.messages.filter((m) => known === undefined || m.offset >= known);
    if (fresh.length === 0) return;

    const decoded: Decoded[] = fresh.map((message) => {
      try {
        return { message, event: parseEvent(decodeEvent(message)) };
      } catch (error) {
        return { message, error };
      }
    });
    // Unreadable messages fail the same way on every attempt: dead-letter them at once, before the
    // offset moves past them (a crash in between dead-letters them again: duplicates in a DLQ are harmless).
    for (const d of decoded) {
      if (d.error === undefined) continue;
      log.error({ err: d.error, topic, partition, offset: d.message.offset.toString() }, 'projector: message failed parseEvent; dead-lettering it');
      await sendToDlq(d.message, d.error, 1);
    }
    const byEventId = new Map(decoded.filter((d) => d.event).map((d) => [d.event!.eventId, d.message]));

    const result = await runIsolated({
      policy,
      signal,
      log,
      onPoison: async (error, attempts) => {
        const message = byEventId.get(error.event.eventId);
        if (message) await sendToDlq(message, error, attempts);
      },
      attempt: (excluded) =>
        sql.transaction(async (tx) => {
          const live = await readLive(tx, projection.name);
          if (!live) throw new Error(`read model ${projection.name} is not registered (call registerProjection first)`);
          const { rows } = await tx.query<{ o: string }>(
            `SELECT next_offset::text AS o FROM annals_projection_offsets WHERE name = $1 AND topic = $2 AND partition = $3 FOR UPDATE`,
            [projection.name, topic, partition],
          );
          const next = rows[0] ? BigInt(rows[0].o) : undefined;
          const events = decoded
            .filter((d) => d.event !== undefined && (next === undefined || d.message.offset >= next) && !excluded.has(d.event.eventId))
            .map((d) => d.event!);
          const target = { name: projection.name, generation: live.generation, tables: live.tables };
          const r = await applyEvents(tx, projection, target, events);
          await advanceGeneration(tx, target, r.maxPosition, r.applied);
          await tx.query(
            `INSERT INTO annals_projection_offsets(name, topic, partition, next_offset) VALUES ($1, $2, $3, $4::bigint)
             ON CONFLICT (name, topic, partition) DO UPDATE SET next_offset = GREATEST(annals_projection_offsets.next_offset, EXCLUDED.next_offset), updated_at = now()`,
            [projection.name, topic, partition, (last.offset + 1n).toString()],
          );
          return r;
        }),
    });
    stats.applied += result.applied;
    stats.duplicates += result.duplicates;
    if (result.maxPosition !== undefined && (stats.position === undefined || result.maxPosition > stats.position)) stats.position = result.maxPosition;
    stats.partitions.set(key, { nextOffset: last.offset + 1n, highWatermark: batch.highWatermark });
    if (result.duplicates > 0) log.debug({ topic, partition, duplicates: result.duplicates }, 'projector: skipped events applied before');
  }

  const resumeFrom = async (assigned: readonly TopicPartition[]) => {
    const { rows } = await sql.query<{ topic: string; partition: number; o: string }>(
      `SELECT topic, partition, next_offset::text AS o FROM annals_projection_offsets WHERE name = $1`,
      [projection.name],
    );
    const wanted = new Set(assigned.map((a) => tpKey(a.topic, a.partition)));
    return new Map(rows.filter((r) => wanted.has(tpKey(r.topic, r.partition))).map((r) => [tpKey(r.topic, r.partition), BigInt(r.o)]));
  };

  async function run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        await bus.ensureTopics([...topics, dlq]);
        log.info({ groupId, topics }, 'projector: joining consumer group');
        await bus.consume({
          groupId,
          topics,
          resumeFrom,
          signal,
          onBatch: async (batch) => {
            await handleBatch(batch, signal);
            failures = 0;
          },
        });
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        stats.lastError = (err as Error).message;
        const delay = backoffDelay(policy.backoff, failures, Math.random());
        // Restarting the member is safe: it resumes from the checkpoint committed with the rows.
        log.error({ err, retryInMs: delay }, 'projector: consumer failed; rejoining');
        await sleep(delay, signal);
      }
    }
  }

  return { name: projection.name, groupId, stats, handleBatch, run };
}

import type { ConsumedMessage, OutgoingMessage } from './message.js';

/**
 * The bus port. Two adapters with the same semantics (kafka.ts, embedded.ts):
 * - a topic has N partitions; a message goes to the partition of its key's hash, so the messages of one
 *   key (stream) are delivered in the order they were published;
 * - `publish` resolves only when every message is acknowledged (Kafka: acks = all, idempotent producer);
 * - consumption is per consumer group, at least once. Progress is the consumer's business: the group
 *   asks the caller where to resume (its durable checkpoint) on every (re)assignment, and the bus only
 *   records a group offset after `onBatch` resolved (a hint for tooling and for a caller without a
 *   checkpoint). A consumer that crashes before that gets the messages again.
 */
export interface Bus {
  readonly kind: 'kafka' | 'embedded';
  /** Creates missing topics (idempotent). Existing topics keep their partition count. */
  ensureTopics(topics: readonly string[]): Promise<void>;
  /** Resolves when every message is acknowledged; rejects if any is not (the caller must retry them all). */
  publish(messages: readonly OutgoingMessage[]): Promise<void>;
  /** Runs a group member until `signal` aborts (resolves) or `onBatch` / the transport fails (rejects). */
  consume(options: ConsumeOptions): Promise<void>;
  /** Next offset to be written per partition (the high watermark), for lag. */
  endOffsets(topic: string): Promise<Map<number, bigint>>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export const tpKey = (topic: string, partition: number): string => `${topic}:${partition}`;

export interface ConsumedBatch {
  readonly topic: string;
  readonly partition: number;
  /** In offset order; never empty. */
  readonly messages: readonly ConsumedMessage[];
  /** High watermark of the partition when the batch was fetched (for lag). */
  readonly highWatermark: bigint;
}

export interface ConsumeOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /**
   * Where to resume, per assigned partition: the next offset to deliver (`tpKey` → offset). Partitions
   * without an entry start at the group's committed offset, else at the earliest message.
   */
  readonly resumeFrom: (assigned: readonly TopicPartition[]) => Promise<ReadonlyMap<string, bigint>>;
  /** One partition's batch; resolve only once its effect is durable. A rejection stops the member. */
  readonly onBatch: (batch: ConsumedBatch) => Promise<void>;
  /**
   * How many partitions' batches may be inside `onBatch` at once (default 1); never two of the same
   * partition, so per-partition order holds. A caller that group-commits (the projector) asks for more, so
   * the partitions of one fetch reach it together. The embedded bus delivers one at a time regardless.
   */
  readonly concurrentPartitions?: number;
  /**
   * Pipelining (default 0: off). Up to this many messages may be handed over and not yet durable: the bus
   * then calls `onBatch` for a partition's next batch before the previous call resolved, and fetches on
   * while earlier batches are being made durable (so the broker round trip and the decoding of the next
   * batch overlap the caller's transaction). Hand-overs are in offset order per partition, one call at a
   * time. The caller must make batches durable in the order it received them and, once one fails, make
   * none it received after it durable (it fails them too): the member then stops, and the next one resumes
   * from the caller's checkpoint. The embedded bus delivers one batch at a time regardless.
   */
  readonly pipelineMessages?: number;
  readonly signal: AbortSignal;
}

import { DLQ, H, type ConsumedMessage } from '../../platform/bus/message.js';
import { tpKey, type Bus } from '../../platform/bus/port.js';
import { deadLetterTopic } from '../../platform/bus/topics.js';
import type { SqlClient } from '../../platform/sql/client.js';
import { ensureDeadLetterTables, recordDeadLetters, type NewDeadLetter } from './store.js';

/** The relay's consumer name on its dead-letter topic (write-side/relay/route.ts `RELAY`). */
export const RELAY_CONSUMER = 'relay';

/** The collector's consumer group: its offsets live in `annals_dead_letter_offsets`, this only names it on the bus. */
export const DEAD_LETTER_COLLECTOR_GROUP = 'annals.dlq.collector';

/**
 * Every consumer whose dead letters are collected: the relay, the read models in code, and every model the
 * control plane knows (`annals_projections`: each target of each store registers there), so a model
 * added by another store is covered without a list to keep in sync here.
 */
export async function deadLetterConsumers(sql: SqlClient, known: readonly string[]): Promise<string[]> {
  const exists = await sql.query<{ t: string | null }>(`SELECT to_regclass('annals_projections')::text AS t`);
  const registered = exists.rows[0]?.t == null ? [] : (await sql.query<{ name: string }>(`SELECT name FROM annals_projections`)).rows.map((r) => r.name);
  return [...new Set([RELAY_CONSUMER, ...known, ...registered])].sort();
}

/** A DLQ message → a dead letter; every field taken from the headers `deadLetter()` (platform/bus/message.ts) writes. */
export function toDeadLetter(m: ConsumedMessage, consumerOfTopic: string): NewDeadLetter {
  const h = m.headers;
  const bigOrUndefined = (v: string | undefined): bigint | undefined => {
    if (v === undefined || !/^-?\d{1,20}$/.test(v)) return undefined;
    return BigInt(v);
  };
  const sourceOffset = bigOrUndefined(h[DLQ.sourceOffset]);
  const sourceTopic = h[DLQ.sourceTopic];
  const at = new Date(h[DLQ.at] ?? '');
  const attempts = Number(h[DLQ.attempts]);
  return {
    consumer: h[DLQ.consumer] ?? consumerOfTopic,
    eventId: h[H.eventId],
    eventType: h[H.type],
    streamId: h[H.streamId] ?? m.key ?? undefined,
    streamRevision: bigOrUndefined(h[H.streamRevision]),
    position: bigOrUndefined(h[H.position]),
    source:
      sourceTopic !== undefined && sourceOffset !== undefined
        ? { topic: sourceTopic, partition: Number(h[DLQ.sourcePartition] ?? 0) || 0, offset: sourceOffset }
        : undefined,
    dlq: { topic: m.topic, partition: m.partition, offset: m.offset },
    error: h[DLQ.error] ?? '(no error recorded)',
    code: h[DLQ.code] ?? 'UNKNOWN',
    attempts: Number.isInteger(attempts) && attempts > 0 && attempts < 2 ** 31 ? attempts : 1,
    // A letter without a readable time is recorded at collection time rather than refused: it must be listed.
    deadLetteredAt: Number.isNaN(at.getTime()) ? new Date() : at,
  };
}

export interface CollectResult {
  readonly added: number;
  readonly topics: number;
}

/**
 * Drains the dead-letter topics of `consumers` into the table, from the collector's own offsets up to the
 * end offsets seen when it starts, then returns (a command, not a service). Rows and offsets commit in one
 * transaction per batch, so a crash re-reads a batch and records nothing twice. When nothing is new it does
 * not join a consumer group at all (the usual `dlq list` costs one end-offset request per topic).
 */
export async function collectDeadLetters(args: {
  sql: SqlClient;
  bus: Bus;
  consumers: readonly string[];
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Default `annals.dlq.collector`; tests on a shared Kafka give their own. */
  groupId?: string;
}): Promise<CollectResult> {
  const { sql, bus } = args;
  await ensureDeadLetterTables(sql);
  const topics = args.consumers.map(deadLetterTopic);
  const consumerOf = new Map(args.consumers.map((c) => [deadLetterTopic(c), c]));
  await bus.ensureTopics(topics);
  const { rows } = await sql.query<{ topic: string; partition: number; o: string }>(`SELECT topic, partition, next_offset::text AS o FROM annals_dead_letter_offsets`);
  const stored = new Map(rows.map((r) => [tpKey(r.topic, r.partition), BigInt(r.o)]));
  const remaining = new Map<string, bigint>();
  for (const topic of topics) {
    for (const [partition, end] of await bus.endOffsets(topic)) {
      const k = tpKey(topic, partition);
      if (end > (stored.get(k) ?? 0n)) remaining.set(k, end);
    }
  }
  if (remaining.size === 0) return { added: 0, topics: topics.length };

  let added = 0;
  const controller = new AbortController();
  const abort = () => controller.abort();
  args.signal?.addEventListener('abort', abort, { once: true });
  const timeoutMs = args.timeoutMs ?? 60_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  try {
    await bus.consume({
      groupId: args.groupId ?? DEAD_LETTER_COLLECTOR_GROUP,
      topics: [...new Set([...remaining.keys()].map((k) => k.slice(0, k.lastIndexOf(':'))))],
      signal: controller.signal,
      resumeFrom: async (assigned) => {
        const { rows: now } = await sql.query<{ topic: string; partition: number; o: string }>(`SELECT topic, partition, next_offset::text AS o FROM annals_dead_letter_offsets`);
        const map = new Map(now.map((r) => [tpKey(r.topic, r.partition), BigInt(r.o)]));
        // A partition never collected starts at the beginning of the topic, not at the group's committed offset.
        return new Map(assigned.map((tp) => [tpKey(tp.topic, tp.partition), map.get(tpKey(tp.topic, tp.partition)) ?? 0n]));
      },
      onBatch: async (batch) => {
        const letters = batch.messages.map((m) => toDeadLetter(m, consumerOf.get(m.topic) ?? m.topic.replace(/^annals\.dlq\./, '')));
        const next = batch.messages[batch.messages.length - 1]!.offset + 1n;
        added += await sql.transaction(async (tx) => {
          const n = await recordDeadLetters(tx, letters);
          await tx.query(
            `INSERT INTO annals_dead_letter_offsets(topic, partition, next_offset) VALUES ($1, $2, $3)
             ON CONFLICT (topic, partition) DO UPDATE SET next_offset = GREATEST(annals_dead_letter_offsets.next_offset, EXCLUDED.next_offset)`,
            [batch.topic, batch.partition, next.toString()],
          );
          return n;
        });
        const k = tpKey(batch.topic, batch.partition);
        const end = remaining.get(k);
        if (end !== undefined && next >= end) remaining.delete(k);
        if (remaining.size === 0) controller.abort();
      },
    });
  } finally {
    clearTimeout(timer);
    args.signal?.removeEventListener('abort', abort);
  }
  if (timedOut && remaining.size > 0) throw new Error(`dead-letter topics not drained within ${timeoutMs} ms (${remaining.size} partitions left): is the bus reachable?`);
  return { added, topics: topics.length };
}

/**
 * Letters on the topics not collected into the table yet, per consumer (end offsets − the collector's
 * offsets): for a read-only `annals replay status`, which must not join a consumer group to count.
 */
export async function uncollectedCounts(sql: SqlClient, bus: Bus, consumers: readonly string[]): Promise<Map<string, number>> {
  const exists = await sql.query<{ t: string | null }>(`SELECT to_regclass('annals_dead_letter_offsets')::text AS t`);
  const stored = new Map<string, bigint>();
  if (exists.rows[0]?.t != null) {
    const { rows } = await sql.query<{ topic: string; partition: number; o: string }>(`SELECT topic, partition, next_offset::text AS o FROM annals_dead_letter_offsets`);
    for (const r of rows) stored.set(tpKey(r.topic, r.partition), BigInt(r.o));
  }
  const out = new Map<string, number>();
  // Kafka answers end offsets of a missing topic with retries: create them as the projectors do (empty, harmless).
  await bus.ensureTopics(consumers.map(deadLetterTopic));
  for (const consumer of consumers) {
    const topic = deadLetterTopic(consumer);
    let n = 0n;
    for (const [partition, end] of await bus.endOffsets(topic)) {
      const next = stored.get(tpKey(topic, partition)) ?? 0n;
      if (end > next) n += end - next;
    }
    if (n > 0n) out.set(consumer, Number(n));
  }
  return out;
}

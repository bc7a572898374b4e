import kafkajs from 'kafkajs';
import type { Admin, Consumer, IHeaders, Kafka as KafkaClient, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { sleep } from './backoff.js';
import type { ConsumedMessage } from './message.js';
import { tpKey, type Bus, type ConsumeOptions, type TopicPartition } from './port.js';

const { Kafka, Partitioners, logLevel } = kafkajs;

export interface KafkaBusOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** Partitions of topics this bus creates (default 6). Fixed for a topic's life: the key → partition map depends on it. */
  readonly partitions?: number;
  readonly replicationFactor?: number;
  /**
   * Group session timeout in ms (default 10 000; the broker's minimum is 6 000). A member killed with -9
   * keeps its partitions this long before the group moves them, so it bounds the pause after a crash.
   */
  readonly sessionTimeoutMs?: number;
  /** Longest a fetch waits on the broker when there is nothing to read (default 500 ms). */
  readonly maxWaitTimeMs?: number;
  readonly log?: Logger;
}

/**
 * The Kafka adapter (kafkajs). Producer: idempotent, one request in flight, acks from all in-sync replicas,
 * so a retried send neither duplicates nor reorders within a partition. Consumer: no auto-commit; the
 * caller's checkpoint decides where a partition resumes (see `consume`).
 */
export function kafkaBus(options: KafkaBusOptions): Bus {
  const log = options.log;
  const kafka: KafkaClient = new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    logLevel: logLevel.WARN,
    // kafkajs logs through its own logger; route it to ours so the process logs one format.
    logCreator: () => ({ level, log: entry }) => {
      const { message, ...rest } = entry;
      const fields = { kafka: { ...rest, namespace: entry.namespace } };
      if (level <= logLevel.ERROR) log?.error(fields, message);
      else log?.warn(fields, message);
    },
    retry: { initialRetryTime: 200, retries: 8 },
  });
  const partitions = options.partitions ?? 6;
  const replicationFactor = options.replicationFactor ?? 1;
  let producer: Promise<Producer> | undefined;
  let admin: Promise<Admin> | undefined;
  const consumers = new Set<Consumer>();
  const knownTopics = new Set<string>();

  const getProducer = () =>
    (producer ??= (async () => {
      const p = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        // Java-compatible murmur2, the same function as the embedded bus (partitioner.ts).
        createPartitioner: Partitioners.DefaultPartitioner,
        allowAutoTopicCreation: false,
      });
      await p.connect();
      return p;
    })().catch((e) => {
      producer = undefined;
      throw e;
    }));
  const getAdmin = () =>
    (admin ??= (async () => {
      const a = kafka.admin();
      await a.connect();
      return a;
    })().catch((e) => {
      admin = undefined;
      throw e;
    }));

  const bus: Bus = {
    kind: 'kafka',

    async ensureTopics(topics) {
      const missing = topics.filter((t) => !knownTopics.has(t));
      if (missing.length === 0) return;
      const a = await getAdmin();
      const existing = new Set(await a.listTopics());
      const create = missing.filter((t) => !existing.has(t));
      if (create.length > 0) {
        try {
          await a.createTopics({ waitForLeaders: true, topics: create.map((topic) => ({ topic, numPartitions: partitions, replicationFactor })) });
        } catch (e) {
          // Another process created it between our list and create: that is the outcome we wanted.
          if ((e as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw e;
        }
      }
      for (const t of missing) knownTopics.add(t);
    },

    async publish(messages) {
      if (messages.length === 0) return;
      await bus.ensureTopics([...new Set(messages.map((m) => m.topic))]);
      const byTopic = new Map<string, { key: string | null; value: string | null; headers: IHeaders }[]>();
      for (const m of messages) {
        let list = byTopic.get(m.topic);
        if (!list) byTopic.set(m.topic, (list = []));
        list.push({ key: m.key, value: m.value, headers: { ...m.headers } });
      }
      const p = await getProducer();
      // acks -1 = all in-sync replicas. sendBatch resolves only when every partition acknowledged; kafkajs
      // retries retriable errors itself, and the idempotent producer makes those retries exactly-once per partition.
      await p.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs })) });
    },

    async consume({ groupId, topics, resumeFrom: callerResumeFrom, onBatch, signal, concurrentPartitions, pipelineMessages }: ConsumeOptions) {
      await bus.ensureTopics(topics);
      const consumer = kafka.consumer({
        groupId,
        sessionTimeout: options.sessionTimeoutMs ?? 10_000,
        rebalanceTimeout: Math.max(options.sessionTimeoutMs ?? 10_000, 15_000),
        heartbeatInterval: 1_000,
        allowAutoTopicCreation: false,
        // The broker answers a fetch as soon as data arrives; this only bounds an idle long poll.
        maxWaitTimeInMs: options.maxWaitTimeMs ?? 500,
      });
      consumers.add(consumer);
      let failure: unknown;
      let finish: () => void = () => {};
      const finished = new Promise<void>((resolve) => (finish = resolve));
      // Pipelining (port.ts): batches handed over and not yet durable, and the room they leave.
      const pipeline = pipelineMessages ?? 0;
      const pending = new Set<Promise<void>>();
      let pendingMessages = 0;
      let roomWaiters: (() => void)[] = [];
      const wakeRoom = () => {
        const ws = roomWaiters;
        roomWaiters = [];
        for (const w of ws) w();
      };
      const room = async (n: number) => {
        while (failure === undefined && !signal.aborted && pendingMessages > 0 && pendingMessages + n > pipeline) await new Promise<void>((w) => roomWaiters.push(w));
      };
      // The caller's checkpoint is read only once every batch handed over is durable (or failed): read
      // earlier, it would send the partition back to batches that are still on their way to it.
      const resumeFrom = async (assigned: readonly TopicPartition[]) => {
        while (pending.size > 0) await Promise.allSettled([...pending]);
        return callerResumeFrom(assigned);
      };
      const fail = (e: unknown) => {
        failure ??= e;
        finish();
        wakeRoom();
      };
      signal.addEventListener(
        'abort',
        () => {
          finish();
          wakeRoom();
        },
        { once: true },
      );
      // Where each assigned partition resumes, from the caller's checkpoint; forgotten on every rebalance.
      let resume = new Map<string, bigint>();
      let commits: Promise<unknown> = Promise.resolve();
      // Partitions sent back to the checkpoint once since the last assignment (see below).
      let soughtBack = new Set<string>();
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        resume = new Map();
        soughtBack = new Set();
        // Every assigned partition starts at the caller's checkpoint, including one with nothing new to
        // fetch (whose batches would never reach the checks in eachBatch below).
        const assigned = Object.entries(payload.memberAssignment).flatMap(([topic, ps]) => ps.map((partition) => ({ topic, partition })));
        resumeFrom(assigned)
          .then((offsets) => {
            for (const { topic, partition } of assigned) {
              const offset = offsets.get(tpKey(topic, partition));
              if (offset !== undefined) consumer.seek({ topic, partition, offset: offset.toString() });
            }
          })
          .catch(fail);
      });
      consumer.on(consumer.events.CRASH, (e) => {
        if (!e.payload.restart) fail(e.payload.error);
      });

      try {
        await consumer.connect();
        await consumer.subscribe({ topics: [...topics], fromBeginning: true });
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          // kafkajs fetches, hands the batches to this many workers, and fetches again once ALL are done.
          partitionsConsumedConcurrently: concurrentPartitions ?? 1,
          eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
            if (failure !== undefined || signal.aborted || !isRunning() || isStale()) return;
            const k = tpKey(batch.topic, batch.partition);
            try {
              if (pipeline > 0) {
                // Backpressure: the next fetch waits here while the caller holds enough not yet durable.
                await room(batch.messages.length);
                if (failure !== undefined || signal.aborted || !isRunning() || isStale()) return;
              }
              let next = resume.get(k);
              if (next === undefined) {
                const fromCaller = (await resumeFrom([{ topic: batch.topic, partition: batch.partition }])).get(k);
                next = fromCaller ?? BigInt(batch.firstOffset() ?? '0');
                resume.set(k, next);
              }
              const messages: ConsumedMessage[] = [];
              for (const m of batch.messages) {
                const offset = BigInt(m.offset);
                if (offset < next) continue; // already applied: the group's committed offset lags the caller's checkpoint
                const headers: Record<string, string> = {};
                for (const [name, v] of Object.entries(m.headers ?? {})) {
                  if (v !== undefined) headers[name] = Array.isArray(v) ? String(v[0]) : String(v);
                }
                messages.push({ topic: batch.topic, partition: batch.partition, offset, key: m.key?.toString() ?? null, value: m.value?.toString() ?? null, headers });
              }
              const last = batch.lastOffset();
              if (messages.length === 0) {
                // Everything here was applied before: jump straight to the checkpoint instead of refetching.
                if (BigInt(last) + 1n < next) consumer.seek({ topic: batch.topic, partition: batch.partition, offset: next.toString() });
                else resolveOffset(last);
                return;
              }
              if (messages[0]!.offset > next) {
                // The group's committed offset is ahead of the caller's checkpoint (e.g. a read database restored
                // from a backup): the checkpoint wins, go back to it once. If the log still starts later, it no
                // longer holds our checkpoint (retention, or a topic recreated): never skip silently.
                if (!soughtBack.has(k)) {
                  soughtBack.add(k);
                  consumer.seek({ topic: batch.topic, partition: batch.partition, offset: next.toString() });
                  return;
                }
                throw new Error(`${k}: next offset to apply is ${next} but the log continues at ${messages[0]!.offset}`);
              }
              soughtBack.delete(k);
              const applied = messages[messages.length - 1]!.offset;
              // The group offset is a hint for tooling (and lags the caller's checkpoint, never leads it), so
              // the next fetch does not wait for this round trip: commits are chained (in order), made only
              // once the batch is durable, and awaited only before the member leaves.
              const offset = { topic: batch.topic, partition: batch.partition, offset: (applied + 1n).toString() };
              const commitHint = () => {
                commits = commits
                  .then(() => consumer.commitOffsets([offset]))
                  .catch((e: unknown) => log?.warn({ err: e, groupId }, 'kafka: committing the group offset failed (the checkpoint is authoritative)'));
              };
              const durable = onBatch({ topic: batch.topic, partition: batch.partition, messages, highWatermark: BigInt(batch.highWatermark) });
              if (pipeline > 0) {
                // Handed over, not yet durable: the next fetch of this partition starts after it now (kafkajs
                // fetches from the resolved offset), while the caller makes it durable in hand-over order.
                pendingMessages += messages.length;
                const tracked: Promise<void> = durable.then(commitHint, fail).finally(() => {
                  pendingMessages -= messages.length;
                  pending.delete(tracked);
                  wakeRoom();
                });
                pending.add(tracked);
                resume.set(k, applied + 1n);
                resolveOffset(applied.toString());
              } else {
                await durable;
                resume.set(k, applied + 1n);
                resolveOffset(applied.toString());
                commitHint();
              }
              await heartbeat();
            } catch (e) {
              fail(e);
            }
          },
        });
        await finished;
      } finally {
        consumers.delete(consumer);
        // Batches handed over settle (the caller fails those behind a failure) before the member leaves.
        while (pending.size > 0) await Promise.allSettled([...pending]);
        await commits;
        await consumer.disconnect().catch(() => {});
      }
      if (failure !== undefined && !signal.aborted) throw failure;
    },

    async endOffsets(topic) {
      const a = await getAdmin();
      // Right after a topic is created its leaders may not be known yet; that settles within a second.
      for (let attempt = 1; ; attempt++) {
        try {
          const offsets = await a.fetchTopicOffsets(topic);
          return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
        } catch (e) {
          if (attempt >= 10) throw e;
          await sleep(200 * attempt);
        }
      }
    },

    async ping() {
      const a = await getAdmin();
      await a.describeCluster();
    },

    async close() {
      await Promise.all([...consumers].map((c) => c.disconnect().catch(() => {})));
      const [p, a] = [producer, admin];
      producer = undefined;
      admin = undefined;
      await Promise.all([p?.then((x) => x.disconnect()).catch(() => {}), a?.then((x) => x.disconnect()).catch(() => {})]);
    },
  };
  return bus;
}

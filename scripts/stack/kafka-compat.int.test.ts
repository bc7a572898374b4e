// Proof that our Kafka client (kafkajs 2.2.4, unmaintained since 2023) works with the broker
// pinned in scripts/stack/versions.ts. Kafka 4 removed many old protocol versions (KIP-896);
// kafkajs negotiates versions with ApiVersions, so what matters is that every API it uses still
// has a common version: CreateTopics/Metadata (admin), InitProducerId + Produce with producer
// id/sequence (idempotent producer), FindCoordinator/JoinGroup/SyncGroup/Heartbeat/
// OffsetCommit/OffsetFetch/LeaveGroup/Fetch/ListOffsets (consumer group with committed offsets).
// Verdict (2026-11, Kafka 4.3.1): passes. kafkajs negotiated ApiVersions v2, Metadata v6,
// CreateTopics v3, InitProducerId v1, Produce v7, FindCoordinator v2, JoinGroup v5, SyncGroup v3,
// OffsetFetch v4, ListOffsets v3, Fetch v11, OffsetCommit v5, LeaveGroup v3, DeleteTopics v1 —
// all at or above Kafka 4's new minimums, so no fallback to Kafka 3.9 was needed. Not covered
// (we do not use them): transactions, SASL, admin config APIs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Admin, Consumer, KafkaMessage } from 'kafkajs';
import { requireEnv } from '../../platform/testing/require-env.js';

const { Kafka, logLevel, Partitioners } = kafkajs;

const run = randomUUID().slice(0, 8);
const topic = `annals.compat-${run}.events`;
const groupId = `annals-compat-${run}`;

function client(): InstanceType<typeof Kafka> {
  return new Kafka({ clientId: `kafka-compat-${run}`, brokers: requireEnv('KAFKA_BROKERS').split(','), logLevel: logLevel.WARN });
}

// Consumes until `expected` messages arrived (or times out), committing each offset explicitly
// so the group's position is exactly what we processed.
async function consume(expected: number, timeoutMs = 30_000): Promise<{ values: string[]; consumer: Consumer }> {
  const consumer = client().consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values: string[] = [];
  let done: () => void = () => undefined;
  const finished = new Promise<void>((res) => (done = res));
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }: { partition: number; message: KafkaMessage }) => {
      values.push(message.value?.toString() ?? '');
      await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
      if (values.length >= expected) done();
    },
  });
  const timer = setTimeout(done, timeoutMs);
  await finished;
  clearTimeout(timer);
  return { values, consumer };
}

async function produce(from: number, count: number): Promise<void> {
  const producer = client().producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let i = from; i < from + count; i++) {
      // Key = stream id, as the relay does: per-entity order within a partition.
      const [meta] = await producer.send({ topic, acks: -1, messages: [{ key: `contact-${i % 4}`, value: `event-${i}`, headers: { type: 'CompatTested' } }] });
      assert.ok(meta && meta.errorCode === 0, `produce of event-${i} failed: ${JSON.stringify(meta)}`);
    }
  } finally {
    await producer.disconnect();
  }
}

const sortByNumber = (vs: string[]): string[] => [...vs].sort((a, b) => Number(a.split('-')[1]) - Number(b.split('-')[1]));

describe('kafkajs 2.2.4 against the stack broker', () => {
  let admin: Admin;

  before(async () => {
    admin = client().admin();
    await admin.connect();
  });

  after(async () => {
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.disconnect();
  });

  test('admin creates a topic and lists it', async () => {
    const created = await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
    assert.equal(created, true);
    assert.ok((await admin.listTopics()).includes(topic));
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.equal(meta.topics[0]?.partitions.length, 3);
  });

  test('idempotent producer writes, a consumer group reads and commits, a restarted consumer resumes', { timeout: 120_000 }, async () => {
    await produce(0, 10);

    const first = await consume(10);
    await first.consumer.disconnect();
    assert.deepEqual(sortByNumber(first.values), Array.from({ length: 10 }, (_, i) => `event-${i}`));

    // The committed offsets equal the end of each partition: nothing more to read. (A partition
    // no key hashed to has nothing committed: offset -1.)
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const ends = await admin.fetchTopicOffsets(topic);
    assert.equal(committed?.partitions.length, 3);
    for (const p of committed?.partitions ?? []) {
      const high = ends.find((e) => e.partition === p.partition)?.high;
      assert.equal(p.offset, high === '0' ? '-1' : high, `partition ${p.partition} committed offset`);
    }

    await produce(10, 5);
    // Same group, fromBeginning: true. A consumer that did not resume from the committed offsets
    // would see event-0… again.
    const second = await consume(5);
    // Give a wrongly rewound consumer the chance to deliver more than the 5 new events.
    await new Promise((r) => setTimeout(r, 1_500));
    await second.consumer.disconnect();
    assert.deepEqual(sortByNumber(second.values), ['event-10', 'event-11', 'event-12', 'event-13', 'event-14']);
  });
});

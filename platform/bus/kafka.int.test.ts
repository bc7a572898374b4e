import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { pino } from 'pino';
import { requireEnv } from '../testing/require-env.js';
import { kafkaBus } from './kafka.js';
import { tpKey } from './port.js';

const silent = pino({ level: 'silent' });

/** Consumes as `groupId` until `n` messages arrived; returns their offsets. */
async function consumeOffsets(brokers: string[], topic: string, groupId: string, resume: ReadonlyMap<string, bigint>, n: number): Promise<bigint[]> {
  const bus = kafkaBus({ brokers, clientId: `kafka-int-${randomUUID()}`, partitions: 1, sessionTimeoutMs: 6_000, log: silent });
  const seen: bigint[] = [];
  const c = new AbortController();
  const timer = setTimeout(() => c.abort(), 20_000);
  try {
    await bus.consume({
      groupId,
      topics: [topic],
      resumeFrom: async () => resume,
      signal: c.signal,
      onBatch: async (b) => {
        seen.push(...b.messages.map((m) => m.offset));
        if (seen.length >= n) c.abort();
      },
    });
  } finally {
    clearTimeout(timer);
    await bus.close();
  }
  return seen;
}

test('the caller checkpoint wins over a group offset that is ahead of it (read database restored from a backup)', { timeout: 90_000 }, async () => {
  const brokers = requireEnv('KAFKA_BROKERS').split(',');
  const topic = `annals.test.seek-${randomUUID()}`;
  const groupId = `kafka-int-${randomUUID()}`;
  const producer = kafkaBus({ brokers, clientId: 'kafka-int-producer', partitions: 1, log: silent });
  try {
    await producer.ensureTopics([topic]);
    await producer.publish(Array.from({ length: 5 }, (_, i) => ({ topic, key: 'k', value: `m${i}`, headers: {} })));
  } finally {
    await producer.close();
  }
  // The group has committed 5 (everything), e.g. before the read database was restored from a backup
  // whose checkpoint says 2.
  const admin = new kafkajs.Kafka({ clientId: 'kafka-int-admin', brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '5' }] });
  } finally {
    await admin.disconnect();
  }
  // The checkpoint wins: messages 2..4 again, nothing skipped.
  assert.deepEqual(await consumeOffsets(brokers, topic, groupId, new Map([[tpKey(topic, 0), 2n]]), 3), [2n, 3n, 4n]);
});

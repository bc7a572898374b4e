import { Kafka, logLevel } from 'kafkajs';
import type { Bus } from '../../platform/bus/port.js';

/**
 * The bus with every topic renamed `<prefix><topic>` on the wire and back: the relay, the projectors and
 * their dead letters use the contract's names, the broker sees this run's own topics.
 */
export function privateTopics(bus: Bus, prefix: string): Bus {
  const out = (t: string) => `${prefix}${t}`;
  const back = (t: string) => (t.startsWith(prefix) ? t.slice(prefix.length) : t);
  return {
    ...bus,
    ensureTopics: (topics) => bus.ensureTopics(topics.map(out)),
    publish: (messages) => bus.publish(messages.map((m) => ({ ...m, topic: out(m.topic) }))),
    endOffsets: (topic) => bus.endOffsets(out(topic)),
    consume: (options) =>
      bus.consume({
        ...options,
        topics: options.topics.map(out),
        resumeFrom: async (assigned) => {
          const from = await options.resumeFrom(assigned.map((a) => ({ ...a, topic: back(a.topic) })));
          // Keys are tpKey(topic, partition): renamed like the topics.
          return new Map([...from].map(([k, offset]) => [out(k), offset]));
        },
        onBatch: (batch) => options.onBatch({ ...batch, topic: back(batch.topic), messages: batch.messages.map((m) => ({ ...m, topic: back(m.topic) })) }),
      }),
  };
}

/** Deletes this run's topics (those named `<prefix>…`) from the shared broker. */
export async function deleteTopics(brokers: string[], prefix: string, run: string): Promise<void> {
  const admin = new Kafka({ brokers, clientId: `bench-admin-${run}`, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}


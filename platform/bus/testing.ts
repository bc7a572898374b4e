import { randomUUID } from 'node:crypto';
import type { ConsumedMessage } from './message.js';
import type { Bus } from './port.js';

/**
 * Test helper: reads up to `n` messages of `topic` from its start with a throw-away consumer group,
 * giving up after `ms` (returns what it got, so the caller's assertion names what is missing; never hangs).
 */
export async function readTopic(bus: Bus, topic: string, n: number, ms = 2_000): Promise<ConsumedMessage[]> {
  const out: ConsumedMessage[] = [];
  const c = new AbortController();
  const timer = setTimeout(() => c.abort(), ms);
  try {
    await bus.ensureTopics([topic]);
    await bus.consume({
      groupId: `reader-${randomUUID()}`,
      topics: [topic],
      resumeFrom: async () => new Map(),
      signal: c.signal,
      onBatch: async (b) => {
        out.push(...b.messages);
        if (out.length >= n) c.abort();
      },
    });
  } finally {
    clearTimeout(timer);
  }
  return out;
}

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { tpKey, type Bus, type ConsumeOptions } from '../../platform/bus/port.js';
import { createEventReader, type EventReader } from '../../platform/event-store/read-events.js';
import { openPglite, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import type { RawStoredEvent } from '../../schemas/events/registry.js';
import { registerProjection } from './generations.js';
import { createProjector } from './projector.js';
import { kernelTestProjection } from './test-projection.js';
import { batchOf, RawHistory, within } from './testing.js';

/**
 * Pipelining (port.ts `pipelineMessages`): the bus hands a partition's next batches over before the
 * previous one is durable. The projector must apply them in hand-over order and, once one fails, apply
 * none handed over after it — else the partition's offset would move past events never applied. The bus
 * here does what the Kafka adapter does with pipelining on, deterministically: every batch of the
 * partition handed over at once, from the projector's checkpoint, each member until one fails.
 */

const log = pino({ level: 'silent' });
const topic = 'annals.lead.events';

/** A bus whose members hand over `records` (one partition) in batches of `size`, pipelined, from the caller's checkpoint. */
function pipelinedBus(records: readonly RawStoredEvent[], size: number): Bus & { readonly starts: bigint[] } {
  const starts: bigint[] = [];
  return {
    kind: 'embedded',
    starts,
    ensureTopics: async () => {},
    publish: async () => {},
    endOffsets: async () => new Map([[0, BigInt(records.length)]]),
    ping: async () => {},
    close: async () => {},
    async consume(o: ConsumeOptions) {
      assert.ok((o.pipelineMessages ?? 0) > 0, 'the projector asks for pipelining');
      const from = (await o.resumeFrom([{ topic, partition: 0 }])).get(tpKey(topic, 0)) ?? 0n;
      starts.push(from);
      const handed: Promise<void>[] = [];
      for (let i = Number(from); i < records.length; i += size) handed.push(o.onBatch(batchOf(records.slice(i, i + size), { topic, partition: 0, firstOffset: BigInt(i) })));
      // Like the adapter: the member fails with the first failure, after every hand-over settled.
      const outcomes = await Promise.allSettled(handed);
      const failed = outcomes.find((x) => x.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      await new Promise<void>((resolve) => (o.signal.aborted ? resolve() : o.signal.addEventListener('abort', () => resolve(), { once: true })));
    },
  };
}

/** The store's reader, except that reading `eventId` fails once as the key store being unreachable would (not the record's fault). */
function failingOnce(eventId: string): EventReader & { failures: number } {
  const inner = createEventReader();
  const r = {
    encrypted: false,
    failures: 0,
    async read(records: readonly RawStoredEvent[]) {
      if (r.failures === 0 && records.some((x) => x.eventId === eventId)) {
        r.failures++;
        throw Object.assign(new Error('simulated: key store unreachable'), { code: 'PII_ERR_KEY_STORE' });
      }
      return inner.read(records);
    },
    readOrThrow: inner.readOrThrow,
  };
  return r;
}

describe('projector pipelining (PGlite, a bus that hands batches over before the previous one is durable)', { timeout: 60_000 }, () => {
  let sql: SqlClient;
  before(async () => {
    sql = pgliteClient(await openPglite());
  });
  after(async () => {
    await sql.close();
  });

  test('a failed batch fails every batch handed over after it: the offset never passes it, and the restarted member applies all of them once, in order', async () => {
    const projection = kernelTestProjection({ name: 'kt-pipe', table: 'kt_pipe' });
    await registerProjection(sql, projection);
    const h = new RawHistory();
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    // Batches of two: [capture a, capture b] [score a 10, score b 20] [capture c, score a 30] [score c 40, score b 50]
    h.capture('t1', a);
    h.capture('t1', b);
    const failing = h.score('t1', a, 10);
    h.score('t1', b, 20);
    h.capture('t1', c);
    h.score('t1', a, 30);
    h.score('t1', c, 40);
    h.score('t1', b, 50);
    const bus = pipelinedBus(h.records, 2);
    const reader = failingOnce(failing.eventId);
    // One batch per transaction, so batches 3 and 4 wait in the queue while batch 2 fails.
    const projector = createProjector({ sql, bus, projection, log, reader, maxMessagesPerTransaction: 2, retry: { maxAttempts: 3, backoff: { initialMs: 1, maxMs: 5 } } });
    const stop = new AbortController();
    const running = projector.run(stop.signal);
    try {
      const rows = async () => (await sql.query<{ lead_id: string; score: number | null; events: number }>(`SELECT lead_id, score, events FROM kt_pipe ORDER BY lead_id`)).rows;
      const want = [
        { lead_id: a, score: 30, events: 3 },
        { lead_id: b, score: 50, events: 3 },
        { lead_id: c, score: 40, events: 2 },
      ].sort((x, y) => (x.lead_id < y.lead_id ? -1 : 1));
      const deadline = Date.now() + 20_000;
      while (JSON.stringify(await rows()) !== JSON.stringify(want) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(reader.failures, 1, 'the second batch failed once');
      assert.deepEqual(bus.starts, [0n, 2n], 'the restarted member resumed at the failed batch: nothing after it was applied ahead of it');
      assert.deepEqual(await rows(), want, 'every event applied exactly once, in order');
      const { rows: offsets } = await sql.query<{ o: string }>(`SELECT next_offset::text AS o FROM annals_projection_offsets WHERE name = 'kt-pipe'`);
      assert.deepEqual(offsets, [{ o: '8' }]);
    } finally {
      stop.abort();
      await within(running, 10_000, 'the projector to stop');
    }
  });
});

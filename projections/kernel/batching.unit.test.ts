import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { tpKey, type Bus, type ConsumedBatch, type ConsumeOptions } from '../../platform/bus/port.js';
import type { EventStore } from '../../platform/event-store/event-store.js';
import type { StoredRecord } from '../../platform/event-store/port.js';
import { createEventReader } from '../../platform/event-store/read-events.js';
import { DEFAULT_LIVE_BATCH, DEFAULT_REPLAY_BATCH, liveBatchSize, replayBatchSize } from './batching.js';
import type { SqlClient } from '../../platform/sql/client.js';
import { controlledTarget } from './controlled.js';
import { ProjectionErrorCode } from './errors.js';
import { memoryReadModel } from './memory-target.testing.js';
import { createProjector } from './projector.js';
import { rebuildProjection, replayProjection } from './replay.js';
import type { ApplyResult, BatchPreference, GenerationRef, ReadModelTarget, TargetBatch } from './target.js';
import { batchOf, RawHistory, until, within } from './testing.js';

/**
 * The per-target batch hint (target.ts `preferredBatch`): the live projector's group commit and its
 * pipelining depth, and a replay's read size, follow it; a caller's explicit setting wins; it is an upper
 * bound, never a quantity the projector waits for. Everything here runs in memory (a recording target, a
 * bus that hands over batches of many partitions at once, an event store of hand-made records).
 */

const log = pino({ level: 'silent' });

/** A target that records the items of every apply and stores nothing but its offsets and position; each apply takes `applyMs` (a store's round trip). */
function recordingTarget(preferredBatch?: BatchPreference, applyMs = 0): ReadModelTarget & { readonly applies: number[]; readonly committedAt: number[] } {
  const name = `kt-batch-${randomUUID().slice(0, 8)}`;
  const ref: GenerationRef = { name, generation: 1, version: 1 };
  const offsets = new Map<string, bigint>();
  let position: bigint | undefined;
  const applies: number[] = [];
  const committedAt: number[] = [];
  const unused = async (): Promise<never> => {
    throw new Error('not used by this test');
  };
  const target: ReadModelTarget & { readonly applies: number[]; readonly committedAt: number[] } = {
    name,
    version: 1,
    store: 'elasticsearch',
    eventTypes: ['LeadCaptured', 'LeadScored'],
    ...(preferredBatch ? { preferredBatch } : {}),
    applies,
    committedAt,
    register: async () => ({ ...ref, needsRebuild: false, created: false }),
    live: async () => ref,
    createShadow: async () => ({ ...ref, generation: 2 }),
    async apply(batch: TargetBatch): Promise<ApplyResult> {
      applies.push(batch.items.length);
      if (applyMs > 0) await new Promise((r) => setTimeout(r, applyMs));
      for (const o of batch.offsets ?? []) offsets.set(tpKey(o.topic, o.partition), o.nextOffset);
      for (const i of batch.items) if (i.position !== undefined && (position === undefined || i.position > position)) position = i.position;
      committedAt.push(Date.now());
      return { applied: batch.items.filter((i) => i.event).length, duplicates: 0, ignored: 0, maxPosition: position };
    },
    readOffsets: async () => offsets,
    readPosition: async () => position,
    swap: async (_generation, options) => {
      await options?.catchUp?.((b) => target.apply(b));
    },
    drop: unused,
    generations: async () => [],
    redactSubject: async () => ({ redacted: 0 }),
    scanner: { store: `memory:${name}`, scan: unused },
  };
  return target;
}

/** `n` events on `partitions` partitions of one topic, as consumed batches of `perBatch` messages. */
function backlog(n: number, partitions: number, perBatch: number): ConsumedBatch[] {
  const h = new RawHistory();
  for (let i = 0; i < n; i++) h.capture('t-batch', randomUUID());
  const batches: ConsumedBatch[] = [];
  for (let p = 0; p < partitions; p++) {
    const mine = h.records.filter((_, i) => i % partitions === p);
    for (let i = 0; i < mine.length; i += perBatch) batches.push(batchOf(mine.slice(i, i + perBatch), { partition: p, firstOffset: BigInt(i) }));
  }
  return batches;
}

/**
 * A member that hands over every batch of `batches` at once (the Kafka adapter with pipelining and many
 * partitions in one fetch), as far as the projector's pipelining depth lets it, like the adapter's
 * backpressure: it waits for room before handing a batch over. Records the depth it was asked for.
 */
function floodingBus(batches: readonly ConsumedBatch[]): Bus & { pipelineMessages?: number; maxPending: number } {
  const bus = {
    kind: 'embedded' as const,
    maxPending: 0,
    pipelineMessages: undefined as number | undefined,
    ensureTopics: async () => {},
    publish: async () => {},
    endOffsets: async () => new Map<number, bigint>(),
    ping: async () => {},
    close: async () => {},
    async consume(o: ConsumeOptions) {
      bus.pipelineMessages = o.pipelineMessages;
      const limit = o.pipelineMessages ?? 0;
      let pending = 0;
      const inFlight = new Set<Promise<void>>();
      const handed: Promise<void>[] = [];
      for (const b of batches) {
        // Backpressure as in kafka.ts `room`: wait while what is handed over and not durable would exceed the depth.
        while (pending > 0 && pending + b.messages.length > limit) await Promise.race(inFlight);
        pending += b.messages.length;
        bus.maxPending = Math.max(bus.maxPending, pending);
        const durable = o.onBatch(b);
        handed.push(durable);
        const tracked: Promise<void> = durable
          .catch(() => undefined)
          .finally(() => {
            pending -= b.messages.length;
            inFlight.delete(tracked);
          });
        inFlight.add(tracked);
        // The hand-overs of one fetch arrive in one macrotask; the next fetch after a round trip.
        if (handed.length % 4 === 0) await new Promise((r) => setImmediate(r));
      }
      await Promise.all(handed);
      await new Promise<void>((resolve) => (o.signal.aborted ? resolve() : o.signal.addEventListener('abort', () => resolve(), { once: true })));
    },
  };
  return bus;
}

/** An event store of `n` hand-made records (in memory): what replay reads, with the sizes it asked for. */
function memoryStore(n: number): EventStore & { readonly reads: number[] } {
  const h = new RawHistory();
  for (let i = 0; i < n; i++) h.capture('t-batch', randomUUID());
  const records: StoredRecord[] = h.records.map((r) => ({ ...r, data: JSON.stringify(r.data), metadata: JSON.stringify(r.metadata), prevHash: '', hash: '' }));
  const reads: number[] = [];
  const store = {
    reads,
    reader: createEventReader(),
    headPosition: async () => records[records.length - 1]?.position,
    async readAllRaw(options: { after?: bigint; maxCount?: number } = {}) {
      reads.push(options.maxCount ?? Infinity);
      return records.filter((r) => options.after === undefined || r.position > options.after).slice(0, options.maxCount ?? records.length);
    },
  };
  return store as unknown as EventStore & { readonly reads: number[] };
}

describe('batch size hint (target.preferredBatch)', { timeout: 60_000 }, () => {
  test('resolution: explicit setting, else the hint, else the runtime default; a bound that cannot progress is refused', () => {
    const none = { name: 'm' };
    const hinted = { name: 'm', preferredBatch: { maxEvents: 50_000 } };
    assert.equal(liveBatchSize(none), DEFAULT_LIVE_BATCH);
    assert.equal(replayBatchSize(none), DEFAULT_REPLAY_BATCH);
    assert.equal(liveBatchSize(hinted), 50_000);
    assert.equal(replayBatchSize(hinted), 50_000);
    assert.equal(liveBatchSize(hinted, 7), 7, 'the explicit setting wins');
    assert.equal(replayBatchSize(hinted, 7), 7, 'the explicit setting wins');
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
      assert.throws(() => liveBatchSize({ name: 'm', preferredBatch: { maxEvents: bad } }), (e: { code?: string }) => e.code === ProjectionErrorCode.BatchSize, `hint ${bad}`);
      assert.throws(() => replayBatchSize(none, bad), (e: { code?: string }) => e.code === ProjectionErrorCode.BatchSize, `explicit ${bad}`);
    }
  });

  test('a store without transactions passes its hint on through controlledTarget (and none when it has none)', () => {
    const sql = {} as SqlClient; // never called: building the target opens nothing
    const model = memoryReadModel({ name: 'kt-hint' });
    assert.deepEqual(controlledTarget(sql, { ...model, preferredBatch: { maxEvents: 123 } }).preferredBatch, { maxEvents: 123 });
    assert.equal(controlledTarget(sql, model).preferredBatch, undefined);
  });

  test('live: under a backlog every transaction takes up to the hint, never more, and pipelining holds about two of them', async () => {
    // 12 partitions × 4 batches of 10: handed over together, they would all meet in one transaction (the default bound is 5,000).
    const batches = backlog(480, 12, 10);
    // Each transaction takes 20 ms, so what arrives meanwhile queues up behind it (as behind a real INSERT).
    const target = recordingTarget({ maxEvents: 70 }, 20);
    const bus = floodingBus(batches);
    const projector = createProjector({ target, bus, log });
    const stop = new AbortController();
    const running = projector.run(stop.signal);
    try {
      await within(
        (async () => {
          while (target.applies.reduce((a, b) => a + b, 0) < 480) await new Promise((r) => setTimeout(r, 5));
        })(),
        20_000,
        'the backlog to be applied',
      );
      assert.equal(target.applies.reduce((a, b) => a + b, 0), 480, 'every message applied once');
      assert.ok(Math.max(...target.applies) <= 70, `no transaction above the hint: ${target.applies.join(',')}`);
      assert.equal(target.applies.filter((n) => n === 70).length >= 4, true, `under the backlog, transactions fill up to the hint: ${target.applies.join(',')}`);
      assert.equal(bus.pipelineMessages, 140, 'the pipelining depth follows the hint (two transactions)');
      assert.ok(bus.maxPending <= 140, `never more handed over and not durable than the depth: ${bus.maxPending}`);
    } finally {
      stop.abort();
      await within(running, 10_000, 'the projector to stop');
    }
  });

  test('live: an explicit maxMessagesPerTransaction (and pipelineMessages) wins over the hint', async () => {
    const target = recordingTarget({ maxEvents: 70 }, 20);
    const bus = floodingBus(backlog(240, 12, 10));
    const projector = createProjector({ target, bus, log, maxMessagesPerTransaction: 30 });
    const stop = new AbortController();
    const running = projector.run(stop.signal);
    try {
      await within(
        (async () => {
          while (target.applies.reduce((a, b) => a + b, 0) < 240) await new Promise((r) => setTimeout(r, 5));
        })(),
        20_000,
        'the backlog to be applied',
      );
      assert.ok(Math.max(...target.applies) <= 30, `the explicit bound wins: ${target.applies.join(',')}`);
      assert.ok(target.applies.includes(30), `and is used: ${target.applies.join(',')}`);
      assert.equal(bus.pipelineMessages, 60);
    } finally {
      stop.abort();
      await within(running, 10_000, 'the projector to stop');
    }
    const idle = floodingBus([]);
    const explicitDepth = createProjector({ target: recordingTarget({ maxEvents: 70 }), bus: idle, log, pipelineMessages: 0 });
    const stop2 = new AbortController();
    const run2 = explicitDepth.run(stop2.signal);
    try {
      await until(() => idle.pipelineMessages !== undefined, 5_000, 'the member to start');
      assert.equal(idle.pipelineMessages, 0, 'an explicit pipelining depth wins over the hint');
    } finally {
      stop2.abort();
      await within(run2, 10_000, 'the projector to stop');
    }
  });

  test('live at low traffic: a large hint does not hold a small batch back (committed at once, not when the hint is filled)', async () => {
    const target = recordingTarget({ maxEvents: 1_000_000 });
    const projector = createProjector({ target, bus: floodingBus([]), log });
    const [single, pair] = [backlog(1, 1, 1)[0]!, backlog(2, 1, 2)[0]!];
    const t0 = Date.now();
    await within(projector.handleBatch(single), 2_000, 'a single message to be committed');
    await within(projector.handleBatch({ ...pair, messages: pair.messages.map((m, i) => ({ ...m, offset: 1n + BigInt(i) })) }), 2_000, 'the next two to be committed');
    assert.deepEqual(target.applies, [1, 2], 'each hand-over committed on its own, as it came');
    assert.ok(Date.now() - t0 < 2_000);
  });

  test('replay and rebuild read and apply batches of the hint; an explicit batchSize wins', async () => {
    const hinted = recordingTarget({ maxEvents: 7 });
    const store = memoryStore(30);
    const r = await replayProjection({ target: hinted, store, log });
    assert.equal(r.events, 30);
    assert.deepEqual(store.reads, [7, 7, 7, 7, 7]);
    assert.deepEqual(hinted.applies, [7, 7, 7, 7, 2]);

    const explicit = recordingTarget({ maxEvents: 7 });
    const store2 = memoryStore(30);
    await replayProjection({ target: explicit, store: store2, log, batchSize: 11 });
    assert.deepEqual(explicit.applies, [11, 11, 8]);

    const unhinted = recordingTarget();
    const store3 = memoryStore(30);
    await replayProjection({ target: unhinted, store: store3, log });
    assert.deepEqual(store3.reads, [DEFAULT_REPLAY_BATCH]);

    // The rebuild's replay follows it too; its catch-up inside the swap finds the replay at the head already
    // (nothing was appended meanwhile) and reads nothing.
    const rebuilt = recordingTarget({ maxEvents: 9 });
    const store4 = memoryStore(20);
    await rebuildProjection({ target: rebuilt, store: store4, log });
    assert.deepEqual(store4.reads, [9, 9, 9]);
    assert.deepEqual(rebuilt.applies, [9, 9, 2]);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { openPglite, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import { controlledTarget } from '../../projections/kernel/controlled.js';
import { memoryReadModel, type MemoryReadModel } from '../../projections/kernel/memory-target.testing.js';
import { replayProjection } from '../../projections/kernel/replay.js';
import type { ReadModelTarget } from '../../projections/kernel/target.js';
import { kernelTestProjection } from '../../projections/kernel/test-projection.js';
import { postgresReadModelTarget } from '../../projections/postgres/target.js';
import { formatVerify } from '../cli/commands/replay-rebuild.js';
import { applyBatchOf, MAX_READ, readSizeOf, rebuildModels } from './rebuild.js';
import { verifyModels } from './verify.js';

/**
 * The multi-model rebuild's lanes (rebuild.ts fillShadows): a store that asks for larger batches
 * (`preferredBatch`) gets them gathered from several reads, never more than it asked for; PostgreSQL keeps
 * the read batch (short transactions); a run killed while a lane holds gathered records resumes from each
 * model's own checkpoint and ends equal to a fresh replay (no event lost, none applied twice: the test
 * model counts the events it applied per lead).
 */
const log = pino({ level: 'silent' });
const meta = () => ({ tenantId: 't-lanes', actor: { userId: 'u1', roles: ['sales' as const] }, correlationId: 'c', causationId: 'c', occurredAt: new Date().toISOString() });
const capture = (id: string) => ({ type: 'LeadCaptured', data: { leadId: id, name: 'Ada', source: 'web', capturedAt: new Date().toISOString() }, metadata: meta() });
const score = (id: string, s: number) => ({ type: 'LeadScored', data: { leadId: id, score: s, factors: [] }, metadata: meta() });

const READ_BATCH = 23;
const PREFERRED = 100;

describe('replay rebuild: a lane per model, batches per store', { timeout: 120_000 }, () => {
  let storeSql: SqlClient;
  let readSql: SqlClient;
  let store: EventStore;
  let memory: MemoryReadModel;
  let pgTarget: ReadModelTarget;
  let memTarget: ReadModelTarget;
  const applies: Array<{ store: string; items: number }> = [];

  before(async () => {
    storeSql = pgliteClient(await openPglite());
    readSql = pgliteClient(await openPglite());
    store = createEventStore(await postgresEventStore(storeSql));
    memory = memoryReadModel({ name: 'lanes-mem' });
    const pg = postgresReadModelTarget(readSql, kernelTestProjection({ name: 'lanes-pg', table: 'lanes_pg' }));
    const mem = controlledTarget(readSql, memory);
    // Every apply of a shadow (not the live consumer's) is counted with its size.
    const counted = (t: ReadModelTarget, extra: Partial<ReadModelTarget> = {}): ReadModelTarget => ({
      ...t,
      ...extra,
      apply: (batch, options) => {
        if (batch.generation !== 'live') applies.push({ store: extra.store ?? t.store, items: batch.items.length });
        return t.apply(batch, options);
      },
    });
    pgTarget = counted(pg);
    // The memory store stands for Elasticsearch/ClickHouse: no transactions, and a batch preference.
    memTarget = counted(mem, { store: 'clickhouse', preferredBatch: { maxEvents: PREFERRED } });
    for (const t of [pgTarget, memTarget]) await t.register();
    for (let i = 0; i < 110; i++) {
      const id = uuidv7();
      // Odd stream lengths, so batch edges fall everywhere in a stream.
      await store.append(`lead-${id}`, [capture(id), ...Array.from({ length: i % 4 }, (_, k) => score(id, 20 + ((i + k) % 50)))]);
    }
  });
  after(async () => {
    await Promise.all([storeSql.close(), readSql.close()]);
  });

  /** The memory model's rows in its live generation against a fresh replay of the whole history into a new generation. */
  const memoryEqualsFreshReplay = async () => {
    const fresh = await memTarget.createShadow();
    await replayProjection({ target: memTarget, store, generation: fresh, batchSize: 1000, log });
    const live = (await memTarget.live())!;
    const sort = (rows: ReturnType<MemoryReadModel['rows']>) => [...rows].sort((a, b) => a.leadId.localeCompare(b.leadId));
    assert.ok(memory.rows(live.generation).length >= 110);
    assert.deepEqual(sort(memory.rows(live.generation)), sort(memory.rows(fresh.generation)), 'the rebuilt memory model equals a fresh replay');
    await memTarget.drop(fresh);
  };
  const pgEqualsFreshReplay = async () => {
    const report = await verifyModels([pgTarget], { store, log, controlSql: readSql, batchSize: 97 });
    assert.equal(report.models[0]!.differences.length + report.models[0]!.unlisted, 0, formatVerify(report));
  };

  it('applyBatchOf: PostgreSQL keeps the read batch; a store preferring more gets up to that; never less than a read', () => {
    assert.equal(applyBatchOf({ store: 'postgres', preferredBatch: { maxEvents: 50_000 } }, 1000), 1000);
    assert.equal(applyBatchOf({ store: 'clickhouse', preferredBatch: { maxEvents: 50_000 } }, 1000), 50_000);
    assert.equal(applyBatchOf({ store: 'elasticsearch' }, 2000), 2000);
    assert.equal(applyBatchOf({ store: 'clickhouse', preferredBatch: { maxEvents: 100 } }, 2000), 2000);
  });

  it('the store that prefers larger batches gets them from several reads, never more than it asked; PostgreSQL gets the read batch', async () => {
    applies.length = 0;
    const report = await rebuildModels([pgTarget, memTarget], { store, log, controlSql: readSql, batchSize: READ_BATCH, graceMs: 0 });
    assert.equal(report.switched, true);
    const total = (await store.readAllRaw({ maxCount: 100_000 })).length;
    const pgSizes = applies.filter((a) => a.store === 'postgres').map((a) => a.items);
    const memSizes = applies.filter((a) => a.store === 'clickhouse').map((a) => a.items);
    assert.ok(pgSizes.every((n) => n <= READ_BATCH), `PostgreSQL applies ${pgSizes.join(',')}`);
    assert.ok(memSizes.every((n) => n <= PREFERRED), `memory applies ${memSizes.join(',')}: above its preference`);
    // All but the last of the pass are full: the lane gathered across reads (23 per read) instead of applying each.
    assert.deepEqual(memSizes.slice(0, Math.floor(total / PREFERRED)), Array.from({ length: Math.floor(total / PREFERRED) }, () => PREFERRED), `memory applies ${memSizes.join(',')}`);
    assert.equal(memSizes.reduce((a, b) => a + b, 0), total, 'every record reached the memory model once (its checkpoint counts them)');
    for (const m of report.models) assert.ok(m.storeBusyMs > 0 && m.busyMs > 0, `${m.name}: busy time measured`);
    await memoryEqualsFreshReplay();
    await pgEqualsFreshReplay();
  });

  it('without a PostgreSQL model the event store is read in the store batch (at most MAX_READ), not the read batch', async () => {
    assert.equal(readSizeOf([1000], 1000), 1000, 'PostgreSQL: the read batch');
    assert.equal(readSizeOf([1000, 50_000], 1000), 1000, 'any PostgreSQL lane bounds the reads');
    assert.equal(readSizeOf([50_000, 10_000], 1000), MAX_READ);
    assert.equal(readSizeOf([50_000], 20_000), 20_000, 'never below an explicit --batch');
    const reads: number[] = [];
    const counting: EventStore = { ...store, readAllRaw: async (o) => { const r = await store.readAllRaw(o); reads.push(o?.maxCount ?? -1); return r; } };
    const report = await rebuildModels([memTarget], { store: counting, log, controlSql: readSql, batchSize: READ_BATCH, graceMs: 0 });
    assert.equal(report.switched, true);
    assert.ok(reads.length > 0 && reads.every((n) => n === PREFERRED || n === READ_BATCH), `reads of ${[...new Set(reads)].join(',')}`);
    assert.ok(reads.filter((n) => n === PREFERRED).length >= 2, `the bulk pass read ${PREFERRED} at a time: ${reads.join(',')}`);
    await memoryEqualsFreshReplay();
  });

  it('killed while a lane holds gathered records, the next run resumes from each model’s checkpoint and ends identical', async () => {
    const controller = new AbortController();
    const first = await rebuildModels([pgTarget, memTarget], {
      store,
      log,
      controlSql: readSql,
      batchSize: READ_BATCH,
      graceMs: 0,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.events >= 150) controller.abort();
      },
    });
    assert.equal(first.switched, false);
    const positions = await Promise.all([pgTarget, memTarget].map(async (t) => t.readPosition((await t.generations()).find((g) => g.status === 'building')!)));
    assert.ok(positions[0] !== undefined && positions[1] !== undefined, 'both shadows have a checkpoint');
    assert.ok(positions[1]! < positions[0]!, `the memory lane was behind PostgreSQL when stopped (${positions[1]} < ${positions[0]}): its gathered records were not applied`);
    const second = await rebuildModels([pgTarget, memTarget], { store, log, controlSql: readSql, batchSize: READ_BATCH, graceMs: 0 });
    assert.equal(second.switched, true);
    for (const m of second.models) assert.ok(m.resumedFrom !== undefined, `${m.name} resumed`);
    await memoryEqualsFreshReplay();
    await pgEqualsFreshReplay();
  });
});

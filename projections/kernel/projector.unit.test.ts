import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { embeddedBus } from '../../platform/bus/embedded.js';
import { DLQ, encodeEvent, type ConsumedMessage } from '../../platform/bus/message.js';
import type { Bus, ConsumedBatch } from '../../platform/bus/port.js';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { openPglite, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import { createGeneration, needsRebuild, readLive, registerProjection, tablesOf } from './generations.js';
import { createProjector, type Projector } from './projector.js';
import { rebuildProjection, replayProjection } from './replay.js';
import { projectionGauges, projectionStatus, renderPrometheus } from './status.js';
import { kernelTestProjection, POISON_SCORE } from './test-projection.js';
import { readTopic, until as waitUntil, within } from './testing.js';

const log = pino({ level: 'silent' });
const projection = kernelTestProjection();
const meta = () => ({ tenantId: 't1', actor: { userId: 'u1', roles: ['sales' as const] }, correlationId: 'c', causationId: 'c', occurredAt: new Date().toISOString() });
const capture = (leadId: string) => ({ type: 'LeadCaptured', data: { leadId, name: 'Ada', source: 'web', capturedAt: new Date().toISOString() }, metadata: meta() });
const score = (leadId: string, s: number) => ({ type: 'LeadScored', data: { leadId, score: s, factors: [] }, metadata: meta() });

// Every wait below ends: a broken guarantee fails its test within the timeout instead of hanging the run.
const until = (cond: () => boolean | Promise<boolean>, ms = 10_000) => waitUntil(cond, ms, 'the condition');
/** A replay or rebuild that never finishes (a poison event retried forever) is aborted and fails. */
const deadline = (ms = 20_000) => AbortSignal.timeout(ms);

/** A relay without its checkpoint table: publishes raw records exactly as the relay would. */
async function publishAll(store: EventStore, bus: Bus, after?: bigint): Promise<void> {
  const records = await store.readAllRaw({ after, maxCount: 100_000 });
  await bus.publish(records.map((r) => ({ topic: `annals.${r.streamId.split('-')[0]}.events`, ...encodeEvent(r) })));
}

async function rows(sql: SqlClient, table: string): Promise<unknown[]> {
  return (await sql.query(`SELECT lead_id, tenant_id, score, events, revision::text, position::text FROM ${table} ORDER BY lead_id`)).rows;
}

/** The acceptance check: the live read model equals a fresh replay of the whole store into a new generation. */
async function assertEqualsFreshReplay(sql: SqlClient, store: EventStore): Promise<void> {
  const { generation } = await createGeneration(sql, projection);
  const signal = deadline();
  await within(replayProjection({ sql, store, projection, generation, log, signal }), 25_000, 'a fresh replay');
  assert.equal(signal.aborted, false, 'the fresh replay finished in time');
  assert.deepEqual(await rows(sql, 'kt_leads'), await rows(sql, tablesOf(projection, generation).kt_leads!));
}

describe('projector runtime (PGlite + embedded bus)', { timeout: 180_000 }, () => {
  let storeSql: SqlClient;
  let readSql: SqlClient;
  let store: EventStore;
  let bus: Bus;
  let projector: Projector;
  let stop: AbortController;
  let running: Promise<void>;

  before(async () => {
    storeSql = pgliteClient(await openPglite());
    readSql = pgliteClient(await openPglite());
    store = createEventStore(await postgresEventStore(storeSql));
    bus = embeddedBus({ partitions: 3, maxBatch: 7 });
    const reg = await registerProjection(readSql, projection);
    assert.equal(reg.created, true);
    projector = createProjector({ sql: readSql, bus, projection, log, retry: { maxAttempts: 3, backoff: { initialMs: 1, maxMs: 5 } } });
    stop = new AbortController();
    running = projector.run(stop.signal);
  });
  after(async () => {
    stop.abort();
    await within(running, 10_000, 'the projector to stop');
    await Promise.all([storeSql.close(), readSql.close()]);
  });

  // Caught up = the head applied AND every partition at its log end: the head can sit on a partition that
  // was consumed before the others.
  const caughtUp = async () => {
    const head = await store.headPosition();
    await until(async () => {
      if (projector.stats.position !== head) return false;
      for (const [partition, end] of await bus.endOffsets('annals.lead.events')) {
        if (end > 0n && projector.stats.partitions.get(`annals.lead.events:${partition}`)?.nextOffset !== end) return false;
      }
      return true;
    });
  };

  test('events → bus → read model, one row per lead, through the view over the live generation', async () => {
    const ids = Array.from({ length: 12 }, () => randomUUID());
    for (const id of ids) await store.append(`lead-${id}`, [capture(id)]);
    for (const [i, id] of ids.entries()) await store.append(`lead-${id}`, [score(id, 20 + i), score(id, 50 + i)]);
    await publishAll(store, bus);
    await caughtUp();
    const r = (await readSql.query<{ lead_id: string; score: number; events: number }>(`SELECT lead_id, score, events FROM kt_leads`)).rows;
    assert.equal(r.length, 12);
    for (const row of r) assert.equal(row.events, 3);
    await assertEqualsFreshReplay(readSql, store);
  });

  test('the same message delivered twice changes nothing (offset checkpoint)', async () => {
    const id = randomUUID();
    await store.append(`lead-${id}`, [capture(id), score(id, 70)]);
    const ours = await store.readStreamRaw(`lead-${id}`);
    // Deliver the two events by hand as one batch, twice, at the same offsets (a partition of its own).
    const batch: ConsumedBatch = {
      topic: 'annals.lead.events',
      partition: 99,
      highWatermark: 2n,
      messages: ours.map((r, i): ConsumedMessage => ({ topic: 'annals.lead.events', partition: 99, offset: BigInt(i), ...encodeEvent(r) })),
    };
    await projector.handleBatch(batch);
    const once = await rows(readSql, 'kt_leads');
    await projector.handleBatch(batch);
    assert.deepEqual(await rows(readSql, 'kt_leads'), once);
    const row = (await readSql.query<{ events: number }>(`SELECT events FROM kt_leads WHERE lead_id = $1`, [id])).rows[0];
    assert.equal(row?.events, 2);
  });

  test('a relay republish (same events again at later offsets) changes nothing (revision guard)', async () => {
    const id = randomUUID();
    const before = await store.headPosition();
    await store.append(`lead-${id}`, [capture(id), score(id, 33)]);
    await publishAll(store, bus, before);
    await caughtUp();
    const once = await rows(readSql, 'kt_leads');
    const dupBefore = projector.stats.duplicates;
    await publishAll(store, bus, before); // the relay crashed after the ack, before its checkpoint
    await until(() => projector.stats.duplicates >= dupBefore + 2);
    assert.deepEqual(await rows(readSql, 'kt_leads'), once);
  });

  test('a poison event goes to annals.dlq.<projector> with its error; later events of the same stream still apply', async () => {
    const id = randomUUID();
    const before = await store.headPosition();
    await store.append(`lead-${id}`, [capture(id), score(id, POISON_SCORE), score(id, 88)]);
    await publishAll(store, bus, before);
    await caughtUp();
    const row = (await readSql.query<{ score: number; events: number }>(`SELECT score, events FROM kt_leads WHERE lead_id = $1`, [id])).rows[0];
    assert.deepEqual(row, { score: 88, events: 2 });
    const dlq = await readTopic(bus, 'annals.dlq.kernel-test', 2, 1_000);
    assert.equal(dlq.length, 1);
    assert.equal(dlq[0]!.key, `lead-${id}`);
    assert.equal(dlq[0]!.headers.streamRevision, '1');
    assert.match(dlq[0]!.headers[DLQ.error]!, /division by zero/);
    assert.equal(dlq[0]!.headers[DLQ.attempts], '3');
    assert.equal(dlq[0]!.headers[DLQ.code], 'PROJECTION_ERR_EVENT(22012)');
    assert.ok(dlq[0]!.headers[DLQ.sourceOffset]);
  });

  test('status and Prometheus text: checkpoints, offset lag, head vs applied', async () => {
    await caughtUp();
    const [s] = await projectionStatus({ sql: readSql, projections: [projection], headPosition: () => store.headPosition(), bus });
    assert.equal(s!.needsRebuild, false);
    assert.equal(s!.behind, false);
    assert.equal(s!.offsetLag, 0n);
    const text = renderPrometheus(projectionGauges([s!]));
    assert.match(text, /# TYPE annals_projection_offset_lag gauge\nannals_projection_offset_lag\{projection="kernel-test"\} 0\n/);
    assert.match(text, /annals_projection_behind\{projection="kernel-test"\} 0/);
  });

  test('a new code version needs a rebuild; the blue-green rebuild swaps the view to a generation equal to the old one', async () => {
    const v2 = kernelTestProjection({ version: 2 });
    assert.equal(await needsRebuild(readSql, v2), true);
    const reg = await registerProjection(readSql, v2);
    assert.equal(reg.needsRebuild, true);
    const before = await rows(readSql, 'kt_leads');
    const signal = deadline();
    const result = await within(rebuildProjection({ sql: readSql, store, projection: v2, log, retry: { maxAttempts: 3, backoff: { initialMs: 1, maxMs: 5 } }, signal }), 25_000, 'the rebuild');
    assert.equal(signal.aborted, false, 'the rebuild finished in time');
    assert.equal(result.failures.length, 1, 'the poison event is reported by the rebuild too');
    const live = await readLive(readSql, 'kernel-test', false);
    assert.equal(live?.generation, result.generation);
    assert.equal(live?.version, 2);
    assert.equal(await needsRebuild(readSql, v2), false);
    assert.deepEqual(await rows(readSql, 'kt_leads'), before);
    // The live consumer now writes the new generation and dedupes against what the replay applied.
    const id = randomUUID();
    const h = await store.headPosition();
    await store.append(`lead-${id}`, [capture(id)]);
    await publishAll(store, bus, h);
    await publishAll(store, bus); // and a full republish: everything is a duplicate
    await caughtUp();
    await until(async () => (await rows(readSql, 'kt_leads')).length === before.length + 1);
    await assertEqualsFreshReplay(readSql, store);
  });

  test("a rebuild swaps even while the store grows faster than its catch-up applies; the live consumer brings the rest", async () => {
    await caughtUp();
    const v3 = kernelTestProjection({ version: 3 });
    await registerProjection(readSql, v3);
    const head = await store.headPosition();
    // Every read of the store appends one more event: a writer that always stays ahead. A catch-up that chased
    // the head until the store stopped growing never swapped (on a slow machine, in the replay suite).
    let grown = 0;
    const growing: EventStore = {
      ...store,
      async readAllRaw(options) {
        const records = await store.readAllRaw(options);
        if (grown < 200) {
          const id = randomUUID();
          grown++;
          await store.append(`lead-${id}`, [capture(id)]);
        }
        return records;
      },
    };
    const signal = deadline();
    const result = await within(rebuildProjection({ sql: readSql, store: growing, projection: v3, log, retry: { maxAttempts: 3, backoff: { initialMs: 1, maxMs: 5 } }, signal }), 25_000, 'the rebuild');
    assert.equal((await readLive(readSql, 'kernel-test', false))?.generation, result.generation);
    assert.ok(grown < 20, `the catch-up stopped at the head it found (${grown} reads of a growing store)`);
    // What was appended after that head reaches the new generation through the live consumer.
    await publishAll(store, bus, head);
    await caughtUp();
    await assertEqualsFreshReplay(readSql, store);
  });
});


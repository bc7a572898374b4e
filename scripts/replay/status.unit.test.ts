import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { embeddedBus } from '../../platform/bus/embedded.js';
import { deadLetter, encodeEvent } from '../../platform/bus/message.js';
import type { Bus } from '../../platform/bus/port.js';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { openPglite, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import { collectDeadLetters } from '../../projections/dead-letters/collect.js';
import { createProjector } from '../../projections/kernel/projector.js';
import { kernelTestProjection } from '../../projections/kernel/test-projection.js';
import { until, within } from '../../projections/kernel/testing.js';
import { postgresReadModelTarget } from '../../projections/postgres/target.js';
import { formatStatus, replayStatus, statusJson } from './status.js';

/**
 * `annals replay status` on PGlite + the embedded bus: a model that consumed everything is caught up; one
 * registered but idle lags by every message and by the age of its oldest waiting event; a model whose code
 * version changed is reported as needing a rebuild; a model registered by another build is listed; dead
 * letters are counted before and after collection.
 */
const log = pino({ level: 'silent' });
const a = kernelTestProjection({ name: 'st-a', table: 'st_a' });
const b = kernelTestProjection({ name: 'st-b', table: 'st_b' });
const c = kernelTestProjection({ name: 'st-c', table: 'st_c' });
const T0 = '2026-11-30T12:00:00.000Z';
const NOW = new Date('2026-11-30T12:01:30.000Z');
const meta = () => ({ tenantId: 't-st', actor: { userId: 'u1', roles: ['sales' as const] }, correlationId: 'c', causationId: 'c', occurredAt: T0 });

describe('replay status', { timeout: 120_000 }, () => {
  let storeSql: SqlClient;
  let readSql: SqlClient;
  let store: EventStore;
  let bus: Bus;

  before(async () => {
    storeSql = pgliteClient(await openPglite());
    readSql = pgliteClient(await openPglite());
    store = createEventStore(await postgresEventStore(storeSql));
    bus = embeddedBus({ partitions: 2 });
    for (const p of [a, b, c]) await postgresReadModelTarget(readSql, p).register();
    const id = uuidv7();
    await store.append(`lead-${id}`, [
      { type: 'LeadCaptured', data: { leadId: id, name: 'Ada', source: 'web', capturedAt: T0 }, metadata: meta() },
      { type: 'LeadScored', data: { leadId: id, score: 5, factors: [] }, metadata: meta() },
      { type: 'LeadScored', data: { leadId: id, score: 6, factors: [] }, metadata: meta() },
    ]);
    const records = await store.readAllRaw();
    await bus.publish(records.map((r) => ({ topic: 'annals.lead.events', ...encodeEvent(r) })));
    await bus.publish([deadLetter(encodeEvent(records[1]!), 'annals.dlq.st-b', { consumer: 'st-b', error: new Error('boom'), attempts: 3, at: new Date(T0) })]);
    // st-a consumes everything; st-b and st-c never run.
    const projector = createProjector({ target: postgresReadModelTarget(readSql, a), bus, log });
    const stop = new AbortController();
    const running = projector.run(stop.signal);
    try {
      await until(() => projector.stats.position === records[2]!.position, 15_000, 'st-a to catch up');
    } finally {
      stop.abort();
      await within(running, 10_000, 'the projector to stop');
    }
  });
  after(async () => {
    await Promise.all([storeSql.close(), readSql.close(), bus.close()]);
  });

  it('checkpoint, lag in events and seconds, generation, needs-rebuild, dead letters, models of other builds', async () => {
    const head = await store.headPosition();
    // The code of st-a moved to version 2; st-c is not part of this build.
    const report = await replayStatus({ readSql, store, bus, models: [{ ...a, version: 2 }, b], now: () => NOW });
    const by = new Map(report.models.map((m) => [m.name, m]));
    const sa = by.get('st-a')!;
    assert.deepEqual([sa.appliedPosition, sa.lagEvents, sa.lagSeconds, sa.liveGeneration, sa.codeVersion, sa.liveVersion, sa.needsRebuild, sa.state], [head, 0n, 0, 1, 2, 1, true, 'needs rebuild']);
    const sb = by.get('st-b')!;
    assert.deepEqual([sb.appliedPosition, sb.lagEvents, sb.lagSeconds, sb.needsRebuild, sb.deadLetters, sb.state], [undefined, 3n, 90, false, 1, 'behind']);
    const sc = by.get('st-c')!;
    assert.deepEqual([sc.codeVersion, sc.store, sc.needsRebuild, sc.state], [undefined, 'unknown', false, 'not in this build']);
    assert.equal(report.relayDeadLetters, 0);
    const text = formatStatus(report);
    assert.match(text, /^st-a +postgres +2\/1 +1 +\d+ +0 +0\.0 +0 +needs rebuild$/m);
    assert.match(text, /^st-b +postgres +1\/1 +1 +- +3 +90 +1 +behind$/m);
    assert.match(text, /^st-c +unknown +\?\/1 +1 +- +3 +90 +0 +not in this build$/m);
    const json = JSON.parse(statusJson(report)) as { models: Array<{ name: string; lagEvents: string; needsRebuild: boolean }> };
    assert.deepEqual(json.models.map((m) => [m.name, m.lagEvents, m.needsRebuild]), [['st-a', '0', true], ['st-b', '3', false], ['st-c', '3', false]]);

    // Collected, the letter is counted once (pending in the table, nothing left on the topic).
    await collectDeadLetters({ sql: readSql, bus, consumers: ['relay', 'st-b'], timeoutMs: 10_000 });
    const again = await replayStatus({ readSql, store, bus, models: [a, b], now: () => NOW });
    assert.equal(again.models.find((m) => m.name === 'st-b')?.deadLetters, 1);
    assert.equal(again.models.find((m) => m.name === 'st-a')?.state, 'caught up');
  });
});

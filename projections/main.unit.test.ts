import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { embeddedBus } from '../platform/bus/embedded.js';
import { encodeEvent } from '../platform/bus/message.js';
import { topicOfStream } from '../platform/bus/topics.js';
import { createEventStore } from '../platform/event-store/event-store.js';
import { postgresEventStore } from '../platform/event-store/postgres/adapter.js';
import { openPglite, pgliteClient } from '../platform/sql/client.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { opsHandler, parseProjectionsConfig, parseProjectorRuntimeConfig, postgresReadModels, startProjections } from './main.js';

test('config: defaults, and every bad variable is named', () => {
  const c = parseProjectionsConfig({});
  assert.equal(c.DATA_DIR, './.annals');
  assert.equal(c.PROJECTOR_MAX_ATTEMPTS, 5);
  assert.equal(c.PROJECTOR_STALL_MS, 60_000);
  assert.throws(
    () => parseProjectionsConfig({ READ_DB_URL: 'mysql://x', PROJECTOR_MAX_ATTEMPTS: '0', PROJECTOR_STALL_MS: '500' }),
    (e: Error) => /READ_DB_URL/.test(e.message) && /PROJECTOR_MAX_ATTEMPTS/.test(e.message) && /PROJECTOR_STALL_MS/.test(e.message),
  );
  // `npm start` validates the same runtime settings beside the write side's configuration.
  assert.deepEqual(parseProjectorRuntimeConfig({ PROJECTOR_STALL_MS: '90000' }).config, { PROJECTOR_MAX_ATTEMPTS: 5, PROJECTOR_STALL_MS: 90_000 });
  assert.deepEqual(parseProjectorRuntimeConfig({ PROJECTOR_STALL_MS: 'soon', PROJECTOR_MAX_ATTEMPTS: '-1' }).issues.map((i) => i.split(':')[0]).sort(), ['PROJECTOR_MAX_ATTEMPTS', 'PROJECTOR_STALL_MS']);
});

test('startProjections (embedded): every real read model gets a live generation, fills from the store, then follows the bus', async () => {
  const storeSql = pgliteClient(await openPglite());
  const readSql = pgliteClient(await openPglite());
  const store = createEventStore(await postgresEventStore(storeSql));
  const bus = embeddedBus();
  const meta = { tenantId: 't1', actor: { userId: 'u1', roles: ['sales' as const] }, correlationId: 'c', causationId: 'c', occurredAt: new Date().toISOString() };
  const early = randomUUID();
  await store.append(`lead-${early}`, [{ type: 'LeadCaptured', data: { leadId: early, name: 'Ada', source: 'web', capturedAt: meta.occurredAt }, metadata: meta }]);
  const handle = await startProjections({ readSql, store, bus, log: pino({ level: 'silent' }) });
  try {
    const leads = async () => (await readSql.query<{ lead_id: string }>(`SELECT lead_id FROM leads ORDER BY lead_id`)).rows.map((r) => r.lead_id);
    assert.deepEqual(await leads(), [early], 'filled from the event store before consuming');
    const later = randomUUID();
    await store.append(`lead-${later}`, [{ type: 'LeadCaptured', data: { leadId: later, name: 'Bob', source: 'email', capturedAt: meta.occurredAt }, metadata: meta }]);
    // Stand-in for the relay (write-side): publish the whole store; the early event is a duplicate.
    const records = await store.readAllRaw({});
    await bus.publish(records.map((r) => ({ topic: topicOfStream(r.streamId)!, ...encodeEvent(r) })));
    for (let i = 0; i < 200 && (await leads()).length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await leads(), [early, later].sort());
    const statuses = await handle.status();
    assert.deepEqual(statuses.map((s) => s.name), postgresReadModels.map((p) => p.name));
    for (const s of statuses) assert.equal(s.liveGeneration, 1);
    // The row of `later` can be visible before the partition holding the republished `early` is applied.
    const caughtUp = /annals_projection_offset_lag\{projection="leads"\} 0/;
    for (let i = 0; i < 200 && !caughtUp.test(await handle.metrics()); i++) await new Promise((r) => setTimeout(r, 20));
    assert.match(await handle.metrics(), caughtUp);
    assert.match(await handle.metrics(), /annals_projector_stalled\{projector="leads"\} 0/);
    assert.deepEqual(await handle.readiness(), { projectors: 'ok' });
  } finally {
    await handle.stop();
    await Promise.all([storeSql.close(), readSql.close()]);
  }
});

test('the standalone service answers /readyz: 200 when no projector is stalled, 503 degraded naming the stalled one and its cause', async () => {
  let checks: Record<string, string> = { projectors: 'ok' };
  const server = createServer(opsHandler({ metrics: async () => 'annals_projector_stalled{projector="contacts"} 1\n', readiness: async () => checks }, pino({ level: 'silent' }))).listen(0);
  try {
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const ok = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { status: 'ready', checks: { projectors: 'ok' } });
    checks = { 'projector:contacts': 'stalled: no progress for 61 s with 4 messages waiting; cause: 08006: connection lost' };
    const stalled = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(stalled.status, 503);
    assert.deepEqual(await stalled.json(), { status: 'degraded', checks });
    assert.match(await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5_000) })).text(), /annals_projector_stalled/);
    assert.equal((await fetch(`${base}/nope`, { signal: AbortSignal.timeout(5_000) })).status, 404);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

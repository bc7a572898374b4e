import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { embeddedBus } from '../../platform/bus/embedded.js';
import { DLQ, type ConsumedMessage } from '../../platform/bus/message.js';
import type { Bus } from '../../platform/bus/port.js';
import { readTopic } from '../../platform/bus/testing.js';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { openPglite, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import { sqlRelayCheckpoint, type RelayCheckpointStore } from './checkpoint.js';
import { newRelayStats, runRelay } from './relay.js';
import { routeBatch } from './route.js';

const log = pino({ level: 'silent' });
const metadata = () => ({
  tenantId: 't1',
  actor: { userId: 'u1', roles: ['sales' as const] },
  correlationId: 'c1',
  causationId: 'c1',
  occurredAt: new Date().toISOString(),
});
const captured = (leadId: string) => ({
  type: 'LeadCaptured',
  data: { leadId, name: 'Ada', source: 'web', capturedAt: new Date().toISOString() },
  metadata: metadata(),
});

const drain = (bus: Bus, topic: string, n: number): Promise<ConsumedMessage[]> => readTopic(bus, topic, n, 5_000);

/** `running` (a relay loop), stopped: a test that fails must not leave it running (the file would hang, not fail). */
async function stopRelay(c: AbortController, running: Promise<void>): Promise<void> {
  c.abort();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([running, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('the relay did not stop within 5 s')), 5_000)))]).finally(() => clearTimeout(timer));
}

async function until(cond: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('relay (PGlite event store → embedded bus)', { timeout: 60_000 }, () => {
  let sql: SqlClient;
  let store: EventStore;
  let checkpoint: RelayCheckpointStore;

  before(async () => {
    sql = pgliteClient(await openPglite());
    store = createEventStore(await postgresEventStore(sql));
    checkpoint = await sqlRelayCheckpoint(sql);
  });
  after(async () => sql.close());

  test('routing: aggregate events to their topic keyed by stream; non-aggregate streams skipped; unreadable ones to the DLQ', async () => {
    const lead = randomUUID();
    await store.append(`lead-${lead}`, [captured(lead)]);
    await store.append(`idempotency-${randomUUID()}`, [{ type: 'IdempotencyKeyClaimed', data: { streamId: `lead-${lead}`, commandType: 'CaptureLead' }, metadata: metadata() }]);
    const records = await store.readAllRaw({});
    const broken = { ...records[0]!, type: 'LeadTeleported' };
    const routed = routeBatch([...records, broken], new Date(0));
    assert.equal(routed.published, 1);
    assert.equal(routed.skipped, 1);
    assert.equal(routed.rejected.length, 1);
    assert.deepEqual(routed.messages.map((m) => m.topic), ['annals.lead.events', 'annals.dlq.relay']);
    assert.equal(routed.messages[0]!.key, `lead-${lead}`);
    assert.match(routed.messages[1]!.headers[DLQ.error]!, /unknown event type "LeadTeleported".*position/);
  });

  test('publishes every event from the checkpoint, in per-stream order, and a corrupt one goes to annals.dlq.relay', async () => {
    const bus = embeddedBus({ partitions: 3 });
    const leads = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of leads) {
      await store.append(`lead-${id}`, [captured(id)]);
      await store.append(`lead-${id}`, [{ type: 'LeadScored', data: { leadId: id, score: 40, factors: [] }, metadata: metadata() }]);
    }
    // Corrupt one stored event behind the store's back (bit rot, a bad manual fix).
    const victim = leads[1]!;
    await sql.query(`UPDATE annals_events SET data = '{not json' WHERE stream_id = $1 AND stream_revision = 1`, [`lead-${victim}`]);
    const head = await store.headPosition();
    const c = new AbortController();
    const stats = newRelayStats();
    const running = runRelay({ store, bus, checkpoint, log, signal: c.signal, batchSize: 4 }, stats);
    try {
      await until(() => stats.checkpoint === head);
    } finally {
      await stopRelay(c, running);
    }
    assert.equal(await checkpoint.load(), head);

    const all = await drain(bus, 'annals.lead.events', 6);
    const ours = all.filter((m) => leads.some((l) => m.key === `lead-${l}`));
    assert.equal(ours.length, 5, 'five good events published');
    for (const id of leads) {
      const revs = ours.filter((m) => m.key === `lead-${id}`).map((m) => m.headers.streamRevision);
      assert.deepEqual(revs, id === victim ? ['0'] : ['0', '1']);
    }
    const dlq = await drain(bus, 'annals.dlq.relay', 1);
    assert.equal(dlq.length, 1);
    assert.equal(dlq[0]!.key, `lead-${victim}`);
    assert.equal(dlq[0]!.headers[DLQ.code], 'EVENT_ERR_CORRUPT');
    assert.equal(stats.deadLettered, 1);
  });

  test('the checkpoint moves only after the broker acknowledged: a failing bus stalls the relay, then it catches up', async () => {
    const inner = embeddedBus();
    let failing = true;
    let attempts = 0;
    const flaky: Bus = {
      ...inner,
      publish: async (m) => {
        attempts++;
        if (failing) throw new Error('broker unavailable');
        return inner.publish(m);
      },
    };
    const before = await checkpoint.load();
    const id = randomUUID();
    await store.append(`lead-${id}`, [captured(id)]);
    const c = new AbortController();
    const stats = newRelayStats();
    const running = runRelay({ store, bus: flaky, checkpoint, log, signal: c.signal, backoff: { initialMs: 5, maxMs: 20 } }, stats);
    try {
      await until(() => attempts >= 3);
      assert.equal(await checkpoint.load(), before, 'no ack, no checkpoint');
      failing = false;
      const head = await store.headPosition();
      await until(async () => (await checkpoint.load()) === head);
    } finally {
      await stopRelay(c, running);
    }
    const msgs = await drain(inner, 'annals.lead.events', 1);
    assert.deepEqual(msgs.map((m) => m.key), [`lead-${id}`]);
  });
});

import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { embeddedBus } from '../../platform/bus/embedded.js';
import { decodeEvent, type ConsumedMessage } from '../../platform/bus/message.js';
import type { Bus } from '../../platform/bus/port.js';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { createPiiCodec } from '../../platform/pii/codec.js';
import { sqlKeyStore } from '../../platform/pii/key-store.js';
import { parseMasterKey } from '../../platform/pii/master-key.js';
import { openPglite, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import { sqlRelayCheckpoint } from './checkpoint.js';
import { newRelayStats, runRelay } from './relay.js';

/** The relay forwards the stored bytes: with encryption on, Kafka (here the in-process bus) holds ciphertext only. */
const log = pino({ level: 'silent' });
const personal = { name: 'Zelda Quux-Plaintext', email: 'zelda.plaintext@example.com', phone: '+33 6 12 34 56 78', notes: 'Secret notes about Zelda' };

describe('relay with an encrypted store', { timeout: 60_000 }, () => {
  let sql: SqlClient;
  let store: EventStore;
  before(async () => {
    sql = pgliteClient(await openPglite());
    const keyStore = await sqlKeyStore(sql, { masterKey: parseMasterKey(randomBytes(32).toString('base64url')) });
    store = createEventStore(await postgresEventStore(sql), { codec: createPiiCodec({ keyStore }) });
  });
  after(() => store.close());

  it('publishes ciphertext (no personal value in the message bytes) that a consumer with the key reads back exact', async () => {
    const id = uuidv7();
    await store.append(`lead-${id}`, [
      {
        type: 'LeadCaptured',
        data: { leadId: id, ...personal, source: 'web', capturedAt: '2026-11-21T10:00:00.000Z' },
        metadata: { tenantId: 'acme', actor: { userId: 'u-1', roles: ['sales'] }, correlationId: 'c', causationId: 'c', occurredAt: '2026-11-21T10:00:00.000Z', subjectId: id },
      },
    ]);
    const bus: Bus = embeddedBus();
    const c = new AbortController();
    const stats = newRelayStats();
    const running = runRelay({ store, bus, checkpoint: await sqlRelayCheckpoint(sql), log, signal: c.signal }, stats);
    const got: ConsumedMessage[] = [];
    try {
      const end = Date.now() + 5_000;
      while (stats.published < 1) {
        if (Date.now() > end) throw new Error('the relay did not publish within 5 s');
        await new Promise((r) => setTimeout(r, 10));
      }
      const drain = new AbortController();
      const t = setTimeout(() => drain.abort(), 5_000);
      await bus.consume({
        groupId: `t-${randomUUID()}`,
        topics: ['annals.lead.events'],
        resumeFrom: async () => new Map(),
        signal: drain.signal,
        onBatch: async (b) => {
          got.push(...b.messages);
          drain.abort();
        },
      });
      clearTimeout(t);
    } finally {
      c.abort();
      await running;
      await bus.close();
    }
    assert.equal(stats.deadLettered, 0, 'the relay checks ciphertexts without a key and lets them through');
    assert.equal(got.length, 1);
    const bytes = JSON.stringify(got[0], (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    for (const fragment of [...Object.values(personal), 'Zelda', 'zelda.plaintext', '12 34 56', 'Secret notes']) {
      assert.ok(!bytes.includes(fragment), `the bus message holds ${JSON.stringify(fragment)}`);
    }
    assert.match(got[0]!.value!, /"email":"pii:v2:/);
    const [e] = await store.reader.readOrThrow([decodeEvent(got[0]!)]);
    assert.deepEqual(e?.type === 'LeadCaptured' && { name: e.data.name, email: e.data.email, phone: e.data.phone, notes: e.data.notes }, personal);
  });
});

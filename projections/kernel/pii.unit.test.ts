import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { embeddedBus } from '../../platform/bus/embedded.js';
import { DLQ, encodeEvent, type ConsumedMessage } from '../../platform/bus/message.js';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { createPiiCodec } from '../../platform/pii/codec.js';
import { sqlKeyStore, type KeyStore } from '../../platform/pii/key-store.js';
import { parseMasterKey } from '../../platform/pii/master-key.js';
import { openPglite, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import { contactsProjection } from '../postgres/index.js';
import { registerProjection } from './generations.js';
import { createProjector } from './projector.js';
import { replayProjection } from './replay.js';
import { readTopic, within } from './testing.js';

/**
 * Projectors and replays read encrypted events through the store's reader (issue 10): a live subject's
 * values land in clear, an erased subject's as "[erased]" (no error, no retry loop), and a ciphertext
 * that fails authentication is dead-lettered with its typed code — never read as erased, never retried
 * forever.
 */
const log = pino({ level: 'silent' });
const meta = (subjectId: string) => ({ tenantId: 't1', actor: { userId: 'u1', roles: ['sales' as const] }, correlationId: 'c', causationId: 'c', occurredAt: '2026-11-21T10:00:00.000Z', subjectId });
const created = (contactId: string, lastName: string) => ({
  type: 'ContactCreated',
  data: { contactId, firstName: 'Ada', lastName, email: `${lastName.toLowerCase()}@example.com`, customFields: {}, tags: [] },
  metadata: meta(contactId),
});

describe('projector and replay over an encrypted store', { timeout: 90_000 }, () => {
  let storeSql: SqlClient;
  let readSql: SqlClient;
  let keyStore: KeyStore;
  let store: EventStore;
  before(async () => {
    storeSql = pgliteClient(await openPglite());
    readSql = pgliteClient(await openPglite());
    keyStore = await sqlKeyStore(readSql, { masterKey: parseMasterKey(randomBytes(32).toString('base64')), cacheTtlMs: 0 });
    store = createEventStore(await postgresEventStore(storeSql), { codec: createPiiCodec({ keyStore }) });
  });
  after(async () => {
    await store.close();
    await readSql.close();
  });

  it('live → plaintext, erased → [erased], tampered → dead-lettered (PII_ERR_CIPHERTEXT_INVALID), in one batch', async () => {
    const [live, gone, forged] = [uuidv7(), uuidv7(), uuidv7()];
    await store.append(`contact-${live}`, [created(live, 'Live')]);
    await store.append(`contact-${gone}`, [created(gone, 'Gone')]);
    await store.append(`contact-${forged}`, [created(forged, 'Forged')]);
    await keyStore.destroy({ tenantId: 't1', subjectId: gone }, { actor: 'dpo', reason: 'request' });

    const records = [...(await store.readStreamRaw(`contact-${live}`)), ...(await store.readStreamRaw(`contact-${gone}`)), ...(await store.readStreamRaw(`contact-${forged}`))];
    const messages: ConsumedMessage[] = records.map((r, i) => {
      const m = encodeEvent(r);
      // The forged one: its lastName ciphertext swapped for the live contact's (moved between events: must not authenticate).
      const value = r.streamId === `contact-${forged}` ? swapLastName(m.value!, encodeEvent(records[0]!).value!) : m.value;
      return { topic: 'annals.contact.events', partition: 0, offset: BigInt(i), ...m, value };
    });
    await registerProjection(readSql, contactsProjection);
    const bus = embeddedBus();
    const projector = createProjector({ sql: readSql, bus, projection: contactsProjection, log, reader: store.reader, retry: { maxAttempts: 2, backoff: { initialMs: 1, maxMs: 2 } } });
    await within(projector.handleBatch({ topic: 'annals.contact.events', partition: 0, messages, highWatermark: 3n }), 20_000, 'the batch (a tampered event must not loop)');

    const { rows } = await readSql.query<{ id: string; last_name: string; email: string }>(`SELECT contact_id::text AS id, last_name, email FROM contacts`);
    assert.deepEqual(rows.sort((a, b) => (a.id === gone ? -1 : b.id === gone ? 1 : 0)), [
      { id: gone, last_name: '[erased]', email: '[erased]' },
      { id: live, last_name: 'Live', email: 'live@example.com' },
    ]);
    assert.equal(projector.stats.deadLettered, 1);
    const [dead] = await readTopic(bus, 'annals.dlq.contacts', 1);
    assert.equal(dead?.key, `contact-${forged}`);
    assert.equal(dead.headers[DLQ.code], 'PII_ERR_CIPHERTEXT_INVALID');
    assert.match(dead.headers[DLQ.error]!, /field data\.lastName/);
    await bus.close();
  });

  it('a replay after erasure writes markers, not the old values, and reports no failure for them', async () => {
    const id = uuidv7();
    await store.append(`contact-${id}`, [created(id, 'Replayed')]);
    await keyStore.destroy({ tenantId: 't1', subjectId: id }, { actor: 'dpo', reason: 'request' });
    const r = await replayProjection({ sql: readSql, store, projection: contactsProjection, log });
    assert.ok(r.failures.every((f) => f.streamId !== `contact-${id}`), 'the erased subject is no failure');
    const { rows } = await readSql.query<{ last_name: string; email: string }>(`SELECT last_name, email FROM contacts WHERE contact_id = $1`, [id]);
    assert.deepEqual(rows, [{ last_name: '[erased]', email: '[erased]' }]);
  });
});

function swapLastName(target: string, from: string): string {
  const t = JSON.parse(target) as Record<string, unknown>;
  t.lastName = (JSON.parse(from) as Record<string, unknown>).lastName;
  return JSON.stringify(t);
}

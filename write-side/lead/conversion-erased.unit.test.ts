import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { createLogger } from '../../platform/logging/logger.js';
import { createPiiCodec } from '../../platform/pii/codec.js';
import { sqlKeyStore, type KeyStore } from '../../platform/pii/key-store.js';
import { parseMasterKey } from '../../platform/pii/master-key.js';
import { openPglite, pgliteClient } from '../../platform/sql/client.js';
import { bearer, send, testApp, testConfig, token, type TestApp } from '../testing.js';
import { processLeadConverted } from './conversion-process.js';

/**
 * The conversion process on an encrypted store (issue 10): it reads the lead through the store's reader
 * (plaintext for a live subject); a lead erased before the conversion ran is skipped, not retried forever
 * with "[erased]" values that no contact schema accepts.
 */
const silent = createLogger({ level: 'silent', name: 'test' });

describe('lead conversion with encrypted personal data', { timeout: 60_000 }, () => {
  let t: TestApp;
  let store: EventStore;
  let keyStore: KeyStore;
  let h: Record<string, string>;
  before(async () => {
    const sql = pgliteClient(await openPglite());
    keyStore = await sqlKeyStore(sql, { masterKey: parseMasterKey(randomBytes(32).toString('base64')), cacheTtlMs: 0 });
    store = createEventStore(await postgresEventStore(sql), { codec: createPiiCodec({ keyStore }) });
    t = await testApp({ store });
    h = bearer(await token({ roles: ['sales'], sub: 'seller' }));
  });
  after(async () => {
    await t.close();
    await store.close();
  });

  const captureAndConvert = async (name: string) => {
    const captured = await send(t.app, 'POST', '/api/v1/leads', { source: 'event', name, email: `${name.split(' ')[0]!.toLowerCase()}@example.com` }, h);
    assert.equal(captured.statusCode, 201, captured.body);
    const leadId = String(captured.json().id);
    const converted = await send(t.app, 'POST', `/api/v1/leads/${leadId}/convert`, {}, h);
    assert.equal(converted.statusCode, 200, converted.body);
    const [event] = (await store.readStream(`lead-${leadId}`)).filter((e) => e.type === 'LeadConverted');
    return { leadId, contactId: String(converted.json().contactId), event: event! };
  };
  const deps = () => ({ store, logger: silent, clock: () => new Date(), emailHashKey: testConfig().emailHashKey });

  it('a live lead converts into a contact holding its decrypted values (stored encrypted again)', async () => {
    const c = await captureAndConvert('Katherine Johnson');
    await processLeadConverted(deps(), c.event);
    const [contact] = await store.readStream(`contact-${c.contactId}`);
    assert.equal(contact?.type === 'ContactCreated' && contact.data.email, 'katherine@example.com');
    const [raw] = await store.readStreamRaw(`contact-${c.contactId}`);
    assert.ok(!String(raw!.data).includes('katherine@example.com'), 'the new contact is stored encrypted');
  });

  it('a lead erased before the conversion ran: no contact, no exception (nothing to retry)', async () => {
    const c = await captureAndConvert('Dorothy Vaughan');
    await keyStore.destroy({ tenantId: c.event.tenantId, subjectId: c.leadId }, { actor: 'dpo', reason: 'request' });
    await processLeadConverted(deps(), c.event);
    assert.deepEqual(await store.readStream(`contact-${c.contactId}`), []);
  });
});

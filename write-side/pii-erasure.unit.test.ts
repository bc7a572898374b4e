import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createEventStore, type EventStore } from '../platform/event-store/event-store.js';
import { postgresEventStore } from '../platform/event-store/postgres/adapter.js';
import { createPiiCodec } from '../platform/pii/codec.js';
import { sqlKeyStore, type KeyStore } from '../platform/pii/key-store.js';
import { parseMasterKey } from '../platform/pii/master-key.js';
import { openPglite, pgliteClient } from '../platform/sql/client.js';
import { bearer, send, testApp, token, type TestApp } from './testing.js';

/**
 * A command that would record personal data for an erased subject answers 410 Gone with the coded
 * problem PII_ERR_SUBJECT_ERASED, and appends nothing: erasure is final (issue 10).
 */
describe('commands on an erased data subject', { timeout: 60_000 }, () => {
  let t: TestApp;
  let store: EventStore;
  let keyStore: KeyStore;
  before(async () => {
    const sql = pgliteClient(await openPglite());
    keyStore = await sqlKeyStore(sql, { masterKey: parseMasterKey(randomBytes(32).toString('base64')), cacheTtlMs: 0 });
    store = createEventStore(await postgresEventStore(sql), { codec: createPiiCodec({ keyStore }) });
    t = await testApp({ store });
  });
  after(async () => {
    await t.close();
    await store.close();
  });

  it('logging an interaction or setting a personal field answers 410 PII_ERR_SUBJECT_ERASED and appends nothing', async () => {
    const h = bearer(await token({ tenant: 'tenant-a', roles: ['sales'] }));
    const created = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com' }, h);
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json<{ id: string }>().id;
    const ok = await send(t.app, 'POST', `/api/v1/contacts/${id}/interactions`, { kind: 'call', channel: 'phone', summary: 'Talked about engines' }, h);
    assert.equal(ok.statusCode, 200, ok.body);

    await keyStore.destroy({ tenantId: 'tenant-a', subjectId: id }, { actor: 'dpo-1', reason: 'erasure request' });
    const before = await store.readStreamRaw(`contact-${id}`);

    const logged = await send(t.app, 'POST', `/api/v1/contacts/${id}/interactions`, { kind: 'call', channel: 'phone', summary: 'Called again' }, { ...h, 'x-correlation-id': 'corr-410' });
    assert.equal(logged.statusCode, 410, logged.body);
    assert.match(String(logged.headers['content-type']), /application\/problem\+json/);
    const problem = logged.json<{ code: string; status: number; title: string; correlationId: string; subjectId?: string; detail: string }>();
    assert.equal(problem.code, 'PII_ERR_SUBJECT_ERASED');
    assert.equal(problem.status, 410);
    assert.equal(problem.title, 'Gone');
    assert.equal(problem.correlationId, 'corr-410');
    assert.equal(problem.subjectId, id);
    assert.ok(!logged.body.includes('Called again'), 'the refused personal value is not echoed');

    const patched = await send(t.app, 'PATCH', `/api/v1/contacts/${id}`, { phone: '+44 20 7946 0958' }, h);
    assert.equal(patched.statusCode, 410, patched.body);
    assert.equal(patched.json<{ code: string }>().code, 'PII_ERR_SUBJECT_ERASED');

    assert.equal((await store.readStreamRaw(`contact-${id}`)).length, before.length, 'nothing appended');
    // The history still reads: the erased values as markers, no exception.
    const events = await store.readStream(`contact-${id}`);
    assert.ok(events.every((e) => e.erased === true));
    assert.equal(events[0]?.type === 'ContactCreated' && events[0].data.email, '[erased]');
  });
});

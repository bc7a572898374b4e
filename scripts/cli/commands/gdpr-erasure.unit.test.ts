import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { embeddedBus } from '../../../platform/bus/embedded.js';
import { busPiiScanner } from '../../../platform/bus/pii-scanner.js';
import { createEventStore, type EventStore } from '../../../platform/event-store/event-store.js';
import { eventStorePiiScanner } from '../../../platform/event-store/pii-scanner.js';
import { postgresEventStore } from '../../../platform/event-store/postgres/adapter.js';
import { createLogger } from '../../../platform/logging/logger.js';
import { createPiiCodec } from '../../../platform/pii/codec.js';
import { sqlKeyStore, type KeyStore } from '../../../platform/pii/key-store.js';
import { deriveSubkey } from '../../../platform/pii/master-key.js';
import { openPglite, pgliteClient, type SqlClient } from '../../../platform/sql/client.js';
import { startProjections, type ProjectionsHandle } from '../../../projections/main.js';
import { rebuildProjection } from '../../../projections/kernel/replay.js';
import { projectorErasureWait } from '../../../projections/erasure-wait.js';
import { postgresProjections } from '../../../projections/postgres/index.js';
import { postgresPiiScanners, postgresSubjectRows } from '../../../projections/postgres/pii-scanner.js';
import { sqlErasureRecords, type ErasureCertificate } from '../../../write-side/gdpr/certificates.js';
import { createErasureWorkflow, GDPR_VALUE_HASH_LABEL, type ErasureWorkflow, type ProjectorWait } from '../../../write-side/gdpr/workflow.js';
import { startRelay, type RelayHandle } from '../../../write-side/relay/main.js';
import { sqlRelayCheckpoint } from '../../../write-side/relay/checkpoint.js';
import { createWriteSide, type WriteSide } from '../../../write-side/service.js';
import { bearer, send, testConfig, token } from '../../../write-side/testing.js';
import { run as gdprCli } from './gdpr.js';
import { parseRetentionEnv, RETENTION_ACTOR, runRetention } from '../../../write-side/gdpr/retention.js';
import { DEFAULT_RETENTION, retentionCandidates } from '../../../projections/postgres/retention.js';

/**
 * The erasure workflow end to end, on the one-process composition (embedded adapters: PGlite event
 * store with the GDPR codec, in-process bus, relay, every PostgreSQL projector, the write side with the
 * lead-conversion process), driven over HTTP with app.inject (issue 10 §2–4).
 */
const MASTER = randomBytes(32).toString('base64url');
const within = async <T>(ms: number, what: string, poll: () => Promise<T | undefined>): Promise<T> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await poll();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe('GDPR erasure workflow (one-process composition)', { timeout: 120_000 }, () => {
  let esSql: SqlClient;
  let readSql: SqlClient;
  let store: EventStore;
  let keyStore: KeyStore;
  let relay: RelayHandle;
  let projections: ProjectionsHandle;
  let writeSide: WriteSide;
  let logs: string[];
  let failWait = 0; // > 0: the projector wait throws that many times (a crash after key destruction)
  let failDestroy = 0; // > 0: the key destruction throws that many times (a crash right after the capture)
  let workflow: ErasureWorkflow;
  const bus = embeddedBus({ partitions: 2 });
  const sales = async () => bearer(await token({ tenant: 'tenant-a', sub: 'sales-1', roles: ['sales'] }));
  const dpo = async (tenant = 'tenant-a') => bearer(await token({ tenant, sub: 'dpo-1', roles: ['dpo'] }));
  const app = () => writeSide.app;

  before(async () => {
    esSql = pgliteClient(await openPglite());
    readSql = pgliteClient(await openPglite());
    keyStore = await sqlKeyStore(readSql, { masterKey: (await import('../../../platform/pii/master-key.js')).parseMasterKey(MASTER), cacheTtlMs: 0 });
    store = createEventStore(await postgresEventStore(esSql), { codec: createPiiCodec({ keyStore }) });
    logs = [];
    const sink = new Writable({ write: (c, _e, cb) => (logs.push(String(c)), cb()) });
    const logger = createLogger({ level: 'info', name: 'gdpr-test' }, sink);
    relay = startRelay({ store, bus, checkpoint: await sqlRelayCheckpoint(readSql), log: logger, batchSize: 100 });
    projections = await startProjections({ readSql, store, bus, log: logger, stallMs: 60_000 });
    const records = await sqlErasureRecords(readSql);
    const realWait = projectorErasureWait(() => projections.status(), { pollMs: 20 });
    const wait: ProjectorWait = async (...args) => {
      if (failWait > 0) {
        failWait--;
        throw new Error('simulated crash before projector confirmation');
      }
      return realWait(...args);
    };
    const flakyKeys: KeyStore = {
      ...keyStore,
      lookup: (refs) => keyStore.lookup(refs),
      getOrCreate: (ref) => keyStore.getOrCreate(ref),
      destruction: (ref) => keyStore.destruction(ref),
      destroy: async (ref, by) => {
        if (failDestroy > 0) {
          failDestroy--;
          throw new Error('simulated crash before key destruction');
        }
        return keyStore.destroy(ref, by);
      },
    };
    workflow = createErasureWorkflow({
      store,
      keyStore: flakyKeys,
      records,
      scanners: [eventStorePiiScanner(store), busPiiScanner(bus, { timeoutMs: 10_000 }), ...postgresPiiScanners(readSql, postgresProjections)],
      waitForProjectors: wait,
      hashKey: deriveSubkey(MASTER, GDPR_VALUE_HASH_LABEL),
      clock: () => new Date(),
      log: logger,
      projectorTimeoutMs: 20_000,
    });
    writeSide = await createWriteSide({
      config: testConfig({ piiMasterKey: MASTER, conversionProcess: true }),
      logger,
      eventStore: store,
      gdpr: {
        workflow,
        records,
        subjectRows: postgresSubjectRows(readSql, postgresProjections),
        retention: { due: (tenantId, now) => retentionCandidates(readSql, { now, tenantId }), policyOf: () => DEFAULT_RETENTION },
      },
    });
    await writeSide.app.ready();
  });
  after(async () => {
    await writeSide?.stop();
    await relay?.stop();
    await projections?.stop();
    await bus.close();
    await store?.close();
    await readSql?.close();
  });

  const contactRow = async (id: string) =>
    (await readSql.query<Record<string, unknown>>(`SELECT * FROM contacts WHERE contact_id = $1`, [id])).rows[0];

  /** A person: lead captured, converted with a deal, interactions and consents on the contact. */
  async function person(name: string, email: string, company: string) {
    const h = await sales();
    const lead = await send(app(), 'POST', '/api/v1/leads', { name, email, phone: '+44 20 7946 0001', company, source: 'web', notes: `${name} wants a demo` }, h);
    assert.equal(lead.statusCode, 201, lead.body);
    const leadId = lead.json<{ id: string }>().id;
    const converted = await send(app(), 'POST', `/api/v1/leads/${leadId}/convert`, { deal: { name: `${company} deal`, value: { amountMinor: 100_000, currency: 'EUR' }, pipeline: 'default' } }, h);
    assert.equal(converted.statusCode, 200, converted.body);
    const contactId = converted.json<{ contactId: string }>().contactId;
    await within(20_000, 'the converted contact row', async () => (await contactRow(contactId).catch(() => undefined)) ?? undefined);
    const logged = await send(app(), 'POST', `/api/v1/contacts/${contactId}/interactions`, { kind: 'call', channel: 'phone', summary: `Call with ${name} about pricing` }, h);
    assert.equal(logged.statusCode, 200, logged.body);
    const consent = await send(app(), 'POST', `/api/v1/consents/${contactId}/grant`, { purpose: 'marketing_email', lawfulBasis: 'consent', source: `web form signed by ${name}`, noticeVersion: 'v3' }, h);
    assert.equal(consent.statusCode, 200, consent.body);
    return { leadId, contactId };
  }

  let ada: { leadId: string; contactId: string };
  let grace: { leadId: string; contactId: string };
  let certificate: ErasureCertificate;

  it('only dpo or admin may erase or export (403), an unknown subject is 404, another tenant\'s is 404 and a security log line', async () => {
    ada = await person('Ada Lovelace', 'ada@analytical.example', 'Acme Engines');
    grace = await person('Grace Hopper', 'grace@navy.example', 'Acme Engines');
    for (const path of [`/subjects/${ada.contactId}/erase`, `/subjects/${ada.contactId}/export`]) {
      const res = await send(app(), path.endsWith('erase') ? 'POST' : 'GET', `/api/v1${path}`, path.endsWith('erase') ? {} : undefined, await sales());
      assert.equal(res.statusCode, 403, res.body);
    }
    const unknown = await send(app(), 'POST', `/api/v1/subjects/0190a000-0000-7000-8000-000000000000/erase`, {}, await dpo());
    assert.equal(unknown.statusCode, 404, unknown.body);
    assert.equal(unknown.json<{ code: string }>().code, 'GDPR_ERR_SUBJECT_NOT_FOUND');
    const foreign = await send(app(), 'POST', `/api/v1/subjects/${ada.contactId}/erase`, {}, await dpo('tenant-b'));
    assert.equal(foreign.statusCode, 404, foreign.body);
    assert.ok(logs.join('').includes('cross-tenant-access'), 'security log line');
    const foreignExport = await send(app(), 'GET', `/api/v1/subjects/${ada.contactId}/export`, undefined, await dpo('tenant-b'));
    assert.equal(foreignExport.statusCode, 404, foreignExport.body);
    // Nothing was destroyed by the refused requests.
    assert.equal(await keyStore.destruction({ tenantId: 'tenant-a', subjectId: ada.contactId }), undefined);
  });

  it('export before erasure: every event decrypted, read-model rows, consents with lawful basis and history', async () => {
    const res = await send(app(), 'GET', `/api/v1/subjects/${ada.contactId}/export`, undefined, await dpo());
    assert.equal(res.statusCode, 200, res.body);
    const doc = res.json<{ schemaVersion: number; erased: boolean; events: Array<{ type: string }>; consents: Array<{ purpose: string; current: { lawfulBasis: string } }>; readModels: Record<string, Record<string, unknown[]>> }>();
    assert.equal(doc.schemaVersion, 1);
    assert.equal(doc.erased, false);
    assert.deepEqual(doc.events.map((e) => e.type), ['ContactCreated', 'ContactInteractionLogged', 'ConsentGranted']);
    assert.equal(doc.consents[0]?.current.lawfulBasis, 'consent');
    assert.ok(res.body.includes('ada@analytical.example'));
    assert.equal(doc.readModels.contacts?.contacts?.length, 1);
  });

  it('erasure: keys destroyed, every store scans to zero, certificate with hashes only; idempotent', async () => {
    const res = await send(app(), 'POST', `/api/v1/subjects/${ada.contactId}/erase`, { reason: 'subject_request' }, await dpo());
    assert.equal(res.statusCode, 200, res.body);
    certificate = res.json<ErasureCertificate>();
    assert.equal(certificate.clean, true);
    assert.equal(certificate.subjectId, ada.contactId);
    assert.deepEqual(certificate.linkedSubjectIds, [ada.leadId], 'the lead the contact came from is the same person');
    assert.equal(certificate.actor, 'dpo-1');
    assert.equal(certificate.reason, 'subject_request');
    assert.ok(certificate.capture.values >= 5, `captured ${certificate.capture.values} values`);
    const stores = certificate.stores.map((s) => s.store);
    for (const s of ['event-store', 'bus', 'postgres:contacts', 'postgres:leads', 'postgres:timelines', 'postgres:consents', 'postgres:deals']) assert.ok(stores.includes(s), `store ${s} scanned`);
    for (const s of certificate.stores) {
      assert.equal(s.found, 0, `${s.store}: ${s.locations.join(', ')}`);
      assert.equal(s.valuesSearched.length, certificate.capture.values);
      assert.ok(s.examined > 0 || s.store === 'postgres:budgets', `${s.store} examined something`);
    }
    assert.ok(certificate.projectors.every((p) => p.passed));
    for (const v of ['Ada', 'Lovelace', 'ada@analytical.example', '+44 20 7946 0001', 'pricing']) assert.ok(!res.body.includes(v), `certificate holds no plaintext (${v})`);
    const keyGone = await keyStore.destruction({ tenantId: 'tenant-a', subjectId: ada.contactId });
    assert.equal(keyGone?.actor, 'dpo-1');
    assert.equal(certificate.keyDestroyedAt <= certificate.completedAt, true);

    const again = await send(app(), 'POST', `/api/v1/subjects/${ada.contactId}/erase`, {}, await dpo());
    assert.equal(again.statusCode, 200, again.body);
    assert.deepEqual(again.json(), certificate, 'a second request returns the first certificate');
    const shown = await send(app(), 'GET', `/api/v1/subjects/${ada.contactId}/erasure`, undefined, await dpo());
    assert.deepEqual(shown.json<{ certificate: unknown }>().certificate, certificate);
  });

  it('after erasure: read models redacted, audit keeps every event, consent facts kept, another subject with the same company untouched', async () => {
    const row = await contactRow(ada.contactId);
    assert.equal(row?.status, 'erased');
    assert.equal(row?.first_name, null);
    assert.equal(row?.email, null);
    assert.equal(row?.company, 'Acme Engines', 'non-personal facts stay');
    const other = await contactRow(grace.contactId);
    assert.equal(other?.first_name, 'Grace');
    assert.equal(other?.email, 'grace@navy.example');
    const consent = (await readSql.query<Record<string, unknown>>(`SELECT * FROM consents WHERE subject_id = $1`, [ada.contactId])).rows[0];
    assert.equal(consent?.purpose, 'marketing_email');
    assert.equal(consent?.lawful_basis, 'consent');
    assert.equal(consent?.notice_version, 'v3');
    assert.equal(consent?.source, null);
    // Audit view: the stream through the store reader still lists every event, personal fields erased.
    const audit = await store.readStream(`contact-${ada.contactId}`);
    assert.deepEqual(audit.map((e) => e.type), ['ContactCreated', 'ContactInteractionLogged', 'ContactErased']);
    assert.equal(audit[0]?.type === 'ContactCreated' && audit[0].data.firstName, '[erased]');
    const consentStream = await store.readStream(`consent-${ada.contactId}`);
    assert.deepEqual(consentStream.map((e) => e.type), ['ConsentGranted', 'SubjectErasureRequested', 'SubjectErased']);
    assert.equal(consentStream[0]?.type === 'ConsentGranted' && consentStream[0].data.purpose, 'marketing_email');
    // The deal (non-personal) still names the contact.
    const deals = (await readSql.query<{ n: string }>(`SELECT count(*)::text AS n FROM deals WHERE contact_id = $1`, [ada.contactId])).rows[0];
    assert.equal(deals?.n, '1');
  });

  it('a command naming the erased subject answers 410 Gone; the export says the subject was erased', async () => {
    const logged = await send(app(), 'POST', `/api/v1/contacts/${ada.contactId}/interactions`, { kind: 'call', channel: 'phone', summary: 'again' }, await sales());
    assert.equal(logged.statusCode, 410, logged.body);
    const res = await send(app(), 'GET', `/api/v1/subjects/${ada.contactId}/export`, undefined, await dpo());
    assert.equal(res.statusCode, 200, res.body);
    const doc = res.json<{ erased: boolean; erasure: { step: string } }>();
    assert.equal(doc.erased, true);
    assert.equal(doc.erasure.step, 'certified');
    assert.ok(!res.body.includes('Lovelace'));
  });

  it('a full rebuild of every read model brings nothing back; verify scans clean; a planted value makes verify fail', async () => {
    for (const projection of postgresProjections) await rebuildProjection({ sql: readSql, store, projection, log: createLogger({ level: 'warn', name: 'rebuild' }) });
    const verify = await send(app(), 'POST', `/api/v1/subjects/${ada.contactId}/erasure/verify`, undefined, await dpo());
    assert.equal(verify.statusCode, 200, verify.body);
    assert.equal(verify.json<{ clean: boolean }>().clean, true, verify.body);
    // Break the guarantee on purpose: a read model that kept a value is found by the scan.
    await readSql.query(`UPDATE contacts SET title = 'ada@analytical.example' WHERE contact_id = $1`, [ada.contactId]);
    const dirty = await send(app(), 'POST', `/api/v1/subjects/${ada.contactId}/erasure/verify`, undefined, await dpo());
    const report = dirty.json<{ clean: boolean; stores: Array<{ store: string; found: number }> }>();
    assert.equal(report.clean, false);
    const contacts = report.stores.find((s) => s.store === 'postgres:contacts') as { found: number; locations: string[] } | undefined;
    assert.equal(contacts?.found, 1);
    assert.deepEqual(contacts?.locations, ['contacts.title'], 'a value leaked into a non-personal column is found, by column');
    await readSql.query(`UPDATE contacts SET title = NULL WHERE contact_id = $1`, [ada.contactId]);
  });

  it('a crash after key destruction and before projector confirmation fails the request, then a retry completes with one certificate, key destroyed once', async () => {
    failWait = 1;
    const first = await send(app(), 'POST', `/api/v1/subjects/${grace.contactId}/erase`, {}, await dpo());
    assert.equal(first.statusCode, 500, first.body);
    const destroyed = await keyStore.destruction({ tenantId: 'tenant-a', subjectId: grace.contactId });
    assert.ok(destroyed, 'the key was destroyed before the crash');
    const status = await send(app(), 'GET', `/api/v1/subjects/${grace.contactId}/erasure`, undefined, await dpo());
    assert.equal(status.json<{ step: string }>().step, 'events-appended');
    const retry = await send(app(), 'POST', `/api/v1/subjects/${grace.contactId}/erase`, {}, await dpo());
    assert.equal(retry.statusCode, 200, retry.body);
    const cert = retry.json<ErasureCertificate>();
    assert.equal(cert.clean, true);
    assert.equal(cert.keyDestroyedAt, destroyed.destroyedAt, 'the key was destroyed once');
    const erasedEvents = (await store.readStream(`consent-${grace.contactId}`)).filter((e) => e.type === 'SubjectErased');
    assert.equal(erasedEvents.length, 1, 'the erasure events were appended once');
    const again = await send(app(), 'POST', `/api/v1/subjects/${grace.contactId}/erase`, {}, await dpo());
    assert.deepEqual(again.json(), cert);
  });

  it('crashes at either side of the key destruction are continued by the next start (resumePending)', async () => {
    const ids: string[] = [];
    for (const first of ['Mary', 'Dorothy']) {
      const created = await send(app(), 'POST', '/api/v1/contacts', { firstName: first, lastName: 'Resume', email: `${first.toLowerCase()}@example.com` }, await sales());
      assert.equal(created.statusCode, 201, created.body);
      ids.push(created.json<{ id: string }>().id);
      await within(20_000, 'the contact row', async () => (await contactRow(ids.at(-1)!)) ?? undefined);
    }
    failDestroy = 1;
    assert.equal((await send(app(), 'POST', `/api/v1/subjects/${ids[0]}/erase`, {}, await dpo())).statusCode, 500);
    assert.equal(await keyStore.destruction({ tenantId: 'tenant-a', subjectId: ids[0]! }), undefined, 'no key destroyed yet');
    failWait = 1;
    assert.equal((await send(app(), 'POST', `/api/v1/subjects/${ids[1]}/erase`, {}, await dpo())).statusCode, 500);
    const steps = async () => Promise.all(ids.map(async (id) => (await send(app(), 'GET', `/api/v1/subjects/${id}/erasure`, undefined, await dpo())).json<{ step: string }>().step));
    assert.deepEqual(await steps(), ['captured', 'events-appended']);
    assert.equal(await workflow.resumePending(), 2);
    assert.deepEqual(await steps(), ['certified', 'certified']);
    assert.equal((await contactRow(ids[0]!))?.first_name, null);
  });

  it('retention: a lead Lost for over 24 months and a contact without interaction or consent for 36 are erased with certificates; a consenting one is kept; per-tenant override', async () => {
    const h = await sales();
    const lead = await send(app(), 'POST', '/api/v1/leads', { name: 'Old Lead', email: 'old.lead@example.com', source: 'web' }, h);
    assert.equal(lead.statusCode, 201, lead.body);
    const leadId = lead.json<{ id: string }>().id;
    assert.equal((await send(app(), 'POST', `/api/v1/leads/${leadId}/status`, { status: 'Lost', reason: 'no budget' }, h)).statusCode, 200);
    const contactIds: string[] = [];
    for (const first of ['Idle', 'Consenting']) {
      const c = await send(app(), 'POST', '/api/v1/contacts', { firstName: first, lastName: 'Retained', email: `${first.toLowerCase()}@retention.example` }, h);
      assert.equal(c.statusCode, 201, c.body);
      contactIds.push(c.json<{ id: string }>().id);
    }
    const grant = await send(app(), 'POST', `/api/v1/consents/${contactIds[1]}/grant`, { purpose: 'sms', lawfulBasis: 'consent', source: 'form', noticeVersion: 'v1' }, h);
    assert.equal(grant.statusCode, 200, grant.body);
    await within(20_000, 'the rows', async () => {
      const l = (await readSql.query<{ status: string }>(`SELECT status FROM leads WHERE lead_id = $1`, [leadId])).rows[0];
      const c = (await readSql.query(`SELECT 1 FROM consents WHERE subject_id = $1`, [contactIds[1]])).rows[0];
      return l?.status === 'Lost' && c && (await contactRow(contactIds[0]!)) ? true : undefined;
    });
    const now = new Date();
    const due = () => retentionCandidates(readSql, { now });
    assert.deepEqual(await due(), [], 'nothing is due yet');
    // Time passes (the read models' times, moved back): 25 months since Lost, 37 months of silence.
    await readSql.query(`UPDATE leads SET lost_at = lost_at - interval '25 months' WHERE lead_id = $1`, [leadId]);
    await readSql.query(`UPDATE contacts SET created_at = created_at - interval '37 months' WHERE contact_id = ANY($1::uuid[])`, [contactIds]);
    await readSql.query(`UPDATE consents SET changed_at = changed_at - interval '37 months' WHERE subject_id = $1`, [contactIds[1]]);
    assert.deepEqual((await retentionCandidates(readSql, { now, perTenant: { 'tenant-a': { leadLostMonths: 30, contactInactiveMonths: 40 } } })), [], 'a longer tenant policy keeps them');
    const report = await runRetention({ workflow, due, log: createLogger({ level: 'silent', name: 'retention' }), clock: () => now });
    assert.deepEqual(report.failed, []);
    assert.deepEqual(report.certified.map((c) => [c.subjectId, c.rule]).sort(), [[contactIds[0], 'contact-inactive'], [leadId, 'lead-lost']].sort());
    for (const c of report.certified) {
      assert.equal(c.certificate.clean, true);
      assert.equal(c.certificate.reason, 'retention_policy');
      assert.equal(c.certificate.actor, RETENTION_ACTOR);
    }
    assert.equal((await contactRow(contactIds[1]!))?.first_name, 'Consenting', 'an active consent keeps the contact');
    assert.deepEqual(await due(), [], 'erased subjects are not due again');
    assert.deepEqual(parseRetentionEnv({ GDPR_RETENTION_INTERVAL_MS: '-1', GDPR_RETENTION_POLICIES: '{"t":{"leadLostMonths":0}}' }).issues.length, 2);
  });

  it('two erasure requests at once get the same certificate', async () => {
    const created = await send(app(), 'POST', '/api/v1/contacts', { firstName: 'Katherine', lastName: 'Johnson', email: 'kj@example.com' }, await sales());
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json<{ id: string }>().id;
    await within(20_000, 'the contact row', async () => (await contactRow(id)) ?? undefined);
    const [a, b] = await Promise.all([0, 1].map(async () => send(app(), 'POST', `/api/v1/subjects/${id}/erase`, {}, await dpo())));
    assert.equal(a!.statusCode, 200, a!.body);
    assert.equal(b!.statusCode, 200, b!.body);
    assert.deepEqual(a!.json(), b!.json());
    assert.equal((await store.readStream(`consent-${id}`)).filter((e) => e.type === 'SubjectErased').length, 1);
  });

  it('tampered ciphertext is reported in the certificate, not taken for erased', async () => {
    const h = await sales();
    const created = await send(app(), 'POST', '/api/v1/contacts', { firstName: 'Hedy', lastName: 'Lamarr', email: 'hedy@example.com' }, h);
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json<{ id: string }>().id;
    await within(20_000, 'the contact row', async () => (await contactRow(id)) ?? undefined);
    // Move the email ciphertext into lastName: it no longer authenticates there.
    const raw = (await store.readStreamRaw(`contact-${id}`))[0]!;
    const data = JSON.parse(raw.data) as Record<string, string>;
    const tampered = JSON.stringify({ ...data, lastName: data.email });
    await esSql.query(`UPDATE annals_events SET data = $1 WHERE event_id = $2`, [tampered, raw.eventId]).catch(async () => {
      await esSql.query(`UPDATE annals_events SET data = $1::jsonb WHERE event_id = $2`, [tampered, raw.eventId]);
    });
    const res = await send(app(), 'POST', `/api/v1/subjects/${id}/erase`, {}, await dpo());
    assert.equal(res.statusCode, 200, `${res.body}\n${logs.filter((l) => l.includes('"level":50')).join('')}`);
    const cert = res.json<ErasureCertificate>();
    assert.equal(cert.capture.tampered.length, 1, res.body);
    // The event's values are sealed together (pii:v2, one tag): the entry names every field of the seal.
    assert.match(cert.capture.tampered[0]!, /^contact-\S+@0 data\.email,data\.firstName,data\.lastName PII_ERR_CIPHERTEXT_INVALID$/);
  });
  it('annals gdpr: certificate and verify exit 0 on an erased subject, 1 when refused or not erased, 2 on bad usage; export --out writes the document', async () => {
    const address = await app().listen({ port: 0, host: '127.0.0.1' });
    const tok = await token({ tenant: 'tenant-a', sub: 'dpo-1', roles: ['dpo'] });
    const salesTok = await token({ tenant: 'tenant-a', sub: 'sales-1', roles: ['sales'] });
    const out = `${process.env.TMPDIR ?? '/tmp'}/gdpr-export-${process.pid}.json`;
    const written: string[] = [];
    // Its own output sink: patching process.stdout would swallow node:test's reports of other tests.
    const io = { out: (t: string) => written.push(t), err: (t: string) => written.push(t) };
    assert.equal(await gdprCli(['verify', ada.contactId, '--api', address, '--token', tok], io), 0);
    assert.equal(await gdprCli(['certificate', ada.contactId, '--api', address, '--token', tok], io), 0);
    assert.equal(await gdprCli(['verify', ada.contactId, '--api', address, '--token', salesTok], io), 1, 'a sales token is refused (403)');
    assert.equal(await gdprCli(['certificate', '0190a000-0000-7000-8000-000000000000', '--api', address, '--token', tok], io), 1);
    assert.equal(await gdprCli(['erase', ada.contactId, '--reason', 'because', '--api', address, '--token', tok], io), 2);
    assert.equal(await gdprCli(['shred', ada.contactId, '--token', tok], io), 2);
    assert.equal(await gdprCli(['export', grace.leadId, '--out', out, '--api', address, '--token', tok], io), 0);
    const { readFile, rm } = await import('node:fs/promises');
    const doc = JSON.parse(await readFile(out, 'utf8')) as { erased: boolean; subject: { type: string } };
    await rm(out, { force: true });
    assert.equal(doc.subject.type, 'lead');
    assert.equal(doc.erased, true, 'the lead Grace was converted from was erased with her contact');
    assert.ok(!written.join('').includes('Lovelace'));
  });

  it('retention run over the API and `annals gdpr retention run`: dry run lists who and why, the run erases the caller\'s tenant only; 403, 400, usage', async () => {
    // A lead Lost 25 months ago in tenant-a, and one in tenant-b (never touched by tenant-a's run).
    const lost = async (tenant: string) => {
      const h = bearer(await token({ tenant, sub: 'sales-1', roles: ['sales'] }));
      const lead = await send(app(), 'POST', '/api/v1/leads', { name: 'Stale Lead', email: `stale@${tenant}.example`, source: 'web' }, h);
      assert.equal(lead.statusCode, 201, lead.body);
      const id = lead.json<{ id: string }>().id;
      assert.equal((await send(app(), 'POST', `/api/v1/leads/${id}/status`, { status: 'Lost', reason: 'no budget' }, h)).statusCode, 200);
      await within(20_000, 'the lost lead row', async () => ((await readSql.query<{ status: string }>(`SELECT status FROM leads WHERE lead_id = $1`, [id])).rows[0]?.status === 'Lost' ? true : undefined));
      await readSql.query(`UPDATE leads SET lost_at = lost_at - interval '25 months' WHERE lead_id = $1`, [id]);
      return id;
    };
    const mine = await lost('tenant-a');
    const theirs = await lost('tenant-b');
    const path = '/api/v1/gdpr/retention/run';
    assert.equal((await send(app(), 'POST', `${path}?dryRun=true`, undefined, await sales())).statusCode, 403, 'sales may not run retention');
    const bad = await send(app(), 'POST', `${path}?dryRun=maybe`, undefined, await dpo());
    assert.equal(bad.statusCode, 400, bad.body);
    assert.match(String(bad.headers['content-type']), /application\/problem\+json/);
    const dry = await send(app(), 'POST', `${path}?dryRun=true`, undefined, await dpo());
    assert.equal(dry.statusCode, 200, dry.body);
    const listed = dry.json<{ dryRun: boolean; due: Array<{ subjectId: string; rule: string; why: string }>; certified: unknown[] }>();
    assert.equal(listed.dryRun, true);
    assert.deepEqual(listed.due, [{ subjectId: mine, rule: 'lead-lost', why: 'lead Lost for more than 24 months' }], 'only the caller\'s tenant');
    assert.deepEqual(listed.certified, []);
    assert.equal(await keyStore.destruction({ tenantId: 'tenant-a', subjectId: mine }), undefined, 'a dry run erases nothing');
    const spec = (await app().inject('/docs/json')).json<{ paths: Record<string, { post: { responses: Record<string, { content: Record<string, unknown> }> } }> }>();
    assert.ok(spec.paths[path]?.post.responses['403']?.content['application/problem+json'], 'documented with problem+json errors');

    // The CLI test above already started listening.
    const address = `http://127.0.0.1:${(app().server.address() as { port: number }).port}`;
    const tok = await token({ tenant: 'tenant-a', sub: 'dpo-1', roles: ['dpo'] });
    const salesTok = await token({ tenant: 'tenant-a', sub: 'sales-1', roles: ['sales'] });
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
    const codes = [
      await gdprCli(['retention', 'run', '--dry-run', '--api', address, '--token', tok], io),
      await gdprCli(['retention', 'run', '--dry-run', '--force', '--api', address, '--token', tok], io),
      await gdprCli(['retention', 'purge', '--api', address, '--token', tok], io),
      await gdprCli(['retention', 'run', '--reason', 'objection', '--api', address, '--token', tok], io),
      await gdprCli(['verify', mine, '--dry-run', '--api', address, '--token', tok], io),
      await gdprCli(['retention', 'run', '--api', address, '--token', salesTok], io),
    ];
    assert.ok(out.join('').includes(`${mine}  lead-lost  lead Lost for more than 24 months: would be erased`), out.join(''));
    assert.ok(!out.join('').includes(theirs));
    out.length = 0;
    codes.push(await gdprCli(['retention', 'run', '--api', address, '--token', tok], io));
    assert.deepEqual(codes, [0, 2, 2, 2, 2, 1, 0], err.join(''));
    assert.match(err.join(''), /Unknown option '--force'[\s\S]*usage: annals gdpr/);
    assert.match(err.join(''), /HTTP 403 AUTH_ERR_\w+/, 'the 403 reason is printed');
    assert.match(out.join(''), new RegExp(`${mine}  lead-lost .*: erased, certified `));
    const status = await send(app(), 'GET', `/api/v1/subjects/${mine}/erasure`, undefined, await dpo());
    const cert = status.json<{ certificate: ErasureCertificate }>().certificate;
    assert.equal(cert.reason, 'retention_policy');
    assert.equal(cert.actor, 'dpo-1', 'the dpo who ran it is the actor');
    assert.equal(cert.clean, true);
    assert.equal(await keyStore.destruction({ tenantId: 'tenant-b', subjectId: theirs }), undefined, 'another tenant\'s subject is not erased');
    assert.deepEqual((await retentionCandidates(readSql, { now: new Date(), tenantId: 'tenant-b' })).map((c) => c.subjectId), [theirs]);
  });
});

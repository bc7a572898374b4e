import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { embeddedBus } from '../../../platform/bus/embedded.js';
import { kafkaBus } from '../../../platform/bus/kafka.js';
import { encodeEvent } from '../../../platform/bus/message.js';
import { busPiiScanner } from '../../../platform/bus/pii-scanner.js';
import { readTopic } from '../../../platform/bus/testing.js';
import type { Bus } from '../../../platform/bus/port.js';
import { topicOfStream } from '../../../platform/bus/topics.js';
import { createEventStore, type EventStore } from '../../../platform/event-store/event-store.js';
import { eventStorePiiScanner } from '../../../platform/event-store/pii-scanner.js';
import { postgresEventStore } from '../../../platform/event-store/postgres/adapter.js';
import { createPiiCodec } from '../../../platform/pii/codec.js';
import { sqlKeyStore, type KeyStore } from '../../../platform/pii/key-store.js';
import { deriveSubkey, parseMasterKey } from '../../../platform/pii/master-key.js';
import { hashMatcher, valueHash } from '../../../platform/pii/scanner.js';
import { pgClient, type SqlClient } from '../../../platform/sql/client.js';
import { requireEnv } from '../../../platform/testing/require-env.js';
import { projectorErasureWait } from '../../../projections/erasure-wait.js';
import { startProjections, type ProjectionsHandle } from '../../../projections/main.js';
import { postgresProjections } from '../../../projections/postgres/index.js';
import { postgresPiiScanners, postgresSubjectRows } from '../../../projections/postgres/pii-scanner.js';
import { sqlErasureRecords, type ErasureCertificate } from '../../../write-side/gdpr/certificates.js';
import { createErasureWorkflow, GDPR_VALUE_HASH_LABEL } from '../../../write-side/gdpr/workflow.js';
import { sqlRelayCheckpoint } from '../../../write-side/relay/checkpoint.js';
import { startRelay, type RelayHandle } from '../../../write-side/relay/main.js';
import { createWriteSide, type WriteSide } from '../../../write-side/service.js';
import { bearer, send, testConfig, token } from '../../../write-side/testing.js';

/**
 * The erasure on the real servers: event store, read models and key tables on PostgreSQL (databases of
 * their own, created for the run and dropped afterwards), and the bus scanner on the real Kafka topics.
 * The projectors consume an in-process bus here: on the shared Kafka their consumer groups
 * (`annals.projector.<name>`) would join the groups of whatever else runs on this machine.
 */
const MASTER = randomBytes(32).toString('base64url');
const silent = pino({ level: 'silent' });

describe('GDPR erasure on real PostgreSQL and Kafka', { timeout: 180_000 }, () => {
  const run = randomUUID().replaceAll('-', '').slice(0, 12);
  const dbs = [`annals_gdpr_es_${run}`, `annals_gdpr_read_${run}`];
  let admin: SqlClient;
  let esSql: SqlClient;
  let readSql: SqlClient;
  let keyStore: KeyStore;
  let store: EventStore;
  let relay: RelayHandle;
  let projections: ProjectionsHandle;
  let writeSide: WriteSide;
  let kafka: Bus;
  const bus = embeddedBus({ partitions: 3 });
  const tenant = `tenant-${run}`;

  before(async () => {
    const url = new URL(requireEnv('READ_DB_URL'));
    const brokers = requireEnv('KAFKA_BROKERS');
    admin = pgClient(url.toString(), { max: 1 });
    for (const db of dbs) await admin.exec(`CREATE DATABASE ${db}`);
    const at = (db: string) => Object.assign(new URL(url.toString()), { pathname: `/${db}` }).toString();
    esSql = pgClient(at(dbs[0]!), { max: 4 });
    readSql = pgClient(at(dbs[1]!), { max: 6 });
    keyStore = await sqlKeyStore(readSql, { masterKey: parseMasterKey(MASTER), cacheTtlMs: 0 });
    store = createEventStore(await postgresEventStore(esSql), { codec: createPiiCodec({ keyStore }) });
    kafka = kafkaBus({ brokers: brokers.split(','), clientId: `gdpr-int-${run}`, sessionTimeoutMs: 6_000, log: silent });
    relay = startRelay({ store, bus, checkpoint: await sqlRelayCheckpoint(readSql), log: silent, batchSize: 100 });
    projections = await startProjections({ readSql, store, bus, log: silent, stallMs: 60_000 });
    const records = await sqlErasureRecords(readSql);
    const workflow = createErasureWorkflow({
      store,
      keyStore,
      records,
      scanners: [eventStorePiiScanner(store), busPiiScanner(bus, { timeoutMs: 20_000 }), busPiiScanner(kafka, { timeoutMs: 60_000 }), ...postgresPiiScanners(readSql, postgresProjections)],
      waitForProjectors: projectorErasureWait(() => projections.status()),
      hashKey: deriveSubkey(MASTER, GDPR_VALUE_HASH_LABEL),
      clock: () => new Date(),
      log: silent,
    });
    writeSide = await createWriteSide({
      config: testConfig({ piiMasterKey: MASTER, conversionProcess: true }),
      logger: silent,
      eventStore: store,
      gdpr: { workflow, records, subjectRows: postgresSubjectRows(readSql, postgresProjections) },
    });
    await writeSide.app.ready();
  });
  after(async () => {
    await writeSide?.stop();
    await relay?.stop();
    await projections?.stop();
    await bus.close();
    await kafka?.close();
    await store?.close();
    await readSql?.close();
    for (const db of dbs) await admin?.exec(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin?.close();
  });

  it('a converted lead with interactions and consent: erased, every store (Kafka included) scans to zero, the other subject is untouched', async () => {
    const h = bearer(await token({ tenant, sub: 'sales-1', roles: ['sales'] }));
    const dpo = bearer(await token({ tenant, sub: 'dpo-1', roles: ['dpo'] }));
    const lead = await send(writeSide.app, 'POST', '/api/v1/leads', { name: 'Ada Lovelace', email: `ada-${run}@example.com`, company: 'Acme', source: 'web' }, h);
    assert.equal(lead.statusCode, 201, lead.body);
    const leadId = lead.json<{ id: string }>().id;
    const converted = await send(writeSide.app, 'POST', `/api/v1/leads/${leadId}/convert`, { deal: { name: 'Acme deal', value: { amountMinor: 5_000, currency: 'EUR' }, pipeline: 'default' } }, h);
    assert.equal(converted.statusCode, 200, converted.body);
    const contactId = converted.json<{ contactId: string }>().contactId;
    const other = await send(writeSide.app, 'POST', '/api/v1/contacts', { firstName: 'Grace', lastName: 'Hopper', email: `grace-${run}@example.com`, company: 'Acme' }, h);
    assert.equal(other.statusCode, 201, other.body);
    const otherId = other.json<{ id: string }>().id;
    const deadline = Date.now() + 30_000;
    while (!(await readSql.query(`SELECT 1 FROM contacts WHERE contact_id = $1`, [contactId])).rows.length) {
      if (Date.now() > deadline) throw new Error('the converted contact never reached the read model');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await send(writeSide.app, 'POST', `/api/v1/contacts/${contactId}/interactions`, { kind: 'call', channel: 'phone', summary: `pricing call ${run}` }, h)).statusCode, 200);
    assert.equal((await send(writeSide.app, 'POST', `/api/v1/consents/${contactId}/grant`, { purpose: 'sms', lawfulBasis: 'consent', source: `signed form ${run}`, noticeVersion: 'v1' }, h)).statusCode, 200);

    // What the relay would publish to Kafka: the stored bytes of the subject's streams (ciphertext).
    const streams = [`contact-${contactId}`, `lead-${leadId}`, `consent-${contactId}`];
    for (const s of streams) {
      const recs = await store.readStreamRaw(s);
      await kafka.ensureTopics([topicOfStream(s)!]);
      await kafka.publish(recs.map((r) => ({ topic: topicOfStream(r.streamId)!, ...encodeEvent(r) })));
    }

    // The raw topic bytes of the subject's messages (value and every header) hold no personal value in clear.
    const published = streams.length;
    const onTopics = (await Promise.all(['annals.contact.events', 'annals.lead.events', 'annals.consent.events'].map((t) => readTopic(kafka, t, 1_000_000, 10_000)))).flat();
    const mine = onTopics.filter((m) => m.key !== null && streams.includes(m.key));
    assert.ok(mine.length >= published, `the subject's messages are on Kafka (${mine.length})`);
    const bytes = JSON.stringify(mine.map((m) => [m.value, m.headers]));
    for (const plain of ['Ada Lovelace', `ada-${run}@example.com`, `pricing call ${run}`, `signed form ${run}`]) assert.ok(!bytes.includes(plain), `Kafka holds ${plain} in clear`);
    assert.match(bytes, /pii:v2:/);

    const res = await send(writeSide.app, 'POST', `/api/v1/subjects/${contactId}/erase`, {}, dpo);
    assert.equal(res.statusCode, 200, res.body);
    const cert = res.json<ErasureCertificate>();
    assert.equal(cert.clean, true);
    assert.deepEqual(cert.linkedSubjectIds, [leadId]);
    assert.equal(cert.stores.filter((s) => s.store === 'bus').length, 2, 'embedded bus and Kafka');
    const kafkaReport = cert.stores[2]!;
    assert.ok(kafkaReport.examined >= 5, `Kafka messages of the subject read: ${kafkaReport.examined}`);
    for (const s of cert.stores) assert.equal(s.found, 0, `${s.store}: ${s.locations.join(', ')}`);
    const grace = (await readSql.query<{ first_name: string }>(`SELECT first_name FROM contacts WHERE contact_id = $1`, [otherId])).rows[0];
    assert.equal(grace?.first_name, 'Grace');

    // The Kafka scanner does find a plaintext copy on the subject's partition (the guarantee is not vacuous).
    const planted = `leak-${run}@example.com`;
    await kafka.publish([{ topic: 'annals.contact.events', key: `contact-${contactId}`, value: JSON.stringify({ email: planted }), headers: {} }]);
    const m = hashMatcher('k', 's', [valueHash('k', 's', planted)]);
    const found = await busPiiScanner(kafka, { timeoutMs: 60_000 }).scan({ tenantId: tenant, subjectIds: [contactId], matcher: m });
    assert.equal(found.incomplete, undefined);
    assert.equal(found.found, 1);
  });
});

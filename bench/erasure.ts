/**
 * `npm run bench:erasure` — issue 10: the time from an erasure request to its certificate with N contacts
 * loaded (default 100 000, `BENCH_CONTACTS`), on the embedded adapters (PGlite + in-process bus) and on
 * the real servers (PostgreSQL event store and read models in databases of their own, created for the run
 * and dropped afterwards; the Kafka topics scanned by the bus scanner). Target: under 10 s on the real servers.
 *
 * Composition as in scripts/cli/commands/gdpr-erasure.{unit,int}.test.ts: the encrypting event store,
 * relay → in-process bus → every PostgreSQL projector, the workflow with one scanner per store. The load
 * is `ContactCreated` appended straight through the encrypting facade (one data key per contact, as the
 * write side does), not through HTTP; the projectors catch up before the timed request. The subject is
 * created over HTTP: a contact, three interactions and a consent; then ONE `POST /subjects/:id/erase` is
 * timed, and the certificate's per-store figures (time, records examined) are printed.
 *
 * `BENCH_TARGET` = real | embedded | both (default both); `BENCH_SMALL` (default 1 000, 0 = skip): the
 * same run again at that size, to see which figures grow with the store and which with the subject.
 * On the real servers every stored record is also published to this run's own Kafka topics
 * (`bench-<run>.annals.*`, deleted afterwards), as the relay would have: the Kafka scan reads the
 * subject's partitions from the beginning, so it is measured against a topic holding the whole store.
 * Env for real: READ_DB_URL, KAFKA_BROKERS (`eval "$(node scripts/cli/annals.mjs stack env)"`).
 * Writes bench/results/erasure.json.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { embeddedBus } from '../platform/bus/embedded.js';
import { kafkaBus } from '../platform/bus/kafka.js';
import { encodeEvent } from '../platform/bus/message.js';
import { busPiiScanner } from '../platform/bus/pii-scanner.js';
import type { Bus } from '../platform/bus/port.js';
import { topicOfStream } from '../platform/bus/topics.js';
import { createEventStore, type EventStore } from '../platform/event-store/event-store.js';
import { eventStorePiiScanner } from '../platform/event-store/pii-scanner.js';
import { postgresEventStore } from '../platform/event-store/postgres/adapter.js';
import { createPiiCodec } from '../platform/pii/codec.js';
import { sqlKeyStore } from '../platform/pii/key-store.js';
import { deriveSubkey, parseMasterKey } from '../platform/pii/master-key.js';
import type { PersonalDataScanner } from '../platform/pii/scanner.js';
import { openPglite, pgClient, pgliteClient, type SqlClient } from '../platform/sql/client.js';
import { projectorErasureWait } from '../projections/erasure-wait.js';
import { startProjections } from '../projections/main.js';
import { postgresProjections } from '../projections/postgres/index.js';
import { postgresPiiScanners, postgresSubjectRows } from '../projections/postgres/pii-scanner.js';
import { sqlErasureRecords, type ErasureCertificate } from '../write-side/gdpr/certificates.js';
import { createErasureWorkflow, GDPR_VALUE_HASH_LABEL } from '../write-side/gdpr/workflow.js';
import { sqlRelayCheckpoint } from '../write-side/relay/checkpoint.js';
import { startRelay } from '../write-side/relay/main.js';
import { createWriteSide } from '../write-side/service.js';
import { bearer, send, testConfig, token } from '../write-side/testing.js';
import { deleteTopics, privateTopics } from './lib/kafka-topics.js';

const CONTACTS = Number(process.env.BENCH_CONTACTS ?? 100_000);
const SMALL = Number(process.env.BENCH_SMALL ?? 1_000);
const TARGET = (process.env.BENCH_TARGET ?? 'both') as 'real' | 'embedded' | 'both';
if (!['real', 'embedded', 'both'].includes(TARGET)) throw new Error('BENCH_TARGET must be real, embedded or both');
if (!Number.isInteger(CONTACTS) || CONTACTS < 0) throw new Error('BENCH_CONTACTS must be a whole number');
const silent = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const need = (n: string) => {
  const v = process.env[n];
  if (!v) throw new Error(`${n} is not set: run \`eval "$(node scripts/cli/annals.mjs stack env)"\` first`);
  return v;
};
const say = (s: string) => process.stdout.write(`${s}\n`);

interface Result {
  readonly target: 'real' | 'embedded';
  readonly contacts: number;
  readonly loadMs: number;
  readonly catchUpMs: number;
  /** Messages published to this run's Kafka topics before the erasure (0: embedded). */
  readonly kafkaMessages: number;
  readonly wallMs: number;
  readonly projectorsWaitMs: number;
  readonly stores: ReadonlyArray<{ store: string; elapsedMs: number; examined: number; found: number }>;
  readonly clean: boolean;
}

async function once(target: 'real' | 'embedded', contacts: number): Promise<Result> {
  const MASTER = randomBytes(32).toString('base64url');
  const run = randomUUID().replaceAll('-', '').slice(0, 12);
  const tenant = `bench-${run}`;
  const topicPrefix = `bench-${run}.`;
  const dbs = [`annals_bench_es_${run}`, `annals_bench_read_${run}`];
  let admin: SqlClient | undefined;
  let esSql: SqlClient;
  let readSql: SqlClient;
  let kafka: Bus | undefined;
  if (target === 'real') {
    const url = new URL(need('READ_DB_URL'));
    admin = pgClient(url.toString(), { max: 1 });
    for (const db of dbs) await admin.exec(`CREATE DATABASE ${db}`);
    const at = (db: string) => Object.assign(new URL(url.toString()), { pathname: `/${db}` }).toString();
    esSql = pgClient(at(dbs[0]!), { max: 8 });
    readSql = pgClient(at(dbs[1]!), { max: 8 });
    kafka = privateTopics(kafkaBus({ brokers: need('KAFKA_BROKERS').split(','), clientId: `bench-erasure-${run}`, sessionTimeoutMs: 6_000, log: silent }), topicPrefix);
  } else {
    esSql = pgliteClient(await openPglite());
    readSql = pgliteClient(await openPglite());
  }
  const bus = embeddedBus({ partitions: 3 });
  const keyStore = await sqlKeyStore(readSql, { masterKey: parseMasterKey(MASTER), cacheTtlMs: 0 });
  const store: EventStore = createEventStore(await postgresEventStore(esSql), { codec: createPiiCodec({ keyStore }) });
  const relay = startRelay({ store, bus, checkpoint: await sqlRelayCheckpoint(readSql), log: silent, batchSize: 1_000 });
  const projections = await startProjections({ readSql, store, bus, log: silent, stallMs: 600_000 });
  const records = await sqlErasureRecords(readSql);
  const scanners: PersonalDataScanner[] = [eventStorePiiScanner(store), busPiiScanner(bus, { timeoutMs: 60_000 })];
  if (kafka) scanners.push(busPiiScanner(kafka, { timeoutMs: 60_000 }));
  scanners.push(...postgresPiiScanners(readSql, postgresProjections));
  const wait = projectorErasureWait(() => projections.status(), { pollMs: 20 });
  const workflow = createErasureWorkflow({
    store,
    keyStore,
    records,
    scanners,
    waitForProjectors: wait,
    hashKey: deriveSubkey(MASTER, GDPR_VALUE_HASH_LABEL),
    clock: () => new Date(),
    log: silent,
    projectorTimeoutMs: 120_000,
  });
  const writeSide = await createWriteSide({
    config: testConfig({ piiMasterKey: MASTER }),
    logger: silent,
    eventStore: store,
    gdpr: { workflow, records, subjectRows: postgresSubjectRows(readSql, postgresProjections) },
  });
  await writeSide.app.ready();
  try {
    // ── load: ContactCreated through the encrypting facade, 64 appends in flight ──
    const l0 = performance.now();
    const meta = (subjectId: string) => ({ tenantId: tenant, actor: { userId: 'bench', roles: ['sales' as const] }, correlationId: 'bench', causationId: 'bench', occurredAt: new Date().toISOString(), subjectId });
    const LANES = 64;
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < contacts; i = next++) {
        const id = randomUUID();
        await store.append(`contact-${id}`, [
          {
            type: 'ContactCreated',
            data: { contactId: id, firstName: `First${i}`, lastName: `Last${i}`, email: `contact${i}@example.com`, phone: '+1 555 0100', company: `Company ${i % 500}`, title: 'Buyer', customFields: {}, tags: ['bench'] },
            metadata: meta(id),
          },
        ]);
        if (i > 0 && i % 10_000 === 0) say(`  ${target}: ${i} contacts appended (${Math.round(performance.now() - l0)} ms)`);
      }
    };
    await Promise.all(Array.from({ length: LANES }, lane));
    const loadMs = Math.round(performance.now() - l0);
    const c0 = performance.now();
    const head = (await store.headPosition()) ?? 0n;
    const caught = await wait(head, [], 1_800_000);
    if (!caught.every((p) => p.passed)) throw new Error(`projectors did not catch up: ${JSON.stringify(caught)}`);
    const catchUpMs = Math.round(performance.now() - c0);
    say(`  ${target} N=${contacts}: loaded in ${loadMs} ms, projectors caught up in ${catchUpMs} ms`);
    let kafkaMessages = 0;
    if (kafka) {
      // What the relay publishes to Kafka: every stored record, its stored bytes (ciphertext), in order.
      for (let after: bigint | undefined, page; (page = await store.readAllRaw({ ...(after !== undefined ? { after } : {}), maxCount: 5_000 })).length > 0; after = page.at(-1)!.position) {
        const messages = page.flatMap((r) => {
          const topic = topicOfStream(r.streamId);
          return topic ? [{ topic, ...encodeEvent(r) }] : [];
        });
        await kafka.ensureTopics([...new Set(messages.map((m) => m.topic))]);
        await kafka.publish(messages);
        kafkaMessages += messages.length;
      }
      say(`  ${target} N=${contacts}: ${kafkaMessages} records published to ${topicPrefix}annals.*`);
    }

    // ── the subject: a contact, three interactions, a consent (over HTTP, like a user) ──
    const h = bearer(await token({ tenant, sub: 'sales-1', roles: ['sales'] }));
    const dpo = bearer(await token({ tenant, sub: 'dpo-1', roles: ['dpo'] }));
    const created = await send(writeSide.app, 'POST', '/api/v1/contacts', { firstName: 'Ada', lastName: 'Lovelace', email: `ada-${run}@example.com`, phone: '+44 20 7946 0001', company: 'Acme Engines' }, h);
    if (created.statusCode !== 201) throw new Error(`contact: ${created.statusCode} ${created.body}`);
    const contactId = created.json<{ id: string }>().id;
    const deadline = Date.now() + 60_000;
    while (!(await readSql.query(`SELECT 1 FROM contacts WHERE contact_id = $1`, [contactId])).rows.length) {
      if (Date.now() > deadline) throw new Error('the subject never reached the contacts read model');
      await new Promise((r) => setTimeout(r, 20));
    }
    for (let k = 0; k < 3; k++) {
      const r = await send(writeSide.app, 'POST', `/api/v1/contacts/${contactId}/interactions`, { kind: 'call', channel: 'phone', summary: `pricing call ${k} with Ada ${run}` }, h);
      if (r.statusCode !== 200) throw new Error(`interaction: ${r.statusCode} ${r.body}`);
    }
    const g = await send(writeSide.app, 'POST', `/api/v1/consents/${contactId}/grant`, { purpose: 'marketing_email', lawfulBasis: 'consent', source: `signed form ${run}`, noticeVersion: 'v1' }, h);
    if (g.statusCode !== 200) throw new Error(`consent: ${g.statusCode} ${g.body}`);
    if (kafka) {
      // And the subject's own records, appended since.
      for (const s of [`contact-${contactId}`, `consent-${contactId}`]) {
        const recs = await store.readStreamRaw(s);
        await kafka.ensureTopics([topicOfStream(s)!]);
        await kafka.publish(recs.map((r) => ({ topic: topicOfStream(r.streamId)!, ...encodeEvent(r) })));
      }
    }
    const settled = await wait((await store.headPosition()) ?? 0n, [], 60_000);
    if (!settled.every((p) => p.passed)) throw new Error('projectors did not apply the subject');

    // ── the timed erasure: request → certificate ──
    const t0 = performance.now();
    const res = await send(writeSide.app, 'POST', `/api/v1/subjects/${contactId}/erase`, {}, dpo);
    const wallMs = Math.round(performance.now() - t0);
    if (res.statusCode !== 200) throw new Error(`erase: ${res.statusCode} ${res.body}`);
    const cert = res.json<ErasureCertificate>();
    const stores = cert.stores.map((s, i) => ({ store: s.store === 'bus' ? (kafka && i === 2 ? 'bus:kafka' : 'bus:embedded') : s.store, elapsedMs: s.elapsedMs, examined: s.examined, found: s.found }));
    return { target, contacts, loadMs, catchUpMs, kafkaMessages, wallMs, projectorsWaitMs: cert.projectorsWaitMs, stores, clean: cert.clean };
  } finally {
    await writeSide.stop();
    await relay.stop();
    await projections.stop();
    await bus.close();
    await kafka?.close();
    if (kafka) await deleteTopics(need('KAFKA_BROKERS').split(','), topicPrefix, run).catch(() => {});
    await store.close();
    await readSql.close();
    if (admin) {
      for (const db of dbs) await admin.exec(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await admin.close();
    }
  }
}

const print = (r: Result) => {
  say(`\n${r.target}, ${r.contacts} contacts${r.kafkaMessages ? ` (${r.kafkaMessages} messages in Kafka)` : ''}: erasure request → certificate ${r.wallMs} ms (projector wait ${r.projectorsWaitMs} ms), clean=${r.clean}`);
  for (const s of r.stores) say(`  ${s.store.padEnd(24)} ${String(s.elapsedMs).padStart(7)} ms  examined ${String(s.examined).padStart(8)}  found ${s.found}`);
};

const results: Result[] = [];
const targets: Array<'real' | 'embedded'> = TARGET === 'both' ? ['real', 'embedded'] : [TARGET];
for (const t of targets) {
  for (const n of SMALL > 0 && SMALL < CONTACTS ? [SMALL, CONTACTS] : [CONTACTS]) {
    say(`${t}: loading ${n} contacts…`);
    const r = await once(t, n);
    print(r);
    results.push(r);
  }
}
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'erasure.json');
await mkdir(dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify({ at: new Date().toISOString(), results }, null, 2)}\n`);
say(`\nwritten ${out}`);

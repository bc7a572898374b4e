import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { embeddedBus } from '../../../platform/bus/embedded.js';
import { createEventStore, type EventStore } from '../../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../../platform/event-store/postgres/adapter.js';
import { createLogger } from '../../../platform/logging/logger.js';
import { createPiiCodec } from '../../../platform/pii/codec.js';
import { sqlKeyStore, type KeyStore } from '../../../platform/pii/key-store.js';
import { parseMasterKey } from '../../../platform/pii/master-key.js';
import { openPglite, pgliteClient, type SqlClient } from '../../../platform/sql/client.js';
import { startProjections, type ProjectionsHandle } from '../../../projections/main.js';
import type { ErasureCertificate } from '../../../write-side/gdpr/certificates.js';
import { sqlRelayCheckpoint } from '../../../write-side/relay/checkpoint.js';
import { startRelay, type RelayHandle } from '../../../write-side/relay/main.js';
import { bearer, send, testConfig, token } from '../../../write-side/testing.js';
import { cli, embeddedStartEnv, waitFor } from './testing.js';
import { createWriteSideService, type WriteSideService } from './write-side.js';

/**
 * `annals write-side`: the standalone command API serves erasure (issue 10), on embedded adapters. The
 * projections and the relay play the other services: same databases and bus, started and stopped apart
 * from the write side, which sees them only through the read database (their durable checkpoints).
 */
const MASTER = randomBytes(32).toString('base64url');

describe('standalone write side with GDPR erasure (embedded adapters)', { timeout: 120_000 }, () => {
  let esSql: SqlClient;
  let readSql: SqlClient;
  let store: EventStore;
  let keyStore: KeyStore;
  let relay: RelayHandle;
  let projections: ProjectionsHandle | undefined;
  let service: WriteSideService;
  const bus = embeddedBus({ partitions: 2 });
  const logger = createLogger({ level: 'silent', name: 'write-side-test' });
  const sales = async () => bearer(await token({ tenant: 'tenant-w', sub: 'sales-1', roles: ['sales'] }));
  const dpo = async () => bearer(await token({ tenant: 'tenant-w', sub: 'dpo-1', roles: ['dpo'] }));
  const app = () => service.writeSide.app;
  const contactRow = async (id: string) => (await readSql.query(`SELECT 1 FROM contacts WHERE contact_id = $1`, [id]).catch(() => ({ rows: [] }))).rows[0];
  const createContact = async (firstName: string, email: string) => {
    const res = await send(app(), 'POST', '/api/v1/contacts', { firstName, lastName: 'Standalone', email, company: 'Acme' }, await sales());
    assert.equal(res.statusCode, 201, res.body);
    return res.json<{ id: string }>().id;
  };

  before(async () => {
    esSql = pgliteClient(await openPglite());
    readSql = pgliteClient(await openPglite());
    keyStore = await sqlKeyStore(readSql, { masterKey: parseMasterKey(MASTER), cacheTtlMs: 0 });
    store = createEventStore(await postgresEventStore(esSql), { codec: createPiiCodec({ keyStore }) });
    relay = startRelay({ store, bus, checkpoint: await sqlRelayCheckpoint(readSql), log: logger, batchSize: 100 });
    projections = await startProjections({ readSql, store, bus, log: logger, stallMs: 60_000 });
    service = await createWriteSideService({
      config: testConfig({ piiMasterKey: MASTER }),
      logger,
      eventStore: store,
      keyStore,
      keySql: readSql,
      readSql,
      bus,
      // A read model the configuration names but no projector ever registered: nothing to wait for.
      readModels: { subjects: [{ name: 'never_registered', version: 1 }], scanners: [] },
      retention: { intervalMs: 0, perTenant: {} },
      projectorTimeoutMs: 3_000,
    });
    await app().ready();
  });
  after(async () => {
    await service?.stop();
    await relay?.stop();
    await projections?.stop();
    await bus.close();
    await store?.close();
    await readSql?.close();
  });

  it('erases a subject with the projectors in another "service": waits on their durable checkpoints, every store scans to zero', async () => {
    const id = await createContact('Margaret', 'margaret@standalone.example');
    await waitFor(async () => (await contactRow(id)) !== undefined, 20_000, () => 'the contact row');
    assert.equal((await send(app(), 'POST', `/api/v1/subjects/${id}/erase`, {}, await sales())).statusCode, 403, 'dpo or admin only');
    const res = await send(app(), 'POST', `/api/v1/subjects/${id}/erase`, {}, await dpo());
    assert.equal(res.statusCode, 200, res.body);
    const cert = res.json<ErasureCertificate>();
    assert.equal(cert.clean, true);
    assert.deepEqual(
      cert.projectors.map((p) => p.name).sort(),
      projections!.projectors.map((p) => p.name).sort(),
      'every running projector was waited for (and the never-registered one was not)',
    );
    assert.ok(cert.projectors.every((p) => p.passed));
    for (const s of cert.stores) assert.equal(s.found, 0, `${s.store}: ${s.locations.join(', ')}`);
    assert.ok(cert.stores.some((s) => s.store === 'postgres:contacts') && cert.stores.some((s) => s.store === 'bus'));
    const again = await send(app(), 'GET', `/api/v1/subjects/${id}/erasure`, undefined, await dpo());
    assert.equal(again.statusCode, 200, again.body);
  });

  it('with the projections service down the wait is bounded (503 GDPR_ERR_PROJECTORS_BEHIND); once it is back a retry completes', async () => {
    const id = await createContact('Katherine', 'katherine@standalone.example');
    await waitFor(async () => (await contactRow(id)) !== undefined, 20_000, () => 'the contact row');
    await projections!.stop();
    projections = undefined;
    const behind = await send(app(), 'POST', `/api/v1/subjects/${id}/erase`, {}, await dpo());
    assert.equal(behind.statusCode, 503, behind.body);
    assert.equal(behind.json<{ code: string }>().code, 'GDPR_ERR_PROJECTORS_BEHIND');
    projections = await startProjections({ readSql, store, bus, log: logger, stallMs: 60_000 });
    const res = await send(app(), 'POST', `/api/v1/subjects/${id}/erase`, {}, await dpo());
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json<ErasureCertificate>().clean, true);
  });
});

describe('annals write-side (the process; on the real servers: write-side.int.test.ts)', { timeout: 60_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'annals-write-side-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('refuses to start on a server event store without a shared key store (exit 78 naming KEYSTORE_URL)', async () => {
    const child = spawn(process.execPath, [cli, 'write-side'], {
      env: embeddedStartEnv(dir, 1, { EVENTSTORE_URL: 'postgres://nobody@127.0.0.1:1/none', AUTH_JWT_SECRET: 'x'.repeat(40), PII_MASTER_KEY: MASTER }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 78, stderr);
    assert.match(stderr, /KEYSTORE_URL/);
  });
});

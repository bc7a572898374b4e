import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { pgClient, type SqlClient } from '../sql/client.js';
import { freshDatabase } from '../testing/fresh-database.js';
import { requireEnv } from '../testing/require-env.js';
import { createPiiCodec, type EventToEncode } from './codec.js';
import { keyStoreMigrations, rotateMasterKey, sqlKeyStore, subjectKey } from './key-store.js';
import { parseMasterKey } from './master-key.js';
import { countingClient } from './testing.js';

/**
 * The key store on a real PostgreSQL server (READ_DB_URL's server, in a database of its own created for
 * the run and dropped afterwards). Two pools stand for two processes: real concurrent transactions,
 * real snapshots, which PGlite's single connection cannot show.
 */
describe('key store on PostgreSQL (two processes, one database)', () => {
  const master = parseMasterKey(randomBytes(32).toString('base64'));
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let a: SqlClient;
  let b: SqlClient;

  before(async () => {
    db = await freshDatabase(requireEnv('READ_DB_URL'), 'annals_pii_test');
    a = pgClient(db.url, { max: 8, applicationName: 'pii-test-a' });
    b = pgClient(db.url, { max: 8, applicationName: 'pii-test-b' });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  it('applies its migration once even when two processes start at once', async () => {
    await Promise.all([sqlKeyStore(a, { masterKey: master }), sqlKeyStore(b, { masterKey: master })]);
    const { rows } = await a.query<{ n: string; names: string }>(
      `SELECT count(*)::text AS n, count(DISTINCT name)::text AS names FROM annals_migrations WHERE name LIKE 'pii/%'`,
    );
    assert.deepEqual({ ...rows[0] }, { n: String(keyStoreMigrations.length), names: String(keyStoreMigrations.length) }, 'each migration recorded once');
  });

  it('a create racing a destroy in another process never leaves both a key and a tombstone', async () => {
    const pa = await sqlKeyStore(a, { masterKey: master, migrate: false });
    const pb = await sqlKeyStore(b, { masterKey: master, migrate: false });
    const tenantId = `t-${randomUUID()}`;
    const subjects = Array.from({ length: 40 }, () => ({ tenantId, subjectId: randomUUID() }));
    const outcomes = await Promise.allSettled(
      subjects.flatMap((s) => [pa.getOrCreate(s), pb.destroy(s, { actor: 'dpo', reason: 'race' }), pb.getOrCreate(s), pa.getOrCreate(s)]),
    );
    for (const o of outcomes) if (o.status === 'rejected') assert.equal((o.reason as { code?: string }).code, 'PII_ERR_SUBJECT_ERASED', String(o.reason));
    const { rows } = await a.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM pii_data_keys k JOIN pii_key_tombstones t USING (tenant_id, subject_id) WHERE k.tenant_id = $1`,
      [tenantId],
    );
    assert.equal(rows[0]!.n, '0');
    const tombs = await a.query<{ n: string }>(`SELECT count(*)::text AS n FROM pii_key_tombstones WHERE tenant_id = $1`, [tenantId]);
    assert.equal(tombs.rows[0]!.n, '40', 'one tombstone per subject, however many destroys raced');
  });

  it('a process that cached a key stops decrypting within PII_KEY_CACHE_TTL_MS of the destroy in another process', async () => {
    const ttlMs = 300;
    const reader = createPiiCodec({ keyStore: await sqlKeyStore(b, { masterKey: master, cacheTtlMs: ttlMs, migrate: false }) });
    const writerKeys = await sqlKeyStore(a, { masterKey: master, migrate: false });
    const writer = createPiiCodec({ keyStore: writerKeys });
    const leadId = randomUUID();
    const e: EventToEncode = {
      streamId: `lead-${leadId}`,
      eventId: randomUUID(),
      type: 'LeadCaptured',
      schemaVersion: 1,
      data: { leadId, name: 'Ada', email: 'ada@example.com', source: 'web', capturedAt: '2026-11-30T10:00:00.000Z' },
      metadata: { tenantId: 'acme', subjectId: leadId },
    };
    const record = {
      eventId: e.eventId,
      type: e.type,
      schemaVersion: 1,
      streamId: e.streamId,
      streamRevision: 0n,
      position: 1n,
      data: JSON.stringify(await writer.encode(e)),
      metadata: JSON.stringify(e.metadata),
    };
    assert.equal((await reader.decode(record)).erased, false);
    await writerKeys.destroy({ tenantId: 'acme', subjectId: leadId }, { actor: 'dpo', reason: 'erasure' });
    const destroyedAt = performance.now();
    // Decode in a loop like a projection would; bounded by a deadline well past the documented bound.
    let erasedAfterMs: number | undefined;
    while (performance.now() - destroyedAt < ttlMs + 5_000) {
      if ((await reader.decode(record)).erased) {
        erasedAfterMs = performance.now() - destroyedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok(erasedAfterMs !== undefined, 'the other process never stopped decrypting');
    assert.ok(erasedAfterMs <= ttlMs + 100, `stopped decrypting after ${erasedAfterMs.toFixed(0)} ms (bound ${ttlMs} ms)`);
  });

  it('looks up many subjects in one statement on the server too', async () => {
    const writer = await sqlKeyStore(a, { masterKey: master, migrate: false });
    const tenantId = `t-${randomUUID()}`;
    const subjects = Array.from({ length: 300 }, () => ({ tenantId, subjectId: randomUUID() }));
    await Promise.all(subjects.map((s) => writer.getOrCreate(s)));
    const { client, statements } = countingClient(b);
    const reader = await sqlKeyStore(client, { masterKey: master, migrate: false });
    const found = await reader.lookup(subjects);
    assert.equal(statements.length, 1);
    assert.ok(subjects.every((s) => found.get(subjectKey(s))?.state === 'live'));
  });

  it('prepares key creation and not the lookup (a generic plan of a table read could keep a seq scan)', async () => {
    const one = pgClient(db.url, { max: 1, applicationName: 'pii-test-prepared' });
    try {
      const store = await sqlKeyStore(one, { masterKey: master, cacheTtlMs: 0 });
      const tenantId = `t-${randomUUID()}`;
      for (let i = 0; i < 7; i++) {
        const ref = { tenantId, subjectId: randomUUID() };
        await store.getOrCreate(ref);
        await store.lookup([ref, { tenantId, subjectId: randomUUID() }]);
      }
      const { rows } = await one.query<{ statement: string }>(`SELECT statement FROM pg_prepared_statements`);
      assert.deepEqual(
        rows.map((r) => r.statement.replace(/\(.*$/s, '')),
        ['SELECT * FROM pii_create_keys'],
      );
    } finally {
      await one.close();
    }
  });

  it('rotates while another process keeps reading with the new key and the old one as previous', async () => {
    const next = parseMasterKey(randomBytes(32).toString('hex'));
    const during = await sqlKeyStore(b, { masterKey: next, previousMasterKeys: [master], migrate: false, cacheTtlMs: 0 });
    const tenantId = `t-${randomUUID()}`;
    const old = await sqlKeyStore(a, { masterKey: master, migrate: false });
    const subjects = Array.from({ length: 25 }, () => ({ tenantId, subjectId: randomUUID() }));
    const keys = await Promise.all(subjects.map((s) => old.getOrCreate(s)));
    const [report] = await Promise.all([
      rotateMasterKey(a, master, next, { batchSize: 7 }),
      (async () => {
        for (const [i, s] of subjects.entries()) assert.ok(keys[i]!.equals(await during.getOrCreate(s)));
      })(),
    ]);
    assert.ok(report.rewrapped >= 25);
    const left = await a.query<{ n: string }>(`SELECT count(*)::text AS n FROM pii_data_keys WHERE master_key_id = $1`, [master.id]);
    assert.equal(left.rows[0]!.n, '0');
    const fresh = await sqlKeyStore(b, { masterKey: master, migrate: false });
    await assert.rejects(fresh.lookup([subjects[0]!]), (e: unknown) => (e as { code?: string }).code === 'PII_ERR_MASTER_KEY_MISMATCH');
  });
});

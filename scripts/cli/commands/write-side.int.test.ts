import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { pgClient, type SqlClient } from '../../../platform/sql/client.js';
import { requireEnv } from '../../../platform/testing/require-env.js';
import { bearer, TEST_AUDIENCE, TEST_ISSUER, TEST_SECRET, token } from '../../../write-side/testing.js';
import { cli, waitFor } from './testing.js';

/**
 * `annals write-side` as compose runs it: its own process on the real servers (event store and read
 * database on PostgreSQL, databases of their own for the run; the bus scanner on the real Kafka). It serves
 * erasure — not 501 — and stops cleanly on SIGTERM.
 */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });

describe('annals write-side on the real servers', { timeout: 180_000 }, () => {
  const run = randomUUID().replaceAll('-', '').slice(0, 12);
  const dbs = [`annals_ws_es_${run}`, `annals_ws_read_${run}`];
  let admin: SqlClient;
  const at = (db: string) => Object.assign(new URL(requireEnv('READ_DB_URL')), { pathname: `/${db}` }).toString();

  before(async () => {
    admin = pgClient(requireEnv('READ_DB_URL'), { max: 1 });
    for (const db of dbs) await admin.exec(`CREATE DATABASE ${db}`);
  });
  after(async () => {
    for (const db of dbs) await admin.exec(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => {});
    await admin.close();
  });

  it('serves erasure (404 for an unknown subject; an unscannable read database refuses the certificate), stops on SIGTERM', async () => {
    const port = await freePort();
    const env = {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      // info: if it ever fails to stop, the output shows how far its shutdown got.
      LOG_LEVEL: 'info',
      EVENTSTORE_URL: at(dbs[0]!),
      READ_DB_URL: at(dbs[1]!),
      KEYSTORE_URL: '',
      KAFKA_BROKERS: requireEnv('KAFKA_BROKERS'),
      ELASTICSEARCH_URL: '',
      CLICKHOUSE_URL: '',
      AUTH_JWT_SECRET: TEST_SECRET,
      AUTH_ISSUER: TEST_ISSUER,
      AUTH_AUDIENCE: TEST_AUDIENCE,
      PII_MASTER_KEY: randomBytes(32).toString('base64'),
      GDPR_RETENTION_INTERVAL_MS: '0',
    };
    const child = spawn(process.execPath, [cli, 'write-side'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => (stderr += String(d)));
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await fetch(`${base}/healthz`)).ok, 60_000, () => `annals write-side did not answer /healthz\n${stderr}`);
      const tenant = `tenant-${run}`;
      const post = async (path: string, body: unknown, roles: ('sales' | 'dpo')[]) =>
        fetch(`${base}${path}`, { method: 'POST', headers: { ...bearer(await token({ tenant, sub: 'u-1', roles })), 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const created = await post('/api/v1/contacts', { firstName: 'Dorothy', lastName: 'Vaughan', email: `dv-${run}@example.com` }, ['sales']);
      assert.equal(created.status, 201, await created.clone().text());
      const { id } = (await created.json()) as { id: string };
      const unknown = await post(`/api/v1/subjects/${randomUUID()}/erase`, {}, ['dpo']);
      assert.equal(unknown.status, 404, await unknown.text());
      // No projections service ever ran on this read database: the read models cannot be scanned, so the
      // erasure is refused rather than certified (the full flow on embedded adapters: write-side.unit.test.ts).
      const erased = await post(`/api/v1/subjects/${id}/erase`, {}, ['dpo']);
      assert.equal(erased.status, 500, `${await erased.clone().text()}\n${stderr}`);
      const problem = (await erased.json()) as { code: string };
      assert.equal(problem.code, 'GDPR_ERR_SCAN_FOUND_DATA');
    } finally {
      child.kill('SIGTERM');
    }
    // Unref'd: a child that exits at once must not hold this test process for the rest of the 30 s.
    assert.equal(await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 30_000).unref())]), 0, stderr);
  });
});

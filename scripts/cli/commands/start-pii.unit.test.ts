import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli, embeddedStartEnv, runCli, waitFor } from './testing.js';
import { pino } from 'pino';
import { createEventStore } from '../../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../../platform/event-store/postgres/adapter.js';
import { openPii } from '../../../platform/pii/open.js';
import { openPglite, pgliteClient } from '../../../platform/sql/client.js';
import { rebuildProjection } from '../../../projections/kernel/replay.js';
import { contactsProjection } from '../../../projections/postgres/index.js';

const port = 19_000 + Math.floor(Math.random() * 1000);
const base = `http://127.0.0.1:${port}`;

/**
 * Crypto-shredding end to end on `npm start`'s embedded pipeline (issue 10): a contact created over HTTP
 * reaches the contacts read model in clear, while no file of the event store or of the bus holds any of
 * its personal values. Once the subject's key is destroyed, a rebuild of the read model from the event
 * store yields "[erased]" where the values were — the old values are gone, not merely hidden.
 */
const secret = { firstName: 'Augusta', lastName: 'Plaintextova', email: 'augusta.plaintextova@example.com', phone: '+44 20 7946 0958' };

/** Every file under `dir` whose bytes contain one of `needles` (UTF-8). */
async function filesHolding(dir: string, needles: readonly string[]): Promise<string[]> {
  const hits: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const bytes = await readFile(path);
    for (const n of needles) if (bytes.includes(Buffer.from(n, 'utf8'))) hits.push(`${path}: ${n}`);
  }
  return hits;
}

describe('annals start: personal data encrypted in the store and on the bus, erasable', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'annals-start-pii-'));
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('store and bus hold ciphertext only, the read model plaintext; after key destruction a rebuild yields [erased]', { timeout: 240_000 }, async () => {
    const env = embeddedStartEnv(dataDir, port, { PII_MASTER_KEY: '' });
    const child = spawn(process.execPath, [cli, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += String(d)));
    child.stderr.on('data', (d) => (output += String(d)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    let id = '';
    try {
      await waitFor(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.ok === true, 120_000, () => output);
      const token = await runCli(['token', '--tenant', 'acme', '--sub', 'u-1', '--roles', 'sales'], env);
      const res = await fetch(`${base}/api/v1/contacts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token.trim()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...secret, company: 'Analytical Engines' }),
      });
      assert.equal(res.status, 201, await res.clone().text());
      ({ id } = (await res.json()) as { id: string });
      // The contacts projector has applied it once its checkpoint shows on /metrics with a position.
      await waitFor(async () => /annals_projection_applied_position\{[^}]*contacts[^}]*\} [1-9]/.test(await (await fetch(`${base}/metrics`)).text()), 30_000, () => output);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, `graceful stop\n${output}`);

    const needles = [secret.lastName, secret.email, secret.phone, 'Plaintextova'];
    assert.deepEqual(await filesHolding(join(dataDir, 'eventstore'), needles), [], 'the event store files hold no personal value');
    assert.deepEqual(await filesHolding(join(dataDir, 'bus'), needles), [], 'the bus log holds no personal value');

    const read = pgliteClient(await openPglite(join(dataDir, 'read')));
    const storeSql = pgliteClient(await openPglite(join(dataDir, 'eventstore')));
    try {
      const contacts = async () => (await read.query<{ first_name: string; last_name: string; email: string | null }>(`SELECT first_name, last_name, email FROM contacts WHERE contact_id = $1`, [id])).rows;
      assert.deepEqual(await contacts(), [{ first_name: secret.firstName, last_name: secret.lastName, email: secret.email }], 'the read model holds plaintext');

      // Erase: destroy the subject's key (what `annals gdpr erase` will do), with the process's own master key.
      const masterKey = (await readFile(join(dataDir, 'secrets', 'pii-master-key'), 'utf8')).trim();
      const { keyStore, codec } = await openPii(read, { masterKey });
      await keyStore.destroy({ tenantId: 'acme', subjectId: id }, { actor: 'dpo-1', reason: 'erasure request #42' });

      const store = createEventStore(await postgresEventStore(storeSql), { codec });
      const [created] = await store.readStream(`contact-${id}`);
      assert.equal(created?.erased, true);
      const rebuilt = await rebuildProjection({ sql: read, store, projection: contactsProjection, log: pino({ level: 'silent' }) });
      assert.deepEqual(rebuilt.failures, [], 'an erased subject is no failure');
      assert.deepEqual(await contacts(), [{ first_name: '[erased]', last_name: '[erased]', email: '[erased]' }], 'the rebuilt read model holds markers, not the old values');
    } finally {
      await read.close();
      await storeSql.close();
    }
  });
});

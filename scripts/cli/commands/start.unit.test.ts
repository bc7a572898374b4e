import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { embeddedStartEnv, runCli, startAndWaitReady } from './testing.js';
import { openPglite, pgliteClient } from '../../../platform/sql/client.js';

const port = 18_000 + Math.floor(Math.random() * 1000);
const base = `http://127.0.0.1:${port}`;

/**
 * `npm start` as a new user runs it: one process on the embedded adapters in a fresh DATA_DIR. A command
 * goes in over HTTP and comes out in the PostgreSQL read model, through the relay, the in-process bus and
 * the projector; after a graceful stop the data is on disk.
 */
describe('annals start (one process, embedded adapters)', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'annals-start-'));
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves a command and projects it into the read model', { timeout: 180_000 }, async () => {
    const env = embeddedStartEnv(dataDir, port);
    const { child, output, exited } = await startAndWaitReady(env, base);
    let id = '';
    try {
      assert.match(output(), /AUTH_JWT_SECRET is not set/, 'the generated development secret is announced');

      const token = await runCli(['token', '--tenant', 'acme', '--sub', 'u-1', '--roles', 'sales'], { ...env });
      const res = await fetch(`${base}/api/v1/contacts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token.trim()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', company: 'Analytical Engines' }),
      });
      assert.equal(res.status, 201, await res.clone().text());
      ({ id } = (await res.json()) as { id: string });

      // Read-your-writes is a later issue (X-Consistent-With); here we only wait for the pipeline.
      await new Promise((r) => setTimeout(r, 5_000));
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /annals_commands_total\{command="CreateContact",outcome="accepted"\} 1/);
      assert.match(metrics, /annals_projection_applied_position\{[^}]*contacts[^}]*\} \d+/, 'projector checkpoints on the same /metrics');
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, `graceful stop\n${output()}`);

    const read = pgliteClient(await openPglite(join(dataDir, 'read')));
    try {
      const { rows } = await read.query<{ id: string; first_name: string; company: string; tenant_id: string }>(`SELECT contact_id::text AS id, first_name, company, tenant_id FROM contacts`);
      assert.deepEqual(rows, [{ id, first_name: 'Ada', company: 'Analytical Engines', tenant_id: 'acme' }]);
    } finally {
      await read.close();
    }

    const status = await runCli(['replay', 'status'], env);
    // read model, store, version code/live, generation, checkpoint, lag events, lag s, dead letters, state
    assert.match(status, /^contacts\s+postgres\s+1\/1\s+1\s+\d+\s+0\s+\S+\s+0\s+caught up/m, status);
  });
});

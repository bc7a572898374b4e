import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { testApp, token, type TestApp } from '../../../write-side/testing.js';

const cli = fileURLToPath(new URL('../annals.mjs', import.meta.url));

function runCli(args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `annals import contacts` against a command API listening on an ephemeral port. */
describe('annals import contacts', () => {
  let t: TestApp;
  let dir: string;
  let api: string;
  let env: Record<string, string | undefined>;
  before(async () => {
    t = await testApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    api = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    env = { ANNALS_TOKEN: await token({ roles: ['sales'] }), ANNALS_API: api };
    dir = await mkdtemp(join(tmpdir(), 'annals-import-'));
  });
  after(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('streams the file, prints the summary and the rows that were not created, writes the report', async () => {
    const file = join(dir, 'contacts.csv');
    await writeFile(file, 'Given name,Surname,E-mail\nAda,Lovelace,ada@cli.example\n,Nobody,bad\nAda,L,ADA@cli.example\n');
    const out = await runCli(['import', 'contacts', file, '--map', 'Given name:firstName,Surname:lastName'], env);
    assert.equal(out.code, 1, 'a rejected row → exit 1');
    assert.match(out.stdout, /created 1, updated 0, merged 0, skipped 1, rejected 1/);
    assert.match(out.stdout, /row 2 \(line 3\): rejected CONTACT_IMPORT_ERR_INVALID_ROW — Given name: firstName is required; E-mail: email must be a valid email address/);
    assert.match(out.stdout, /row 3 \(line 4\): skipped .* \(matched by email\)/);

    const reportFile = join(dir, 'report.json');
    const again = await runCli(['import', 'contacts', file, '--map', 'Given name:firstName', '--map', 'Surname:lastName', '--on-duplicate', 'merge', '--report', reportFile], env);
    assert.match(again.stdout, /created 0, updated 0, merged 2, skipped 0, rejected 1/);
    const report = JSON.parse(await readFile(reportFile, 'utf8')) as { rows: { status: string }[] };
    assert.deepEqual(report.rows.map((r) => r.status), ['merged', 'rejected', 'merged']);
  });

  it('clear errors: the API\'s problem, a missing file, a missing token, an unreachable API', async () => {
    const file = join(dir, 'no-header.csv');
    await writeFile(file, 'Shoe size\n38\n');
    const bad = await runCli(['import', 'contacts', file], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /HTTP 400 CONTACT_IMPORT_ERR_NO_USABLE_COLUMNS: no column feeds firstName/);

    const missing = await runCli(['import', 'contacts', join(dir, 'nope.csv')], env);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read .*nope\.csv: ENOENT/);

    const noToken = await runCli(['import', 'contacts', file], { ...env, ANNALS_TOKEN: '' });
    assert.equal(noToken.code, 2);
    assert.match(noToken.stderr, /no token/);

    const down = await runCli(['import', 'contacts', file, '--api', 'http://127.0.0.1:9'], env);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot reach http:\/\/127\.0\.0\.1:9: connection refused/);
  });
});

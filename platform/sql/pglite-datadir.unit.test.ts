import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openPglite } from './client.js';

// A new data directory is initialised in a child process (PGlite's initdb memory leaves with it) and
// renamed into place only when complete.
describe('openPglite(dataDir)', () => {
  const roots: string[] = [];
  const root = async () => {
    const r = await mkdtemp(join(tmpdir(), 'annals-pglite-'));
    roots.push(r);
    return r;
  };
  after(() => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));

  it('initialises a new directory (also an empty one made beforehand), keeps data across reopen, leaves no staging dir', async () => {
    const r = await root();
    const dir = join(r, 'db');
    await mkdir(dir);
    const db = await openPglite(dir);
    await db.exec(`CREATE TABLE kept (v text); INSERT INTO kept VALUES ('survives')`);
    await db.close();
    assert.deepEqual(await readdir(r), ['db']);
    const again = await openPglite(dir);
    assert.deepEqual((await again.query<{ v: string }>(`SELECT v FROM kept`)).rows, [{ v: 'survives' }]);
    await again.close();
  });

  it('refuses a non-empty directory that is not a database, naming it, and leaves it as it was', async () => {
    const r = await root();
    const dir = join(r, 'not-a-db');
    await mkdir(dir);
    await writeFile(join(dir, 'notes.txt'), 'mine');
    await assert.rejects(openPglite(dir), (e: Error) => e.message.includes(dir));
    assert.deepEqual(await readdir(dir), ['notes.txt']);
    assert.deepEqual(await readdir(r), ['not-a-db'], 'no staging directory left behind');
  });
});

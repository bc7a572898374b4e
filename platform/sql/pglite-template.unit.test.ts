import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { openPglite, PGLITE_SHARED_BUFFERS } from './client.js';
import { isWholeFile, pgliteTemplateBytes, pgliteTemplateFile, pgliteTemplatePath, verified } from './pglite-template.js';

// A new PGlite cluster is loaded from a per-machine template instead of an initdb (pglite-template.ts). These
// tests point the cache at a directory of their own (XDG_CACHE_HOME, read at each call), so they build their
// template and never touch the machine's.
describe('PGlite cluster template', { timeout: 240_000 }, () => {
  const startParams = [...PGlite.defaultStartParams, '-c', `shared_buffers=${PGLITE_SHARED_BUFFERS}`];
  let root: string;
  let cache: string;
  const previous = process.env.XDG_CACHE_HOME;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'annals-pglite-template-'));
    cache = join(root, 'cache');
    process.env.XDG_CACHE_HOME = cache;
  });
  after(async () => {
    if (previous === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = previous;
    await rm(root, { recursive: true, force: true });
  });
  const templateFile = () => pgliteTemplatePath(startParams, join(cache, 'annals', 'pglite'));

  // What initdb decided: every setting not at its built-in default, the encodings and locales, the catalog.
  const identity = async (db: PGlite) => ({
    settings: (await db.query(`SELECT name, setting FROM pg_settings WHERE source NOT IN ('default', 'session', 'client') AND name <> 'data_directory' ORDER BY name`)).rows,
    database: (await db.query(`SELECT datname, pg_encoding_to_char(encoding) AS enc, datcollate, datctype FROM pg_database ORDER BY datname`)).rows,
    catalog: (await db.query(`SELECT count(*)::int AS n FROM pg_class`)).rows,
  });

  it('two processes building it at once leave one whole template; a cluster from it is the cluster initdb makes (which runs without a writable cache)', async () => {
    // The two entry points (in memory: the bytes; a new data directory: the file, checked piece by piece).
    const [bytes, path] = await Promise.all([pgliteTemplateBytes(startParams), pgliteTemplateFile(startParams)]);
    assert.ok(bytes && bytes.length > 1_000_000, 'the in-memory entry gets the tarball');
    assert.equal(path, await templateFile());
    assert.deepEqual(await readdir(join(cache, 'annals', 'pglite')), [path.split('/').pop()], 'no staging file left behind');
    const built = await stat(path);
    assert.equal(await pgliteTemplateFile(startParams), path);
    assert.ok(await pgliteTemplateBytes(startParams));
    assert.equal((await stat(path)).mtimeMs, built.mtimeMs, 'a whole template is reused, not rebuilt');

    // initdb's cluster: what openPglite makes when there is no writable cache directory, hence no template.
    const blocker = join(root, 'a-file');
    await writeFile(blocker, 'not a directory');
    process.env.XDG_CACHE_HOME = join(blocker, 'cache');
    let fromInitdb: PGlite;
    try {
      assert.equal(await pgliteTemplateBytes(startParams), undefined, 'no template without a writable cache');
      assert.equal(await pgliteTemplateFile(startParams), undefined);
      fromInitdb = await openPglite();
    } finally {
      process.env.XDG_CACHE_HOME = cache;
    }
    const fromTemplate = await openPglite();
    try {
      assert.deepEqual(await identity(fromTemplate), await identity(fromInitdb));
      // Extensions, encodings and refusals behave as on initdb's cluster: pg_trgm loads, UTF-8 text round-trips, NUL is refused.
      await fromTemplate.exec(`CREATE EXTENSION pg_trgm; CREATE TABLE t (v text)`);
      await fromTemplate.query(`INSERT INTO t VALUES ($1)`, ['zö \u202Eevil\u202C 😀']);
      assert.deepEqual((await fromTemplate.query(`SELECT v, similarity(v, 'zö evil') > 0 AS close FROM t`)).rows, [{ v: 'zö \u202Eevil\u202C 😀', close: true }]);
      await assert.rejects(fromTemplate.query(`SELECT $1::text AS v`, ['a\u0000b']), /0x00|null character/i);
    } finally {
      await fromInitdb.close();
      await fromTemplate.close();
    }
  });

  it('each cluster from the template is its own: a write in one is not in the next', async () => {
    const one = await openPglite();
    await one.exec(`CREATE TABLE mine (v int); INSERT INTO mine VALUES (1)`);
    await one.close();
    const two = await openPglite();
    try {
      assert.deepEqual((await two.query(`SELECT to_regclass('mine') AS t`)).rows, [{ t: null }]);
    } finally {
      await two.close();
    }
  });

  const reopens = async (dir: string) => {
    const disk = await openPglite(dir);
    try {
      await disk.exec(`CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)`);
    } finally {
      await disk.close();
    }
    const reopened = await openPglite(dir);
    try {
      assert.deepEqual((await reopened.query(`SELECT v FROM kept`)).rows, [{ v: 7 }]);
    } finally {
      await reopened.close();
    }
  };
  const answers = async () => {
    const db = await openPglite();
    try {
      assert.deepEqual((await db.query(`SELECT 1 AS one`)).rows, [{ one: 1 }]);
    } finally {
      await db.close();
    }
  };

  it('a damaged template (a byte changed, or cut short) is refused before PGlite reads it, rebuilt, and the database opened meanwhile is whole', async () => {
    const file = await templateFile();
    const whole = await readFile(file);
    assert.ok(verified(whole));
    assert.equal(verified(whole.subarray(0, whole.length - 512)), undefined, 'cut short by a block');
    assert.equal(verified(whole.subarray(0, whole.length >> 1)), undefined, 'cut in half');
    const flipped = Buffer.from(whole);
    flipped[flipped.length >> 1]! ^= 0x01;
    assert.equal(verified(flipped), undefined, 'one changed byte');
    await writeFile(file, flipped);
    await answers();
    assert.ok(verified(await readFile(file)), 'rebuilt whole by the in-memory open');

    // The piece-by-piece check of a new data directory's entry refuses the same damage, and rebuilds.
    const copy = join(root, 'copy.tar');
    for (const [damaged, what] of [[whole.subarray(0, whole.length - 512), 'cut short by a block'], [whole.subarray(0, whole.length >> 1), 'cut in half'], [flipped, 'one changed byte']] as const) {
      await writeFile(copy, damaged);
      assert.equal(await isWholeFile(copy), false, what);
    }
    await writeFile(copy, whole);
    assert.equal(await isWholeFile(copy), true);
    await writeFile(file, flipped);
    assert.equal(await pgliteTemplateFile(startParams), file);
    assert.ok(verified(await readFile(file)), 'rebuilt whole by the data-directory entry');
  });

  it('a template PGlite refuses, though whole and shaped like a tar, is dropped: initdb makes the database', async () => {
    const file = await templateFile();
    // The template's first entry alone, as a complete tar with a valid checksum: PGlite loads it and fails to start.
    const tar = (await pgliteTemplateBytes(startParams))!;
    const size = parseInt(tar.toString('latin1', 124, 136).replace(/\0.*$/, '').trim(), 8);
    const forged = Buffer.concat([tar.subarray(0, 512 + Math.ceil(size / 512) * 512), Buffer.alloc(1024)]);
    const forge = () => writeFile(file, Buffer.concat([forged, createHash('sha256').update(forged).digest()]));
    await forge();
    assert.ok(verified(await readFile(file)), 'the forged file passes the checks before PGlite');
    await answers();
    await assert.rejects(stat(file), { code: 'ENOENT' }, 'dropped by the in-memory open');
    await forge();
    await reopens(join(root, 'db-forged'));
    await assert.rejects(stat(file), { code: 'ENOENT' }, 'dropped by the new directory');
  });

});

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from '../config/cache-dir.js';

const execFileAsync = promisify(execFile);

/**
 * A new PGlite cluster made from a template instead of an initdb.
 *
 * PGlite has no initdb binary: a new cluster runs initdb inside a second WASM instance, 4–7 s of CPU on the
 * bench machine, and every test that opened an in-memory database paid it. Loading a tarball of a freshly
 * initialised cluster (PGlite's own `loadDataDir`) starts the same cluster, since what initdb writes depends
 * only on PGlite's build and the start parameters, which key the template. Measured on the bench machine:
 * an in-memory database opens in 0.8–1.1 s instead of 4.0–4.4 s, a new data directory in 2.1–2.9 s instead
 * of 6.7 s. (Copies share pg_control's system identifier, which nothing here reads; PGlite has no physical
 * replication, which would.)
 *
 * The template is built once per machine and PGlite version, in the cache directory beside the stack's
 * downloads (`$XDG_CACHE_HOME/annals/pglite`, default ~/.cache), by a short-lived child process (initdb's
 * WASM memory leaves with it, as in openPglite). The file is the tarball followed by its SHA-256: one that
 * does not match, or is not shaped like a tar, is rebuilt before PGlite reads it, and one PGlite still
 * refuses is dropped by the caller, which then runs initdb. Two processes building it at once each write
 * their own file and rename it into place: the last rename wins and both are whole. Without a writable cache
 * directory, or when the build fails, there is no template and initdb runs as before: slower, never different.
 */

/** The template's file for a PGlite build and start parameters, under `dir`. */
export async function pgliteTemplatePath(startParams: readonly string[], dir: string = cacheDir('pglite')): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.resolve('@electric-sql/pglite')), 'utf8')) as { version: string };
  const key = createHash('sha256').update(JSON.stringify([pkg.version, startParams])).digest('hex').slice(0, 16);
  return join(dir, `cluster-${pkg.version}-${key}.tar`);
}

export interface PgliteTemplate {
  readonly path: string;
  /** The tarball, as written: its checksum verified, and shaped like a tar (PGlite's loader crashes the process on bytes that are not one). */
  readonly bytes: Buffer;
}

/**
 * The template for these start parameters, built first when missing or damaged; undefined when it cannot be
 * built (see above).
 */
export async function pgliteTemplate(startParams: readonly string[], dir?: string): Promise<PgliteTemplate | undefined> {
  let path: string;
  try {
    path = await pgliteTemplatePath(startParams, dir);
    const bytes = verified(await readFile(path).catch(() => undefined));
    if (bytes) return { path, bytes };
    await rm(path, { force: true });
    await mkdir(dirname(path), { recursive: true });
  } catch {
    return undefined;
  }
  // The file is the tarball followed by its SHA-256, so a damaged one is known before PGlite reads it.
  const script = `const [{ PGlite }, { writeFile, rename }, { createHash }] = await Promise.all([import(process.argv[1]), import('node:fs/promises'), import('node:crypto')]);
const db = await PGlite.create({ startParams: JSON.parse(process.argv[3]) });
const tar = Buffer.from(await (await db.dumpDataDir('none')).arrayBuffer());
await db.close();
const staging = process.argv[2] + '.' + process.pid;
await writeFile(staging, Buffer.concat([tar, createHash('sha256').update(tar).digest()]));
await rename(staging, process.argv[2]);`;
  try {
    await execFileAsync(process.execPath, ['--input-type=module', '-e', script, import.meta.resolve('@electric-sql/pglite'), path, JSON.stringify(startParams)], {
      timeout: 120_000,
    });
    const bytes = verified(await readFile(path));
    return bytes ? { path, bytes } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The tarball of a template file when its SHA-256 trailer matches and it is shaped like a POSIX tar (the
 * ustar magic of the first header, the two zero blocks that end an archive), else undefined.
 */
export function verified(file: Buffer | undefined): Buffer | undefined {
  const DIGEST = 32;
  const END = 1024;
  if (!file || file.length < 512 + END + DIGEST) return undefined;
  const tar = file.subarray(0, file.length - DIGEST);
  if (!createHash('sha256').update(tar).digest().equals(file.subarray(tar.length))) return undefined;
  const shaped = tar.length % 512 === 0 && tar.toString('latin1', 257, 262) === 'ustar' && tar.subarray(tar.length - END).every((b) => b === 0);
  return shaped ? tar : undefined;
}

/** Drops a template PGlite refused to load (a file damaged on disk), so the next new cluster builds another. */
export async function dropPgliteTemplate(path: string): Promise<void> {
  await rm(path, { force: true }).catch(() => undefined);
}

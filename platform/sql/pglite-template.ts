import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from '../config/cache-dir.js';

const execFileAsync = promisify(execFile);

/**
 * Runs `script` (an ES module's text) in a short-lived node process, with the PGlite module's URL as
 * `process.argv[1]` and `args` after it: initdb's WASM memory leaves with the child (see openPglite).
 */
export async function runPgliteChild(script: string, args: readonly string[]): Promise<void> {
  await execFileAsync(process.execPath, ['--input-type=module', '-e', script, import.meta.resolve('@electric-sql/pglite'), ...args], { timeout: 120_000 });
}

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

/**
 * The template's tarball, for an in-memory database (PGlite's `loadDataDir` takes its bytes): built first when
 * missing or damaged; undefined when it cannot be built (see above).
 */
export function pgliteTemplateBytes(startParams: readonly string[], dir?: string): Promise<Buffer | undefined> {
  return ensure(startParams, dir, async (path) => verified(await readFile(path).catch(() => undefined)));
}

/**
 * The template's file, for a new data directory (a child process loads it): checked piece by piece, so the
 * service making its first data directory never holds the whole file (the first-start memory row).
 */
export function pgliteTemplateFile(startParams: readonly string[], dir?: string): Promise<string | undefined> {
  return ensure(startParams, dir, async (path) => ((await isWholeFile(path).catch(() => false)) ? path : undefined));
}

async function ensure<T>(startParams: readonly string[], dir: string | undefined, load: (path: string) => Promise<T | undefined>): Promise<T | undefined> {
  let path: string;
  try {
    path = await pgliteTemplatePath(startParams, dir);
    const found = await load(path);
    if (found !== undefined) return found;
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
    await runPgliteChild(script, [path, JSON.stringify(startParams)]);
    return await load(path);
  } catch {
    return undefined;
  }
}

const DIGEST = 32;
const TAR_END = 1024;

/**
 * Whether a template file is whole: its SHA-256 trailer matches, and it is shaped like a POSIX tar (the ustar
 * magic of the first header, the two zero blocks that end an archive). `head` is the file's first 512 bytes,
 * `tail` its last TAR_END + DIGEST.
 */
function whole(tarLength: number, head: Buffer, tail: Buffer, digest: Buffer): boolean {
  return (
    tarLength >= 512 + TAR_END &&
    tarLength % 512 === 0 &&
    digest.equals(tail.subarray(TAR_END)) &&
    head.toString('latin1', 257, 262) === 'ustar' &&
    tail.subarray(0, TAR_END).every((b) => b === 0)
  );
}

/** The tarball of a template file's bytes when the file is whole, else undefined. */
export function verified(file: Buffer | undefined): Buffer | undefined {
  if (!file || file.length < DIGEST) return undefined;
  const tar = file.subarray(0, file.length - DIGEST);
  const digest = createHash('sha256').update(tar).digest();
  return whole(tar.length, file.subarray(0, 512), file.subarray(Math.max(0, file.length - TAR_END - DIGEST)), digest) ? tar : undefined;
}

/** `verified` for a file, read in pieces. */
export async function isWholeFile(path: string): Promise<boolean> {
  const { size } = await stat(path);
  if (size < DIGEST + TAR_END + 512) return false;
  const head = Buffer.alloc(512);
  const tail = Buffer.alloc(TAR_END + DIGEST);
  const fh = await open(path);
  try {
    await fh.read(head, 0, head.length, 0);
    await fh.read(tail, 0, tail.length, size - tail.length);
  } finally {
    await fh.close();
  }
  const hash = createHash('sha256');
  for await (const piece of createReadStream(path, { start: 0, end: size - DIGEST - 1 })) hash.update(piece as Buffer);
  return whole(size - DIGEST, head, tail, hash.digest());
}

/** Drops a template PGlite refused to load (a file damaged on disk), so the next new cluster builds another. */
export async function dropPgliteTemplate(path: string): Promise<void> {
  await rm(path, { force: true }).catch(() => undefined);
}

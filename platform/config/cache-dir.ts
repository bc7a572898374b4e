import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where Annals keeps what it downloads or builds once per machine (the stack's servers, the PGlite cluster
 * template): `$XDG_CACHE_HOME/annals/…`, default ~/.cache/annals/…. Outside the repository, so a clean
 * checkout reuses it.
 */
export function cacheDir(...parts: string[]): string {
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(base, 'annals', ...parts);
}

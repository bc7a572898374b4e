import { join } from 'node:path';
import type { AnalyticsEngine } from './port.js';

export interface AnalyticsConfig {
  /** CLICKHOUSE_URL: the server over HTTP; unset: chDB under `dataDir`. */
  readonly clickhouseUrl?: string | undefined;
  readonly dataDir: string;
  /** CLICKHOUSE_DATABASE (default `annals`). */
  readonly database?: string | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /**
   * chDB inside this process instead of its own child process. The child is the default: chDB maps
   * ~210 MB into the process that loads it, and `npm start` alone peaks near 450 MB (budget: 512 MB).
   */
  readonly chdbInProcess?: boolean;
}

/**
 * The adapter chosen by configuration, never by code (SPEC: Shape). The chDB module is imported only
 * when it is used (and by default only in the child process that hosts it).
 */
export async function openAnalytics(config: AnalyticsConfig): Promise<AnalyticsEngine> {
  const database = config.database ?? 'annals';
  if (config.clickhouseUrl) {
    const { clickhouseServerEngine } = await import('./server.js');
    return clickhouseServerEngine({ url: config.clickhouseUrl, database, username: config.username, password: config.password });
  }
  const path = join(config.dataDir, 'analytics');
  if (config.chdbInProcess) {
    const { chdbEngine } = await import('./chdb.js');
    return chdbEngine({ path, database });
  }
  const { chdbProcessEngine } = await import('./chdb-process.js');
  return chdbProcessEngine({ path, database });
}

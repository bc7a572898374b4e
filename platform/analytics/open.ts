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
}

/**
 * The adapter chosen by configuration, never by code (SPEC: Shape). The chDB module is imported only
 * when it is used: it maps ~250 MB of engine into the process, which a server deployment never needs.
 */
export async function openAnalytics(config: AnalyticsConfig): Promise<AnalyticsEngine> {
  const database = config.database ?? 'annals';
  if (config.clickhouseUrl) {
    const { clickhouseServerEngine } = await import('./server.js');
    return clickhouseServerEngine({ url: config.clickhouseUrl, database, username: config.username, password: config.password });
  }
  const { chdbEngine } = await import('./chdb.js');
  return chdbEngine({ path: join(config.dataDir, 'analytics'), database });
}

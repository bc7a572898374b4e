import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, EX_CONFIG } from '../platform/config/env.js';
import { createTokenVerifier } from '../platform/auth/verify.js';
import { onShutdownSignal } from '../platform/lifecycle/shutdown.js';
import { createLogger } from '../platform/logging/logger.js';
import { openPglite, pgClient, pgliteClient } from '../platform/sql/client.js';
import { loadQueryApiConfig } from './config.js';
import { createQueryApi } from './service.js';

/**
 * The query API's own process (`npm run query-api`), GUIDE rule 5: config → logger → clients → app →
 * listen. It reads the read models of READ_DB_URL (PostgreSQL); without it, the embedded read database
 * under DATA_DIR/read, which only works while no other process holds it (PGlite is single-process: use
 * `npm start`, which serves /graphql itself, for the embedded mode).
 */
async function main(): Promise<void> {
  let loaded;
  try {
    loaded = await loadQueryApiConfig(process.env);
  } catch (err) {
    process.stderr.write(`annals query-api: ${err instanceof ConfigError ? err.message : (err as Error).message}\n`);
    process.exitCode = EX_CONFIG;
    return;
  }
  const { config, warnings } = loaded;
  const logger = createLogger({ level: config.logLevel, name: 'query-api' });
  for (const w of warnings) logger.warn(w);
  if (!config.readDbUrl) await mkdir(join(config.dataDir, 'read'), { recursive: true });
  const readSql = config.readDbUrl ? pgClient(config.readDbUrl, { applicationName: 'annals-query-api' }) : pgliteClient(await openPglite(join(config.dataDir, 'read')));
  const verifier = createTokenVerifier({ keys: config.auth.keys, issuer: config.auth.issuer, audience: config.auth.audience });
  const api = await createQueryApi({ readSql, verifier, logger, limits: config.limits, ownsReadSql: true });
  const stopped = onShutdownSignal({ logger, timeoutMs: config.shutdownTimeoutMs, steps: [{ name: 'query api', run: () => api.stop() }] });
  const address = await api.app.listen({ port: config.port, host: config.host });
  logger.info({ url: `${address}/graphql`, graphiql: config.limits.graphiql ? `${address}/graphiql` : 'off', readDb: config.readDbUrl ? 'postgres' : 'pglite' }, 'query-api listening');
  process.exitCode = await stopped;
}

await main();

import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { createHistoryReader } from '../../../platform/audit/history.js';
import { createTokenVerifier } from '../../../platform/auth/verify.js';
import { ConfigError, EX_CONFIG, parseEnvs, PostgresUrl, type Env } from '../../../platform/config/env.js';
import { eventStoreConfig, openEventStore } from '../../../platform/event-store/open.js';
import { onShutdownSignal } from '../../../platform/lifecycle/shutdown.js';
import { createLogger } from '../../../platform/logging/logger.js';
import { PiiEnvShape } from '../../../platform/pii/config.js';
import { openKeyStoreSql, openPii } from '../../../platform/pii/open.js';
import { openPglite, pgClient, pgliteClient, type SqlClient } from '../../../platform/sql/client.js';
import { loadQueryApiConfig, QueryApiEnv, QueryLimitsEnv, type QueryApiProcessConfig } from '../../../query-api/config.js';
import { createQueryApi } from '../../../query-api/service.js';
import { auditFolds } from '../../../write-side/audit-folds.js';
import { openReadSide, queryApiReadSide, ReadSideEnv, type ReadSide } from './read-side-wiring.js';

/**
 * `annals query-api` / `npm run query-api`: the query API as its own service (the only one: query-api/
 * may not import write-side/ or projections/, so its entry lives here), with the same read side as
 * `npm start` (read-side-wiring.ts): search (ELASTICSEARCH_URL, else the embedded search table), analytics
 * (CLICKHOUSE_URL; chDB belongs to `npm start` alone) and the features that need the write side's deciders:
 * - auditTrail / …AsOf: the event store (EVENTSTORE_URL, else DATA_DIR/eventstore) read with the GDPR codec
 *   (PII_MASTER_KEY, key tables on KEYSTORE_URL, else READ_DB_URL) and folded by the deciders;
 * - read-your-writes: the relay's recorded offsets (RELAY_CHECKPOINT_DB_URL, else the PostgreSQL event
 *   store, where the standalone relay keeps its checkpoint, else READ_DB_URL as under `npm start`) and the
 *   offsets of every read model of every store in the read database.
 */
const HistoryEnv = z.object({
  ...PiiEnvShape,
  KEYSTORE_URL: PiiEnvShape.KEYSTORE_URL,
  PII_ENCRYPTION: z.enum(['on', 'off']).default('on'),
  RELAY_CHECKPOINT_DB_URL: PostgresUrl.optional(),
  RELAY_CHECKPOINT_NAME: z.string().min(1).max(100).default('relay'),
});

/**
 * Every variable `annals query-api` reads, parsed by the one parser in one go: a failure is ONE ConfigError
 * naming every bad variable (the query API's, the history reader's, the read side's).
 */
export async function loadQueryApiServiceConfig(
  env: Env,
): Promise<{ loaded: { config: QueryApiProcessConfig; warnings: string[] }; history: z.output<typeof HistoryEnv>; readSide: ReadSideEnv }> {
  const [, , history, readSide] = parseEnvs(env, [QueryApiEnv, QueryLimitsEnv, HistoryEnv, ReadSideEnv]);
  return { loaded: await loadQueryApiConfig(env), history, readSide };
}

export async function run(args: string[]): Promise<number> {
  if (args.includes('--help')) {
    process.stdout.write(
      'usage: annals query-api — the GraphQL query API as its own service (PORT, default 8081) on READ_DB_URL, with search (ELASTICSEARCH_URL, ELASTICSEARCH_INDEX_PREFIX), analytics (CLICKHOUSE_URL, CLICKHOUSE_DATABASE, ANALYTICS), auditTrail/…AsOf (EVENTSTORE_URL, PII_MASTER_KEY, KEYSTORE_URL) and X-Consistent-With (RELAY_CHECKPOINT_DB_URL, RELAY_CHECKPOINT_NAME, QUERY_CONSISTENCY_MAX_WAIT_MS)\n',
    );
    return 0;
  }
  let loaded;
  let env: z.output<typeof HistoryEnv>;
  let readSideEnv: ReadSideEnv;
  try {
    ({ loaded, history: env, readSide: readSideEnv } = await loadQueryApiServiceConfig(process.env));
  } catch (err) {
    process.stderr.write(`annals query-api: ${err instanceof ConfigError ? err.message : (err as Error).message}\n`);
    return EX_CONFIG;
  }
  const { config, warnings } = loaded;
  const logger = createLogger({ level: config.logLevel, name: 'query-api' });
  for (const w of warnings) logger.warn(w);
  if (!config.readDbUrl) await mkdir(join(config.dataDir, 'read'), { recursive: true });
  const readSql = config.readDbUrl ? pgClient(config.readDbUrl, { applicationName: 'annals-query-api' }) : pgliteClient(await openPglite(join(config.dataDir, 'read')));
  const closers: (() => Promise<void>)[] = [];
  try {
    let codec;
    if (env.PII_ENCRYPTION === 'on') {
      const masterKey = env.PII_MASTER_KEY ?? (await readFile(join(config.dataDir, 'secrets', 'pii-master-key'), 'utf8').catch(() => undefined))?.trim();
      if (masterKey === undefined) throw new Error('PII_MASTER_KEY is required to read the event store (no development key in DATA_DIR/secrets)');
      const keySql = env.KEYSTORE_URL ? await openKeyStoreSql(env.KEYSTORE_URL, join(config.dataDir, 'read'), 'annals-query-api-keys') : readSql;
      if (keySql !== readSql) closers.push(() => keySql.close());
      ({ codec } = await openPii(keySql, { masterKey, previousMasterKeys: env.PII_PREVIOUS_MASTER_KEYS, cacheTtlMs: env.PII_KEY_CACHE_TTL_MS, cacheSize: env.PII_KEY_CACHE_SIZE }));
    }
    const store = await openEventStore(eventStoreConfig(config.eventStoreUrl, config.dataDir), { applicationName: 'annals-query-api', maxConnections: 4, encryption: { codec } });
    closers.push(() => store.close());
    const relayUrl = env.RELAY_CHECKPOINT_DB_URL ?? (config.eventStoreUrl?.startsWith('postgres') ? config.eventStoreUrl : undefined);
    const relaySql: SqlClient = relayUrl ? pgClient(relayUrl, { max: 2, applicationName: 'annals-query-api-relay' }) : readSql;
    if (relaySql !== readSql) closers.push(() => relaySql.close());
    const readSide: ReadSide = await openReadSide({ readSql, dataDir: config.dataDir, settings: readSideEnv, log: logger, embeddedAnalytics: false });
    closers.push(() => readSide.close());
    const api = await createQueryApi({
      readSql,
      verifier: createTokenVerifier({ keys: config.auth.keys, issuer: config.auth.issuer, audience: config.auth.audience }),
      logger,
      limits: config.limits,
      ownsReadSql: true,
      ...queryApiReadSide(readSide, {
        readSql,
        relaySql,
        relayName: env.RELAY_CHECKPOINT_NAME,
        history: createHistoryReader({ store, folds: auditFolds }),
        maxWaitMs: config.limits.consistencyMaxWaitMs,
      }),
    });
    const stopped = onShutdownSignal({
      logger,
      timeoutMs: config.shutdownTimeoutMs,
      steps: [{ name: 'query api', run: () => api.stop() }, ...closers.map((run, i) => ({ name: `client ${i + 1}`, run }))],
    });
    const address = await api.app.listen({ port: config.port, host: config.host });
    logger.info(
      {
        url: `${address}/graphql`,
        eventStore: config.eventStoreUrl ? 'server' : 'pglite',
        readDb: config.readDbUrl ? 'postgres' : 'pglite',
        search: readSide.search.adapter,
        analytics: readSide.analytics?.adapter ?? 'off',
      },
      'query-api listening (with search, analytics, auditTrail, …AsOf, X-Consistent-With)',
    );
    return await stopped;
  } catch (err) {
    process.stderr.write(`annals query-api: ${(err as Error).message.split('\n')[0]}\n`);
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await readSql.close().catch(() => undefined);
    return 1;
  }
}

import { pino } from 'pino';
import { createLogger } from '../../platform/logging/logger.js';
import { buildApp } from '../../write-side/build-app.js';
import { EMAIL_HASH_LABEL, REQUEST_HASH_LABEL, type WriteSideConfig } from '../../write-side/config.js';
import { deriveSubkey } from '../../platform/pii/master-key.js';

import { BENCH_PII_MASTER_KEY } from '../lib/system.js';
import { BENCH_AUTH, benchStore, listen, type HttpService } from './http-common.js';

/**
 * The real command API: write-side/build-app.ts (auth, permissions, rate limiting, zod bodies,
 * idempotency claims, the decider, problem+json, metrics, one log line per request) on our event store
 * on the PostgreSQL server, as write-side/main.ts builds it. Differences from production, all in favour
 * of neither side: the rate limit is raised so one bench user is never throttled (the limiter still runs
 * on every request), the lead-conversion process manager is off (it reacts to conversions only), and the
 * info-level log lines go to /dev/null instead of a terminal.
 */
export async function serve({ poolSize }: { poolSize: number }): Promise<HttpService> {
  const { store, sql } = await benchStore(poolSize);
  const config: WriteSideConfig = {
    port: 0,
    host: '127.0.0.1',
    dataDir: '/nonexistent',
    eventStore: { kind: 'postgres', url: 'postgres://bench' },
    auth: { keys: { kind: 'secret', secret: BENCH_AUTH.secret }, issuer: BENCH_AUTH.issuer, audience: BENCH_AUTH.audience },
    piiMasterKey: BENCH_PII_MASTER_KEY,
    emailHashKey: deriveSubkey(BENCH_PII_MASTER_KEY, EMAIL_HASH_LABEL),
    requestHashKey: deriveSubkey(BENCH_PII_MASTER_KEY, REQUEST_HASH_LABEL),
    pii: { encryption: false, previousMasterKeys: [], cacheTtlMs: 1_000, cacheSize: 10_000, keyStoreUrl: undefined },
    logLevel: 'info',
    rateLimit: { maxPerWindow: 100_000_000, windowMs: 60_000 },
    bodyLimitBytes: 1024 * 1024,
    shutdownTimeoutMs: 5_000,
    conversionProcess: false,
  };
  const logger = createLogger({ level: config.logLevel, name: 'write-side' }, pino.destination({ dest: '/dev/null', sync: true }));
  const app = await buildApp({ config, logger, eventStore: store });
  return listen(app, store, sql);
}

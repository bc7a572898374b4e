import { join } from 'node:path';
import { z } from 'zod';
import { createBus } from '../../../platform/bus/create-bus.js';
import { ConfigError, EX_CONFIG, parseEnv, SharedEnv } from '../../../platform/config/env.js';
import { eventStoreConfig, openEventStore } from '../../../platform/event-store/open.js';
import { createLogger } from '../../../platform/logging/logger.js';
import { openPglite, pgClient, pgliteClient } from '../../../platform/sql/client.js';
import { formatStatus, replayStatus } from '../../replay/status.js';

const USAGE = `usage: annals replay status
  status   checkpoints, generations and lag of every read model (READ_DB_URL, EVENTSTORE_URL, KAFKA_BROKERS;
           embedded: DATA_DIR, while \`npm start\` is stopped — PGlite admits one process)
  (rebuild, verify, history and chain verify arrive with the replay issue)`;

/** What `replay status` reads, through the one parser (platform/config): every bad variable listed, empty = unset. */
const ReplayEnv = z.object({
  DATA_DIR: SharedEnv.DATA_DIR,
  READ_DB_URL: SharedEnv.READ_DB_URL,
  EVENTSTORE_URL: SharedEnv.EVENTSTORE_URL,
  KAFKA_BROKERS: SharedEnv.KAFKA_BROKERS,
  KAFKA_SESSION_TIMEOUT_MS: SharedEnv.KAFKA_SESSION_TIMEOUT_MS,
});

export async function run(args: string[]): Promise<number> {
  const [sub] = args;
  if (sub !== 'status') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  let env: z.output<typeof ReplayEnv>;
  try {
    env = parseEnv(ReplayEnv, process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`annals replay: ${err.message}\n`);
    return EX_CONFIG;
  }
  const dataDir = env.DATA_DIR;
  const readSql = env.READ_DB_URL ? pgClient(env.READ_DB_URL, { max: 2, applicationName: 'annals-replay' }) : pgliteClient(await openPglite(join(dataDir, 'read')));
  const store = await openEventStore(eventStoreConfig(env.EVENTSTORE_URL, dataDir), { applicationName: 'annals-replay', maxConnections: 2 });
  const bus = env.KAFKA_BROKERS
    ? createBus({ kafkaBrokers: env.KAFKA_BROKERS, sessionTimeoutMs: env.KAFKA_SESSION_TIMEOUT_MS, clientId: 'annals-replay', log: createLogger({ level: 'warn', name: 'replay' }) })
    : undefined;
  try {
    process.stdout.write(`${formatStatus(await replayStatus({ readSql, store, bus }))}\n`);
    return 0;
  } finally {
    await bus?.close();
    await store.close();
    await readSql.close();
  }
}

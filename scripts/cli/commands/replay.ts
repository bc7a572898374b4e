import { join } from 'node:path';
import { pino } from 'pino';
import { createBus } from '../../../platform/bus/create-bus.js';
import { eventStoreConfig, openEventStore } from '../../../platform/event-store/open.js';
import { openPglite, pgClient, pgliteClient } from '../../../platform/sql/client.js';
import { formatStatus, replayStatus } from '../../replay/status.js';

const USAGE = `usage: annals replay status
  status   checkpoints, generations and lag of every read model (READ_DB_URL, EVENTSTORE_URL, KAFKA_BROKERS;
           embedded: DATA_DIR, while \`npm start\` is stopped — PGlite admits one process)
  (rebuild, verify, history and chain verify arrive with the replay issue)`;

export async function run(args: string[]): Promise<number> {
  const [sub] = args;
  if (sub !== 'status') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const dataDir = process.env.DATA_DIR || './.annals';
  const readDbUrl = process.env.READ_DB_URL || undefined;
  const readSql = readDbUrl ? pgClient(readDbUrl, { max: 2, applicationName: 'annals-replay' }) : pgliteClient(await openPglite(join(dataDir, 'read')));
  const store = await openEventStore(eventStoreConfig(process.env.EVENTSTORE_URL || undefined, dataDir), { applicationName: 'annals-replay', maxConnections: 2 });
  const bus = process.env.KAFKA_BROKERS ? createBus({ kafkaBrokers: process.env.KAFKA_BROKERS, clientId: 'annals-replay', log: pino({ level: 'warn' }) }) : undefined;
  try {
    process.stdout.write(`${formatStatus(await replayStatus({ readSql, store, bus }))}\n`);
    return 0;
  } finally {
    await bus?.close();
    await store.close();
    await readSql.close();
  }
}

/**
 * A projector in a child process, for the crash test (pipeline.int.test.ts): the parent kills it with
 * SIGKILL while a batch transaction is open, then starts another. Env: READ_DB_URL, KAFKA_BROKERS,
 * KT_NAME, KT_TABLE, KT_SLEEP_MS. Test-only: not part of any service.
 */
import { pino } from 'pino';
import { kafkaBus } from '../../platform/bus/kafka.js';
import { pgClient } from '../../platform/sql/client.js';
import { registerProjection } from './generations.js';
import { createProjector } from './projector.js';
import { kernelTestProjection } from './test-projection.js';

const env = (n: string) => {
  const v = process.env[n];
  if (!v) throw new Error(`${n} is required`);
  return v;
};
const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'warn' });
// The parent finds our open batch transaction in pg_stat_activity by this name, and kills us inside it.
const sql = pgClient(env('READ_DB_URL'), { max: 2, applicationName: env('KT_NAME') });
const projection = kernelTestProjection({ name: env('KT_NAME'), table: env('KT_TABLE'), sleepMsPerEvent: Number(env('KT_SLEEP_MS')) });
const bus = kafkaBus({ brokers: env('KAFKA_BROKERS').split(','), clientId: `crash-child-${process.pid}`, sessionTimeoutMs: 6_000, log });
await registerProjection(sql, projection);
// One partition's batch per transaction, so the parent can let some commit and kill us inside a later one.
const projector = createProjector({ sql, bus, projection, log, topics: ['annals.lead.events'], maxMessagesPerTransaction: 1 });
const stop = new AbortController();
process.once('SIGTERM', () => stop.abort());
process.stdout.write('ready\n');
await projector.run(stop.signal);
await bus.close();
await sql.close();

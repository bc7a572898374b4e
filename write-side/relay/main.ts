import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ConfigError, EX_CONFIG, parseEnv, PostgresUrl, SharedEnv } from '../../platform/config/env.js';
import { createLogger } from '../../platform/logging/logger.js';
import { createBus } from '../../platform/bus/create-bus.js';
import type { Bus } from '../../platform/bus/port.js';
import type { EventStore } from '../../platform/event-store/event-store.js';
import { eventStoreConfig, openEventStore } from '../../platform/event-store/open.js';
import { onShutdownSignal } from '../../platform/lifecycle/shutdown.js';
import { pgClient } from '../../platform/sql/client.js';
import { sqlRelayCheckpoint, type RelayCheckpointStore } from './checkpoint.js';
import { newRelayStats, runRelay, type RelayStats } from './relay.js';

export interface RelayHandle {
  /** Live counters (checkpoint, published, dead-lettered, skipped). */
  readonly stats: RelayStats;
  /** Checkpoint vs head of the store, for /metrics and `annals replay status`. */
  status(): Promise<{ checkpoint: bigint | undefined; head: bigint | undefined; caughtUp: boolean; published: number; deadLettered: number }>;
  /** Stops after the batch in flight (its checkpoint is written if its publish was acknowledged). */
  stop(): Promise<void>;
  /** Settles when the relay stops. */
  readonly done: Promise<void>;
}

/**
 * Starts the relay inside a composition root. `npm start` (one process) calls this with the embedded
 * event store and the SAME embedded bus instance it gives the projectors.
 */
export function startRelay(deps: { store: EventStore; bus: Bus; checkpoint: RelayCheckpointStore; log: Logger; batchSize?: number }): RelayHandle {
  const controller = new AbortController();
  const stats = newRelayStats();
  const log = deps.log.child({ component: 'relay' });
  const done = runRelay({ store: deps.store, bus: deps.bus, checkpoint: deps.checkpoint, log, signal: controller.signal, batchSize: deps.batchSize }, stats);
  return {
    stats,
    async status() {
      return { checkpoint: stats.checkpoint, head: await deps.store.headPosition(), caughtUp: stats.caughtUp, published: stats.published, deadLettered: stats.deadLettered };
    },
    async stop() {
      controller.abort();
      await done;
    },
    done,
  };
}

/** Configuration of the standalone relay service (GUIDE rule 10: parsed once by platform/config, every bad variable listed). */
export const RelayConfig = z
  .object({
    // Required: the embedded event store is opened by `npm start` alone.
    EVENTSTORE_URL: SharedEnv.EVENTSTORE_URL.unwrap(),
    /** PostgreSQL for the checkpoint when the store is EventStoreDB (which has no tables). */
    RELAY_CHECKPOINT_DB_URL: PostgresUrl.optional(),
    // The embedded bus lives inside one process: a standalone relay only makes sense with Kafka.
    KAFKA_BROKERS: SharedEnv.KAFKA_BROKERS.unwrap(),
    LOG_LEVEL: SharedEnv.LOG_LEVEL,
    /** Checkpoint row name: one per relay (e.g. one per Kafka cluster fed from the same store). */
    RELAY_CHECKPOINT_NAME: z.string().min(1).max(100).default('relay'),
    /**
     * Where a relay WITHOUT a stored checkpoint starts: `beginning` (default) publishes all of history;
     * `head` suits a new bus whose read models are filled from the event store anyway (they are, on their
     * first start), and the integration tests, which share a store with other runs.
     */
    RELAY_FROM: z.enum(['beginning', 'head']).default('beginning'),
    SHUTDOWN_TIMEOUT_MS: SharedEnv.SHUTDOWN_TIMEOUT_MS,
  })
  .refine((c) => !c.EVENTSTORE_URL.startsWith('esdb') || c.RELAY_CHECKPOINT_DB_URL !== undefined, {
    path: ['RELAY_CHECKPOINT_DB_URL'],
    message: 'RELAY_CHECKPOINT_DB_URL is required when EVENTSTORE_URL is EventStoreDB',
  });
export type RelayConfig = z.infer<typeof RelayConfig>;

async function main(): Promise<void> {
  let config: RelayConfig;
  try {
    config = parseEnv(RelayConfig, process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`relay: ${err.message}\n`);
    process.exit(EX_CONFIG);
  }
  // The redacting logger of every service (platform/logging).
  const log = createLogger({ level: config.LOG_LEVEL, name: 'relay' });
  const store = await openEventStore(eventStoreConfig(config.EVENTSTORE_URL, '.'), { applicationName: 'annals-relay' });
  const checkpointSql = pgClient(config.RELAY_CHECKPOINT_DB_URL ?? config.EVENTSTORE_URL, { max: 2, applicationName: 'annals-relay-checkpoint' });
  const bus = createBus({ kafkaBrokers: config.KAFKA_BROKERS, clientId: 'annals-relay', log });
  const checkpoint = await sqlRelayCheckpoint(checkpointSql, config.RELAY_CHECKPOINT_NAME);
  if (config.RELAY_FROM === 'head' && (await checkpoint.load()) === undefined) {
    const head = await store.headPosition();
    if (head !== undefined) await checkpoint.save(head);
  }
  const relay = startRelay({ store, bus, checkpoint, log });
  const stopped = onShutdownSignal({
    logger: log,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    steps: [
      { name: 'relay', run: () => relay.stop() },
      { name: 'bus', run: () => bus.close() },
      { name: 'event store', run: () => store.close() },
      { name: 'checkpoint database', run: () => checkpointSql.close() },
    ],
  });
  // The relay runs until a signal stops it; a fatal error rejects `done` and ends the process with 1.
  await relay.done;
  // Exit explicitly once everything is closed: a client library's stray timer must not keep a stopped service alive.
  process.exit(await stopped);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`relay: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}

import { join } from 'node:path';
import type { Logger } from 'pino';
import { embeddedBus } from './embedded.js';
import { kafkaBus } from './kafka.js';
import type { Bus } from './port.js';

export interface BusConfig {
  /** Comma-separated `host:port` list; unset means the embedded bus (SPEC: chosen by `KAFKA_BROKERS`). */
  readonly kafkaBrokers?: string | undefined;
  /** Where the embedded bus keeps its log (`<dataDir>/bus`); unset keeps it in memory (tests). */
  readonly dataDir?: string | undefined;
  readonly clientId: string;
  readonly partitions?: number;
  readonly sessionTimeoutMs?: number;
  readonly log?: Logger;
}

/**
 * Picks the adapter from configuration only. In one process (`npm start`) the relay and the projectors
 * must share ONE embedded bus instance: create it once in the composition root and pass it to both.
 */
export function createBus(config: BusConfig): Bus {
  const brokers = config.kafkaBrokers?.split(',').map((b) => b.trim()).filter(Boolean) ?? [];
  if (brokers.length > 0) {
    return kafkaBus({ brokers, clientId: config.clientId, partitions: config.partitions, sessionTimeoutMs: config.sessionTimeoutMs, log: config.log });
  }
  return embeddedBus({ partitions: config.partitions, dir: config.dataDir ? join(config.dataDir, 'bus') : undefined });
}

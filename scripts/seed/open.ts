import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { EventStore } from '../../platform/event-store/event-store.js';
import { createEventStore } from '../../platform/event-store/event-store.js';
import { openEventStore } from '../../platform/event-store/open.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { assertStoreEncryption } from '../../platform/event-store/read-events.js';
import { openPii } from '../../platform/pii/open.js';
import { openPglite, pgClient, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import type { WriteSideConfig } from '../../write-side/config.js';
import { pgliteThreadClient } from './pglite-thread.js';

/** The embedded event store's buffer pool during a seed (pglite-host.ts says why it is larger than the services'). */
const SEED_EVENT_STORE_BUFFERS = '256MB';

/**
 * Persons seeded at once when --concurrency is not given. PGlite is one in-process connection: past a
 * few commands in flight they only queue. A server answers many connections at once, and each command
 * is several round trips, so more persons in flight hide more of that latency.
 */
export function defaultConcurrency(server: boolean): number {
  return server ? 32 : 8;
}

/**
 * Worker threads when --workers is not given. Embedded: one (PGlite opens a data directory in one thread).
 * On a server the seed is bound by one thread's CPU while the server has room: a thread per core, at most 4.
 */
export function defaultWorkers(server: boolean): number {
  return server ? Math.max(1, Math.min(4, availableParallelism())) : 1;
}

/** The stores `annals seed` writes to, opened where the services keep them; `close` closes both. */
export interface SeedTarget {
  readonly eventStore: EventStore;
  close(): Promise<void>;
}

/**
 * Opens the event store (EVENTSTORE_URL, else DATA_DIR/eventstore) with the GDPR codec when encryption is
 * on, and the key tables where the services keep them (KEYSTORE_URL, else READ_DB_URL, else the embedded
 * read PGlite under DATA_DIR/read).
 *
 * On a server the pools are sized for the seed's concurrency: each person in flight holds at most one
 * connection at a time (one statement, or the key store's creation transaction), so `concurrency`
 * connections (capped at 32 per pool, well under PostgreSQL's default 100) let every in-flight command
 * run its statement at once instead of queueing behind a pool of 10 — the seed is bound by round trips,
 * not by the server's CPU. PGlite is one connection whatever is asked; embedded, each database runs in a
 * thread of its own (`pgliteThreads`, default on: pglite-thread.ts), so PostgreSQL's work and the command
 * API's overlap on two cores instead of taking turns on one.
 */
export async function openSeedTarget(config: WriteSideConfig, concurrency: number, options: { applicationName?: string; pgliteThreads?: boolean } = {}): Promise<SeedTarget> {
  const applicationName = options.applicationName ?? 'annals-seed';
  const threads = options.pgliteThreads ?? true;
  const embedded = (dir: string) => (threads ? pgliteThreadClient(dir) : openPglite(dir).then((db) => pgliteClient(db)));
  const connections = Math.max(2, Math.min(32, concurrency));
  const keyUrl = config.pii.keyStoreUrl;
  let keySql: SqlClient;
  if (keyUrl) keySql = pgClient(keyUrl, { applicationName: `${applicationName}-keystore`, max: connections });
  else {
    await mkdir(join(config.dataDir, 'read'), { recursive: true });
    keySql = await embedded(join(config.dataDir, 'read'));
  }
  let eventStore: EventStore;
  try {
    const pii = await openPii(keySql, { masterKey: config.piiMasterKey, previousMasterKeys: config.pii.previousMasterKeys, cacheTtlMs: config.pii.cacheTtlMs, cacheSize: config.pii.cacheSize });
    const encryption = { codec: config.pii.encryption ? pii.codec : undefined };
    if (config.eventStore.kind === 'pglite' && threads) {
      // What openEventStore does for PGlite, on the database's own thread (pglite-thread.ts).
      await mkdir(config.eventStore.dir, { recursive: true });
      const adapter = await postgresEventStore(await pgliteThreadClient(config.eventStore.dir, SEED_EVENT_STORE_BUFFERS));
      try {
        await assertStoreEncryption(adapter, encryption.codec !== undefined);
      } catch (err) {
        await adapter.close();
        throw err;
      }
      eventStore = createEventStore(adapter, encryption);
    } else eventStore = await openEventStore(config.eventStore, { applicationName, maxConnections: connections, encryption });
  } catch (err) {
    await keySql.close();
    throw err;
  }
  return {
    eventStore,
    async close() {
      try {
        await eventStore.close();
      } finally {
        await keySql.close();
      }
    },
  };
}

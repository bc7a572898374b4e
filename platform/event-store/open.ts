import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openPglite, pgClient, pgliteClient } from '../sql/client.js';
import { esdbEventStore } from './esdb/adapter.js';
import { createEventStore, type EventStore } from './event-store.js';
import { postgresEventStore } from './postgres/adapter.js';

/** Which adapter, chosen by configuration only (SPEC: EVENTSTORE_URL = esdb://… / postgres://… / unset). */
export type EventStoreConfig =
  | { readonly kind: 'pglite'; readonly dir: string }
  | { readonly kind: 'postgres'; readonly url: string }
  | { readonly kind: 'esdb'; readonly url: string };

/** EVENTSTORE_URL → adapter choice; unset means the embedded PGlite store under DATA_DIR/eventstore. */
export function eventStoreConfig(url: string | undefined, dataDir: string): EventStoreConfig {
  if (!url) return { kind: 'pglite', dir: join(dataDir, 'eventstore') };
  return url.startsWith('esdb') ? { kind: 'esdb', url } : { kind: 'postgres', url };
}

/** The one place every deployable opens its event store. */
export async function openEventStore(config: EventStoreConfig, options: { applicationName?: string; maxConnections?: number } = {}): Promise<EventStore> {
  switch (config.kind) {
    case 'esdb':
      return createEventStore(esdbEventStore(config.url));
    case 'postgres':
      return createEventStore(await postgresEventStore(pgClient(config.url, { applicationName: options.applicationName ?? 'annals', max: options.maxConnections })));
    case 'pglite':
      await mkdir(config.dir, { recursive: true });
      return createEventStore(await postgresEventStore(pgliteClient(await openPglite(config.dir))));
  }
}

import { mkdir } from 'node:fs/promises';
import { createEventStore, type EventStore } from '../platform/event-store/event-store.js';
import { esdbEventStore } from '../platform/event-store/esdb/adapter.js';
import { postgresEventStore } from '../platform/event-store/postgres/adapter.js';
import { openPglite, pgClient, pgliteClient } from '../platform/sql/client.js';
import type { EventStoreConfig } from './config.js';

/** The event store adapter chosen by configuration (SPEC: EVENTSTORE_URL esdb:// | postgres:// | unset). */
export async function openEventStore(config: EventStoreConfig): Promise<EventStore> {
  switch (config.kind) {
    case 'esdb':
      return createEventStore(esdbEventStore(config.url));
    case 'postgres':
      return createEventStore(await postgresEventStore(pgClient(config.url, { applicationName: 'annals-write-side' })));
    case 'pglite':
      await mkdir(config.dir, { recursive: true });
      return createEventStore(await postgresEventStore(pgliteClient(await openPglite(config.dir))));
  }
}

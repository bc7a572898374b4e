import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openPglite, pgClient, pgliteClient } from '../sql/client.js';
import { esdbEventStore } from './esdb/adapter.js';
import { createEventStore, type EventStore } from './event-store.js';
import { postgresEventStore } from './postgres/adapter.js';
import type { EventStoreAdapter } from './port.js';
import { assertStoreEncryption } from './read-events.js';
import type { PiiCodec } from '../pii/codec.js';

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

/** How a deployable opens its store with respect to personal data (issue 10). */
export interface OpenEventStoreOptions {
  readonly applicationName?: string;
  readonly maxConnections?: number;
  /**
   * `{ codec }`: personal fields are encrypted at append and decrypted at read, and the store is checked
   * at open to hold ciphertext (never plaintext written before); `{ codec: undefined }`: in clear, and
   * checked to hold no ciphertext. Omitted (the relay, which forwards bytes): no codec, no check.
   */
  readonly encryption?: { readonly codec: PiiCodec | undefined };
}

/** The one place every deployable opens its event store. */
export async function openEventStore(config: EventStoreConfig, options: OpenEventStoreOptions = {}): Promise<EventStore> {
  const adapter = await openAdapter(config, options);
  if (options.encryption) {
    try {
      await assertStoreEncryption(adapter, options.encryption.codec !== undefined);
    } catch (err) {
      await adapter.close();
      throw err;
    }
  }
  return createEventStore(adapter, { codec: options.encryption?.codec });
}

async function openAdapter(config: EventStoreConfig, options: OpenEventStoreOptions): Promise<EventStoreAdapter> {
  switch (config.kind) {
    case 'esdb':
      return esdbEventStore(config.url);
    case 'postgres':
      return postgresEventStore(pgClient(config.url, { applicationName: options.applicationName ?? 'annals', max: options.maxConnections }));
    case 'pglite':
      await mkdir(config.dir, { recursive: true });
      return postgresEventStore(pgliteClient(await openPglite(config.dir)));
  }
}

import { createEventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { openPglite, pgliteClient } from '../../platform/sql/client.js';
import { oursDriver } from './ours-common.js';
import type { SystemDriver, SystemOptions } from '../lib/system.js';

/**
 * Our event store on PGlite (the embedded mode), fresh per case. In memory: PGlite runs with
 * fsync=off in either mode, so a data directory would add a ~10 s initdb per case, not durability.
 */
export async function open(_options: SystemOptions): Promise<SystemDriver> {
  const client = pgliteClient(await openPglite());
  const store = createEventStore(await postgresEventStore(client));
  return oursDriver(store, client, 'pglite');
}

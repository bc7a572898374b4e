import { createEventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { pgClient } from '../../platform/sql/client.js';
import { oursDriver } from './ours-common.js';
import type { SystemDriver, SystemOptions } from '../lib/system.js';
import { urlFor } from '../lib/system.js';

/** Our event store on the PostgreSQL server: the facade (zod validation) over the pg adapter. */
export async function open({ poolSize }: SystemOptions): Promise<SystemDriver> {
  const client = pgClient(urlFor('ours-pg'), { max: poolSize, applicationName: 'annals-bench' });
  const store = createEventStore(await postgresEventStore(client));
  return oursDriver(store, client, 'postgres');
}

import { createEventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { openPii } from '../../platform/pii/open.js';
import { pgClient } from '../../platform/sql/client.js';
import { oursDriver } from './ours-common.js';
import type { SystemDriver, SystemOptions } from '../lib/system.js';
import { BENCH_PII_MASTER_KEY, urlFor } from '../lib/system.js';

/**
 * Our event store with the GDPR codec on, as every service runs it: each personal field sealed at
 * append with its data subject's key, a new key (created, wrapped, inserted) for each new subject. The
 * key store has its own database on the same server (the read database or KEYSTORE_URL in a
 * deployment), with its own pool; `reset` empties the keys as well, so every case creates its keys.
 */
export async function open({ poolSize }: SystemOptions): Promise<SystemDriver> {
  const client = pgClient(urlFor('ours-pg-pii'), { max: poolSize, applicationName: 'annals-bench' });
  const keys = pgClient(urlFor('ours-pg-pii-keys'), { max: 2, applicationName: 'annals-bench-keys' });
  const { codec } = await openPii(keys, { masterKey: BENCH_PII_MASTER_KEY });
  const store = createEventStore(await postgresEventStore(client), { codec });
  const driver = oursDriver(store, client, 'postgres');
  return {
    ...driver,
    async reset() {
      await driver.reset();
      await keys.exec('TRUNCATE pii_data_keys, pii_key_tombstones');
    },
    async close() {
      await driver.close();
      await keys.close();
    },
  };
}

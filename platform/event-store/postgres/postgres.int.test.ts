import { requireEnv } from '../../testing/require-env.js';
import { eventStoreContract } from '../contract.js';
import { pgClient } from '../../sql/client.js';
import { postgresEventStore } from './adapter.js';

// The same contract on a real PostgreSQL server (`annals stack up`), where 16 writers really run in parallel
// and commit out of position order: the case the xid8/xmin design exists for.
eventStoreContract('PostgreSQL server', async () => postgresEventStore(pgClient(requireEnv('EVENTSTORE_URL'), { max: 24 })), {
  writers: 16,
  appendsPerWriter: 30,
});

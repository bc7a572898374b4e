import type { PGlite } from '@electric-sql/pglite';
import { eventStoreContract } from '../contract.js';
import { openPglite, pgliteClient } from '../../sql/client.js';
import { postgresEventStore } from './adapter.js';

// The embedded default: real PostgreSQL (WASM) in-process, same SQL as the server adapter. The peers the
// contention tests use share the one database (PGlite runs one query at a time, so the real races are the
// server suite's; here they prove the queue and the retry path agree with the contract).
let db: PGlite | undefined;
eventStoreContract('PGlite', async () => postgresEventStore(pgliteClient((db = await openPglite()))), {
  writers: 8,
  appendsPerWriter: 10,
  openPeer: async () => postgresEventStore(pgliteClient(db!, { closeDb: false }), { migrate: false }),
});

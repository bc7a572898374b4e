import { eventStoreContract } from '../contract.js';
import { openPglite, pgliteClient } from '../../sql/client.js';
import { postgresEventStore } from './adapter.js';

// The embedded default: real PostgreSQL (WASM) in-process, same SQL as the server adapter.
eventStoreContract('PGlite', async () => postgresEventStore(pgliteClient(await openPglite())), { writers: 8, appendsPerWriter: 10 });

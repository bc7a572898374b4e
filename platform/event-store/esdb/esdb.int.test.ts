import { describe, it } from 'node:test';
import { eventStoreContract } from '../contract.js';
import type { EventStoreAdapter } from '../port.js';
import { esdbEventStore } from './adapter.js';

// EventStoreDB cannot be installed on the machines CI runs on (no registry carries it, and there is no
// Docker there), so this suite runs wherever ESDB_CONNECTION_STRING points at a real server. The documented
// way, from the repository root (see infra/compose/esdb-contract.yml):
//
//   docker compose -f infra/compose/esdb-contract.yml up -d --wait
//   ESDB_CONNECTION_STRING='esdb://localhost:2114?tls=false' node scripts/run-tests.mjs int event-store/esdb
//   docker compose -f infra/compose/esdb-contract.yml down
//
// Unset, the suite is reported as skipped (by name, never silently green). Set but unreachable, it fails.
const url = process.env.ESDB_CONNECTION_STRING;
const COMMAND = `docker compose -f infra/compose/esdb-contract.yml up -d --wait, then ESDB_CONNECTION_STRING='esdb://localhost:2114?tls=false'`;

async function open(connectionString: string): Promise<EventStoreAdapter> {
  const store = esdbEventStore(connectionString);
  try {
    await store.ping();
  } catch (e) {
    await store.close().catch(() => undefined);
    throw new Error(`EventStoreDB at ${connectionString} does not answer (${(e as Error).message}); start it with: ${COMMAND}`);
  }
  return store;
}

if (url) {
  eventStoreContract('EventStoreDB', () => open(url), { writers: 16, appendsPerWriter: 30, subjectIndex: false });
  // The client resolves a refused append as `{ success: false }` instead of throwing when the connection
  // string says so; the adapter must still report a conflict, never a success.
  const lenient = `${url}${url.includes('?') ? '&' : '?'}throwOnAppendFailure=false`;
  eventStoreContract('EventStoreDB, throwOnAppendFailure=false', () => open(lenient), { writers: 4, appendsPerWriter: 10, longStream: 300, subjectIndex: false });
} else {
  describe('event store contract: EventStoreDB', () => {
    it('needs ESDB_CONNECTION_STRING', { skip: `ESDB_CONNECTION_STRING is not set; run: ${COMMAND}` }, () => {});
  });
}

import { describe, it } from 'node:test';
import { eventStoreContract } from '../contract.js';
import { esdbEventStore } from './adapter.js';

// EventStoreDB cannot be installed on the machines CI runs on (no registry carries it and there is no
// Docker), so this suite runs wherever ESDB_CONNECTION_STRING points at a real server, e.g. the one
// infra/compose starts: ESDB_CONNECTION_STRING=esdb://localhost:2113?tls=false
const url = process.env.ESDB_CONNECTION_STRING;
if (url) {
  eventStoreContract('EventStoreDB', async () => esdbEventStore(url), { writers: 16, appendsPerWriter: 30 });
} else {
  describe('event store contract: EventStoreDB', () => {
    it('needs ESDB_CONNECTION_STRING (infra/compose starts a server)', { skip: 'ESDB_CONNECTION_STRING is not set' }, () => {});
  });
}

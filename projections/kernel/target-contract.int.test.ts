import { after, before, describe } from 'node:test';
import { embeddedBus } from '../../platform/bus/embedded.js';
import type { Bus } from '../../platform/bus/port.js';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { openPglite, pgClient, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import { requireEnv } from '../../platform/testing/require-env.js';
import { memoryContractSubject, postgresContractSubject, targetContract, type ContractDeps } from './target-contract.testing.js';

/**
 * The store-neutral contract with the control tables on a real PostgreSQL server, where transactions run
 * concurrently on several connections: the swap's hold on the live consumer is the row lock (FOR SHARE
 * against FOR UPDATE), not PGlite's single connection. The event store the replays read is an embedded
 * one (the shared server's store holds every other run's history); the bus is the embedded one.
 */
describe('read-model targets (real PostgreSQL control tables)', () => {
  let sql: SqlClient;
  let storeSql: SqlClient;
  let bus: Bus;
  let store: EventStore;
  before(async () => {
    sql = pgClient(requireEnv('READ_DB_URL'), { max: 4, applicationName: 'annals-target-contract' });
    storeSql = pgliteClient(await openPglite());
    bus = embeddedBus({ partitions: 2 });
    store = createEventStore(await postgresEventStore(storeSql));
  });
  after(async () => {
    await bus.close();
    await Promise.all([sql.close(), storeSql.close()]);
  });
  const deps = (): ContractDeps => ({ sql, bus, store });

  targetContract('postgres on the server', deps, async (open) => postgresContractSubject(sql, open));
  targetContract('in-memory store without transactions, control tables on the server', deps, async (open) => memoryContractSubject(sql, open));
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { embeddedBus } from '../../platform/bus/embedded.js';
import type { Bus } from '../../platform/bus/port.js';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { openPglite, pgClient, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import { requireEnv } from '../../platform/testing/require-env.js';
import { controlledTarget } from './controlled.js';
import { memoryReadModel } from './memory-target.testing.js';
import { createProjector } from './projector.js';
import { deleteControlRows, memoryContractSubject, postgresContractSubject, targetContract, type ContractDeps } from './target-contract.testing.js';
import { batchOf, RawHistory, within } from './testing.js';

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

  test("a store's write runs with no transaction id held in the control database (event-store readers are not held back)", async () => {
    const name = `contract-xid-${randomUUID().slice(0, 8)}`;
    const app = `annals-xid-${randomUUID().slice(0, 8)}`;
    const control = pgClient(requireEnv('READ_DB_URL'), { max: 2, applicationName: app });
    const observed: number[] = [];
    const model = memoryReadModel({
      name,
      onWrite: async () => {
        const { rows } = await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_stat_activity WHERE application_name = $1 AND backend_xid IS NOT NULL`, [app]);
        observed.push(Number(rows[0]!.n));
      },
    });
    const target = controlledTarget(control, model);
    const stop = new AbortController();
    try {
      await target.register();
      const projector = createProjector({ target, bus, log: pino({ level: 'silent' }) });
      const h = new RawHistory();
      const a = randomUUID();
      await within(projector.handleBatch(batchOf([h.capture('t1', a), h.score('t1', a, 3)], { partition: 0 }), stop.signal), 10_000, 'the batch');
      assert.deepEqual(model.rows(), [{ leadId: a, tenantId: 't1', score: 3, events: 2 }]);
      assert.ok(observed.length > 0, 'the write ran');
      assert.deepEqual(observed, observed.map(() => 0), 'no transaction id held while the store wrote');
    } finally {
      stop.abort();
      await deleteControlRows(sql, name);
      await control.close();
    }
  });
});

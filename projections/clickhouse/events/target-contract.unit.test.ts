import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { chdbEngine } from '../../../platform/analytics/chdb.js';
import { embeddedBus } from '../../../platform/bus/embedded.js';
import type { Bus } from '../../../platform/bus/port.js';
import { createEventStore, type EventStore } from '../../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../../platform/event-store/postgres/adapter.js';
import { openPglite, pgliteClient, type SqlClient } from '../../../platform/sql/client.js';
import { targetContract } from '../../kernel/target-contract.testing.js';
import { clickhouseContractSubject } from './contract.testing.js';

/** The store-neutral target contract on chDB: the fact-table model behind controlledTarget, through the real runtime. */
describe('ClickHouse target on chDB (PGlite control tables, embedded bus)', () => {
  let sql: SqlClient;
  let storeSql: SqlClient;
  let bus: Bus;
  let store: EventStore;
  let path: string;
  before(async () => {
    sql = pgliteClient(await openPglite());
    storeSql = pgliteClient(await openPglite());
    bus = embeddedBus({ partitions: 2 });
    store = createEventStore(await postgresEventStore(storeSql));
    path = join(await mkdtemp(join(tmpdir(), 'annals-chdb-contract-')), 'analytics');
  });
  after(async () => {
    await bus.close();
    await Promise.all([sql.close(), storeSql.close()]);
  });
  // chDB holds one session per process: each test's subject opens it on its own database and closes it.
  targetContract('clickhouse (chDB): fact table, data first then the checkpoint', () => ({ sql, bus, store }), (open) =>
    clickhouseContractSubject(sql, async (database) => {
      const engine = await chdbEngine({ path, database });
      return { ...engine, dropDatabase: () => engine.command(`DROP DATABASE IF EXISTS ${database}`) };
    }, open),
  );
});

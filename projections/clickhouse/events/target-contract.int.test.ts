import { after, before, describe } from 'node:test';
import { clickhouseServerEngine } from '../../../platform/analytics/server.js';
import { embeddedBus } from '../../../platform/bus/embedded.js';
import type { Bus } from '../../../platform/bus/port.js';
import { createEventStore, type EventStore } from '../../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../../platform/event-store/postgres/adapter.js';
import { openPglite, pgliteClient, type SqlClient } from '../../../platform/sql/client.js';
import { requireEnv } from '../../../platform/testing/require-env.js';
import { targetContract } from '../../kernel/target-contract.testing.js';
import { clickhouseContractSubject } from './contract.testing.js';

/** The store-neutral target contract on the ClickHouse 18.16 server: a database per test, dropped after. */
describe('ClickHouse target on the ClickHouse server (PGlite control tables, embedded bus)', () => {
  let sql: SqlClient;
  let storeSql: SqlClient;
  let bus: Bus;
  let store: EventStore;
  before(async () => {
    sql = pgliteClient(await openPglite());
    storeSql = pgliteClient(await openPglite());
    bus = embeddedBus({ partitions: 2 });
    store = createEventStore(await postgresEventStore(storeSql));
  });
  after(async () => {
    await bus.close();
    await Promise.all([sql.close(), storeSql.close()]);
  });
  const url = requireEnv('CLICKHOUSE_URL');
  targetContract('clickhouse (server 18.16): fact table, data first then the checkpoint', () => ({ sql, bus, store }), (open) =>
    clickhouseContractSubject(sql, (database) => clickhouseServerEngine({ url, database: `${database}_${Date.now().toString(36)}` }), open),
  );
});

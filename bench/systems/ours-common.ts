import type { EventStore, NewEvent } from '../../platform/event-store/event-store.js';
import type { SqlClient } from '../../platform/sql/client.js';
import type { SystemDriver } from '../lib/system.js';
import { describeSql } from './describe.js';

export function oursDriver(store: EventStore, client: SqlClient, engine: string): SystemDriver {
  return {
    async reset() {
      await client.exec('TRUNCATE annals_events');
    },
    async append(streamId, events, existing) {
      // What handleCommand does: the exact revision it read, or no_stream for a create.
      // BenchEvent types roles as plain strings; the store's zod validation is what checks them, and is measured.
      await store.append(streamId, events as readonly NewEvent[], { expectedRevision: existing === 0 ? 'no_stream' : BigInt(existing - 1) });
    },
    async readStream(streamId) {
      // The public read path: parseEvent validates and upcasts every event.
      return (await store.readStream(streamId)).length;
    },
    describe: () => describeSql((sql) => client.query(sql), engine),
    close: () => store.close(),
  };
}

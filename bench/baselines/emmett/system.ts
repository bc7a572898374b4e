import pg from 'pg';
import type { BenchEvent } from '../../lib/events.js';
import type { SystemDriver, SystemOptions } from '../../lib/system.js';
import { urlFor } from '../../lib/system.js';
import { describeSql } from '../../systems/describe.js';

/**
 * emmett's PostgreSQL event store (0.42.0), installed in this folder (see package.json: its uuid@^10
 * peer clashes with the root's uuid@^14). `pg` here resolves to this folder's copy, the very instance
 * emmett's dumbo configures (int8 → BigInt, a JSON reviver), and it is the same version as the root's.
 *
 * The module is imported through a variable so that `tsc` over the repo does not need this folder
 * installed; the slice of its API used here is typed by hand from its index.d.ts.
 */
interface EmmettStore {
  appendToStream(streamName: string, events: readonly BenchEvent[], options?: { expectedStreamVersion?: bigint | string }): Promise<unknown>;
  readStream(streamName: string): Promise<{ events: unknown[] }>;
  schema: { migrate(): Promise<void>; dangerous: { truncate(): Promise<void> } };
  close(): Promise<void>;
}
interface EmmettModule {
  getPostgreSQLEventStore(connectionString: string, options?: { connectionOptions?: { pool: pg.Pool } }): EmmettStore;
}

const EMMETT = '@event-driven-io/emmett-postgresql';

export async function open({ poolSize }: SystemOptions): Promise<SystemDriver> {
  const { getPostgreSQLEventStore } = (await import(EMMETT)) as EmmettModule;
  const url = urlFor('emmett-pg');
  // emmett's own pool is pg's default (max 10); hand it one of the same size as ours and raw's.
  const pool = new pg.Pool({ connectionString: url, max: poolSize, application_name: 'annals-bench' });
  const store = getPostgreSQLEventStore(url, { connectionOptions: { pool } });
  await store.schema.migrate();
  return {
    reset: () => store.schema.dangerous.truncate(),
    async append(streamId, events, existing) {
      // emmett counts versions from 1 (the number of events); 0n means "a new stream".
      await store.appendToStream(streamId, events, { expectedStreamVersion: BigInt(existing) });
    },
    async readStream(streamId) {
      return (await store.readStream(streamId)).events.length;
    },
    describe: () => describeSql(async (sql) => ({ rows: (await pool.query(sql)).rows as Record<string, unknown>[] }), 'postgres'),
    async close() {
      await store.close();
      await pool.end();
    },
  };
}

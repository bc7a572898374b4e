import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { signDevToken } from '../../platform/auth/sign.js';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { pgClient, type SqlClient } from '../../platform/sql/client.js';
import { urlFor } from '../lib/system.js';
import { describeSql } from './describe.js';

/** A command server under test, listening on 127.0.0.1, with a token its routes accept. */
export interface HttpService {
  readonly url: string;
  readonly token: string;
  describe(): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export const BENCH_AUTH = { secret: randomBytes(32).toString('base64url'), issuer: 'annals-bench', audience: 'annals-bench-api' } as const;
export const BENCH_PRINCIPAL = { tenant: 'tenant-bench', sub: 'user-bench', roles: ['sales' as const] };

/**
 * Our event store on the PostgreSQL server, emptied: both HTTP systems append through this very
 * facade (zod validation + annals_append_many), in ours-pg's database, so they differ only in the HTTP layer.
 */
export async function benchStore(poolSize: number): Promise<{ store: EventStore; sql: SqlClient }> {
  const sql = pgClient(urlFor('ours-pg'), { max: poolSize, applicationName: 'annals-bench' });
  const store = createEventStore(await postgresEventStore(sql));
  await sql.exec('TRUNCATE annals_events');
  return { store, sql };
}

export async function listen(app: FastifyInstance, store: EventStore, sql: SqlClient): Promise<HttpService> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('the app is not listening on a TCP port');
  const token = await signDevToken({ ...BENCH_AUTH, ...BENCH_PRINCIPAL, ttlSeconds: 3600 });
  return {
    url: `http://127.0.0.1:${address.port}`,
    token,
    describe: () => describeSql((q) => sql.query(q), 'postgres'),
    close: async () => {
      await app.close();
      await store.close();
    },
  };
}

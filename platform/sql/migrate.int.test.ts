import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { eventStoreMigrations } from '../event-store/postgres/schema.js';
import { requireEnv } from '../testing/require-env.js';
import { pgClient, type SqlClient } from './client.js';
import { MigrationChangedError, migrate } from './migrate.js';

// Several processes starting at once on a real server, each migrating the same fresh schema: exactly one
// applies each migration, none fails (the migrations table itself is created under the lock).
describe('migrate on a PostgreSQL server', () => {
  const schema = `mig_${uuidv7().replaceAll('-', '')}`;
  let admin: SqlClient;
  const clients: SqlClient[] = [];
  const inSchema = () => {
    const url = new URL(requireEnv('EVENTSTORE_URL'));
    url.searchParams.set('options', `-c search_path=${schema}`);
    const c = pgClient(url.toString(), { max: 2 });
    clients.push(c);
    return c;
  };
  before(async () => {
    admin = pgClient(requireEnv('EVENTSTORE_URL'), { max: 1 });
    await admin.exec(`CREATE SCHEMA ${schema}`);
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
    await admin.close();
  });

  it('six concurrent starts: every migration applied exactly once, in one of them', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => migrate(inSchema(), eventStoreMigrations)));
    const applied = results.flat().sort();
    assert.deepEqual(applied, eventStoreMigrations.map((m) => m.name).sort());
    const { rows } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.annals_migrations WHERE checksum IS NOT NULL`);
    assert.equal(rows[0]!.n, eventStoreMigrations.length);
  });

  it('an edited migration refuses to start on the server too', async () => {
    const edited = eventStoreMigrations.map((m, i) => (i === 0 ? { ...m, sql: `${m.sql}\n-- edited` } : m));
    await assert.rejects(migrate(inSchema(), edited), MigrationChangedError);
  });
});

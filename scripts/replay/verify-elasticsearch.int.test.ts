import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@elastic/elasticsearch';
import pg from 'pg';
import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { openElasticsearch } from '../../platform/elasticsearch/client.js';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { pgClient, type SqlClient } from '../../platform/sql/client.js';
import { requireEnv } from '../../platform/testing/require-env.js';
import { documentIdOf, indexOf } from '../../schemas/read-models/elasticsearch/indices.js';
import { elasticsearchModel } from '../../projections/elasticsearch/model.js';
import { controlledTarget } from '../../projections/kernel/controlled.js';
import type { ReadModelTarget } from '../../projections/kernel/target.js';
import { formatRebuild, formatVerify } from '../cli/commands/replay-rebuild.js';
import { rebuildModels } from './rebuild.js';
import { elasticsearchComparator } from './verify-elasticsearch.js';
import { verifyModels } from './verify.js';

/**
 * Rebuild and verify of the Elasticsearch search model on the real servers: the rebuild fills a new index
 * generation behind the aliases from one read of the event store and switches; verify then finds nothing,
 * and finds a document deleted by hand from the live index (missing, with its id) and one changed by hand
 * (different, with the field). Own databases, own index prefix; all removed at the end.
 */
describe('replay rebuild + verify: Elasticsearch (real servers)', { timeout: 240_000 }, () => {
  const run = randomUUID().replace(/-/g, '').slice(0, 10);
  const prefix = `v${run}_`;
  const tenant = `t-${run}`;
  const base = new URL(requireEnv('EVENTSTORE_URL'));
  const urlOf = (db: string) => Object.assign(new URL(base), { pathname: `/${db}` }).toString();
  const dbs = [`annals_vres_es_${run}`, `annals_vres_read_${run}`];
  const log = pino({ level: 'silent' });
  let admin: pg.Client;
  let client: Client;
  let storeSql: SqlClient;
  let readSql: SqlClient;
  let store: EventStore;
  let target: ReadModelTarget;
  const contacts: string[] = [];

  before(async () => {
    client = openElasticsearch(requireEnv('ELASTICSEARCH_URL'));
    admin = new pg.Client({ connectionString: base.toString() });
    await admin.connect();
    for (const db of dbs) await admin.query(`CREATE DATABASE ${db}`);
    storeSql = pgClient(urlOf(dbs[0]!), { max: 2 });
    readSql = pgClient(urlOf(dbs[1]!), { max: 4 });
    store = createEventStore(await postgresEventStore(storeSql));
    target = controlledTarget(readSql, elasticsearchModel({ client, prefix, log }));
    await target.register();
    const meta = { tenantId: tenant, actor: { userId: 'u1', roles: ['sales' as const] }, correlationId: 'c', causationId: 'c', occurredAt: new Date().toISOString() };
    for (let i = 0; i < 30; i++) {
      const id = uuidv7();
      contacts.push(id);
      await store.append(`contact-${id}`, [
        { type: 'ContactCreated', data: { contactId: id, firstName: `Zoë${i}`, lastName: 'Smith', email: `z${i}@example.com`, company: 'ACME Corporation', customFields: {}, tags: [] }, metadata: meta },
        { type: 'ContactUpdated', data: { contactId: id, title: `Title ${i}` }, metadata: meta },
      ]);
    }
  });
  after(async () => {
    await client.indices.delete({ index: `${prefix}*`, ignore_unavailable: true, allow_no_indices: true }).catch(() => undefined);
    await client.close();
    await Promise.allSettled([storeSql.close(), readSql.close()]);
    for (const db of dbs) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  });

  it('rebuilds behind the aliases; verify finds nothing, then a document deleted and one changed by hand', async () => {
    const rebuilt = await rebuildModels([target], { store, log, controlSql: readSql, batchSize: 17, graceMs: 0 });
    assert.equal(rebuilt.switched, true, formatRebuild(rebuilt));
    const comparators = new Map([[target.name, elasticsearchComparator(client, prefix)]]);
    const clean = await verifyModels([target], { store, log, controlSql: readSql, comparators, settleMs: 500 });
    const index = indexOf('contact', (await target.live())!.generation, prefix);
    assert.deepEqual(clean.models[0]!.differences, [], formatVerify(clean));
    assert.equal(clean.models[0]!.rows[index], 30);

    const gone = documentIdOf(tenant, contacts[3]!);
    const changed = documentIdOf(tenant, contacts[4]!);
    await client.delete({ index, id: gone, refresh: true });
    await client.update({ index, id: changed, doc: { company: 'Tampered Ltd' }, refresh: true });
    const dirty = await verifyModels([target], { store, log, controlSql: readSql, comparators, settleMs: 500 });
    assert.deepEqual(
      dirty.models[0]!.differences.map((d) => [d.kind, d.table, d.key, d.kind === 'different' ? d.columns : []]).sort(),
      [
        ['different', index, { id: changed }, ['company']],
        ['missing', index, { id: gone }, []],
      ].sort(),
      formatVerify(dirty),
    );
  });
});

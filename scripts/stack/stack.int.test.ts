// Every server of `annals stack up` answers a real query at the address `annals stack env`
// exports. Also pins the client/server pairings we rely on (ES client major = server major).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import kafkajs from 'kafkajs';
import { Client as EsClient } from '@elastic/elasticsearch';
import { requireEnv } from '../../platform/testing/require-env.js';

async function pgQuery(url: string, sql: string): Promise<pg.QueryResultRow[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('annals stack servers', () => {
  test('postgres answers SELECT 1 on the event store and read databases, durably configured', async () => {
    for (const name of ['DATABASE_URL', 'EVENTSTORE_URL', 'READ_DB_URL']) {
      const rows = await pgQuery(requireEnv(name), 'SELECT 1 AS one');
      assert.equal(rows[0]?.one, 1, name);
    }
    const settings = await pgQuery(requireEnv('DATABASE_URL'), "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit')");
    assert.deepEqual(Object.fromEntries(settings.map((r) => [r.name, r.setting])), { fsync: 'on', synchronous_commit: 'on' });
  });

  test('clickhouse answers SELECT version() over HTTP', async () => {
    const res = await fetch(`${requireEnv('CLICKHOUSE_URL')}/?query=${encodeURIComponent('SELECT version()')}`);
    assert.equal(res.status, 200);
    assert.match((await res.text()).trim(), /^\d+\.\d+/);
  });

  test('elasticsearch reports cluster health through the matching client, and fuzzy search works', async () => {
    const es = new EsClient({ node: requireEnv('ELASTICSEARCH_URL') });
    try {
      const health = await es.cluster.health();
      assert.ok(['green', 'yellow'].includes(health.status), health.status);
      // The integ-test-zip has only core analysis: prove the fuzzy matching the search read
      // model relies on works with it.
      const index = `stack-test-${Date.now()}`;
      await es.index({ index, id: '1', document: { name: 'Ada Lovelace', company: 'Analytical Engines' }, refresh: true });
      const hits = await es.search({ index, query: { match: { name: { query: 'Lovelce', fuzziness: 'AUTO' } } } });
      assert.equal(hits.hits.hits[0]?._id, '1');
      await es.indices.delete({ index });
    } finally {
      await es.close();
    }
  });

  test('kafka answers admin listTopics', async () => {
    const kafka = new kafkajs.Kafka({ clientId: 'stack-int-test', brokers: requireEnv('KAFKA_BROKERS').split(','), logLevel: kafkajs.logLevel.WARN });
    const admin = kafka.admin();
    await admin.connect();
    try {
      assert.ok(Array.isArray(await admin.listTopics()));
    } finally {
      await admin.disconnect();
    }
  });
});

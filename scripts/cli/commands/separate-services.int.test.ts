import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createClient } from '@clickhouse/client';
import kafkajs from 'kafkajs';
import { allEventsTopics } from '../../../platform/bus/topics.js';
import { openElasticsearch } from '../../../platform/elasticsearch/client.js';
import { pgClient, type SqlClient } from '../../../platform/sql/client.js';
import { requireEnv } from '../../../platform/testing/require-env.js';
import { postgresProjections } from '../../../projections/postgres/index.js';
import { bearer, TEST_AUDIENCE, TEST_ISSUER, TEST_SECRET, token } from '../../../write-side/testing.js';
import { cli, waitFor } from './testing.js';

/**
 * The four services as compose runs them, each its OWN process on the real servers: `annals write-side`,
 * the relay, `annals projections`, `annals query-api` — on PostgreSQL (event store and read database:
 * databases of this run), Kafka, Elasticsearch (an index prefix of this run) and ClickHouse (a database of
 * this run). A command sent to the command API is read back through GraphQL with X-Consistent-With as an
 * entity, a search hit and an analytics figure: each read sees the write, so the projections service
 * projects into every store the query API reads and the query API can wait for every model (one read-side
 * wiring: read-side-wiring.ts).
 *
 * Kafka isolation: topic and projector group names are part of the contract (platform/bus/topics.ts), so
 * the run starts every projector group at the topics' current end (older messages are other runs'), and
 * records that end as each model's consumed offsets (as a model that had read the topics so far would have:
 * the relay's recorded offsets cover every partition of a topic it touched, other runs' messages included).
 */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });

const models = [...postgresProjections.map((p) => p.name), 'search_es', 'analytics_events'];
const kafkaAdmin = () => new kafkajs.Kafka({ brokers: requireEnv('KAFKA_BROKERS').split(','), clientId: 'annals-separate-services-test', logLevel: kafkajs.logLevel.NOTHING }).admin();

const relayEntry = fileURLToPath(new URL('../../../write-side/relay/main.ts', import.meta.url));

interface Service {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
}

function startService(name: string, args: string[], env: NodeJS.ProcessEnv): Service {
  // Its own process group: a stop that must kill reaches the launcher AND the CLI process it runs.
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (out += String(d)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  return { name, child, exited, output: () => out.slice(-4_000) };
}

/** SIGTERM, then SIGKILL after 20 s: a service that does not stop must not outlive the test. */
async function stopService(s: Service): Promise<number | null | 'killed'> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return s.child.exitCode;
  s.child.kill('SIGTERM');
  const code = await Promise.race([s.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000).unref())]);
  if (code !== 'timeout') return code;
  try {
    process.kill(-s.child.pid!, 'SIGKILL');
  } catch {
    // the group is already gone
  }
  await Promise.race([s.exited, new Promise((r) => setTimeout(r, 5_000).unref())]);
  return 'killed';
}

describe('write-side, relay, projections, query API as separate processes on the real servers', { timeout: 420_000 }, () => {
  const run = randomUUID().replaceAll('-', '').slice(0, 12);
  const dbs = { events: `annals_sep_es_${run}`, read: `annals_sep_read_${run}` };
  const indexPrefix = `sep-${run}-`;
  const chDatabase = `annals_sep_${run}`;
  let admin: SqlClient;
  const at = (db: string) => Object.assign(new URL(requireEnv('READ_DB_URL')), { pathname: `/${db}` }).toString();

  before(async () => {
    for (const v of ['READ_DB_URL', 'KAFKA_BROKERS', 'ELASTICSEARCH_URL', 'CLICKHOUSE_URL']) requireEnv(v);
    admin = pgClient(requireEnv('READ_DB_URL'), { max: 1 });
    for (const db of Object.values(dbs)) await admin.exec(`CREATE DATABASE ${db}`);
    // Every projector group starts at the topics' current end (a group with members refuses: a loud failure).
    const kadmin = kafkaAdmin();
    await kadmin.connect();
    try {
      const existing = new Set(await kadmin.listTopics());
      const missing = allEventsTopics.filter((t) => !existing.has(t));
      if (missing.length > 0) await kadmin.createTopics({ topics: missing.map((topic) => ({ topic, numPartitions: 6, replicationFactor: 1 })) });
      // The numeric end, not `resetOffsets({ earliest: false })`: that commits -1 ("latest"), which the broker
      // keeps as no offset at all, and the projectors (fromBeginning) then read every topic from offset 0: on a
      // long-lived server, 100,000s of other runs' messages ahead of this test's.
      const ends = new Map(await Promise.all(allEventsTopics.map(async (topic) => [topic, await kadmin.fetchTopicOffsets(topic)] as const)));
      await Promise.all(
        models.map(async (model) => {
          for (const [topic, offsets] of ends) {
            await kadmin.setOffsets({ groupId: `annals.projector.${model}`, topic, partitions: offsets.map((o) => ({ partition: o.partition, offset: o.high })) });
          }
        }),
      );
    } finally {
      await kadmin.disconnect();
    }
  });
  after(async () => {
    for (const db of Object.values(dbs)) await admin.exec(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => {});
    await admin.close();
    const es = openElasticsearch(requireEnv('ELASTICSEARCH_URL'));
    const indices = Object.keys(await es.indices.get({ index: `${indexPrefix}*`, expand_wildcards: 'all' }).catch(() => ({})));
    if (indices.length > 0) await es.indices.delete({ index: indices }).catch(() => {});
    await es.close();
    const ch = createClient({ url: requireEnv('CLICKHOUSE_URL') });
    await ch.command({ query: `DROP DATABASE IF EXISTS ${chDatabase}` }).catch(() => {});
    await ch.close();
  });

  it('a command is read back through GraphQL with X-Consistent-With: entity, search, analytics', async () => {
    const [writePort, queryPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      EVENTSTORE_URL: at(dbs.events),
      READ_DB_URL: at(dbs.read),
      RELAY_CHECKPOINT_DB_URL: at(dbs.read),
      KEYSTORE_URL: '',
      KAFKA_BROKERS: requireEnv('KAFKA_BROKERS'),
      ELASTICSEARCH_URL: requireEnv('ELASTICSEARCH_URL'),
      ELASTICSEARCH_INDEX_PREFIX: indexPrefix,
      CLICKHOUSE_URL: requireEnv('CLICKHOUSE_URL'),
      CLICKHOUSE_DATABASE: chDatabase,
      ANALYTICS: 'on',
      AUTH_JWT_SECRET: TEST_SECRET,
      AUTH_ISSUER: TEST_ISSUER,
      AUTH_AUDIENCE: TEST_AUDIENCE,
      PII_MASTER_KEY: randomBytes(32).toString('base64'),
      GDPR_RETENTION_INTERVAL_MS: '0',
      QUERY_CONSISTENCY_MAX_WAIT_MS: '45000',
      PROJECTIONS_METRICS_PORT: String(metricsPort),
      KAFKA_SESSION_TIMEOUT_MS: '10000',
    };
    const services: Service[] = [];
    let passed = false;
    try {
      // The write side first: it creates the event store's schema and the key tables the others read.
      services.push(startService('write-side', [cli, 'write-side'], { ...env, PORT: String(writePort) }));
      const writeBase = `http://127.0.0.1:${writePort}`;
      const queryBase = `http://127.0.0.1:${queryPort}`;
      const context = () => services.map((s) => `--- ${s.name} (exit ${String(s.child.exitCode)}):\n${s.output()}`).join('\n');
      await waitFor(async () => (await fetch(`${writeBase}/readyz`)).ok, 120_000, () => `write-side not ready\n${context()}`);
      services.push(startService('relay', ['--import', 'tsx', relayEntry], env));
      services.push(startService('projections', [cli, 'projections'], env));
      services.push(startService('query-api', [cli, 'query-api'], { ...env, PORT: String(queryPort) }));
      await waitFor(async () => (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).ok, 150_000, () => `projections not ready\n${context()}`);
      await waitFor(async () => (await fetch(`${queryBase}/readyz`)).ok, 150_000, () => `query-api not ready\n${context()}`);
      const read = pgClient(at(dbs.read), { max: 1 });
      const kadmin = kafkaAdmin();
      try {
        await kadmin.connect();
        for (const topic of allEventsTopics) {
          for (const { partition, high } of await kadmin.fetchTopicOffsets(topic)) {
            for (const model of models) {
              await read.query(
                `INSERT INTO annals_projection_offsets(name, topic, partition, next_offset) VALUES ($1, $2, $3, $4::bigint) ON CONFLICT (name, topic, partition) DO UPDATE SET next_offset = GREATEST(annals_projection_offsets.next_offset, EXCLUDED.next_offset)`,
                [model, topic, partition, high],
              );
            }
          }
        }
      } finally {
        await kadmin.disconnect();
        await read.close();
      }
      for (const s of services) assert.equal(s.child.exitCode, null, `${s.name} exited\n${context()}`);

      const tenant = `tenant-${run}`;
      const writer = bearer(await token({ tenant, sub: 'u-1', roles: ['sales'] }));
      const reader = bearer(await token({ tenant, sub: 'u-2', roles: ['admin'] }));
      const post = async (path: string, body: unknown) => {
        const res = await fetch(`${writeBase}/api/v1${path}`, { method: 'POST', headers: { ...writer, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        assert.equal(res.status, 201, `${path}: ${await res.clone().text()}`);
        return (await res.json()) as { id: string; position: string };
      };
      const graphql = async (query: string, variables: Record<string, unknown>, position: string) => {
        const res = await fetch(`${queryBase}/graphql`, {
          method: 'POST',
          headers: { ...reader, 'content-type': 'application/json', 'x-consistent-with': position },
          body: JSON.stringify({ query, variables }),
          signal: AbortSignal.timeout(90_000),
        });
        const body = (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[]; extensions?: { consistency?: { stale: boolean } } };
        assert.equal(res.status, 200, JSON.stringify(body));
        assert.equal(body.errors, undefined, JSON.stringify(body.errors));
        assert.equal(body.extensions?.consistency?.stale, false, `stale read: ${JSON.stringify(body)}\n${context()}`);
        return body.data!;
      };

      const company = `Zephyrine Works ${run}`;
      const contact = await post('/contacts', { firstName: 'Katherine', lastName: `Johnson${run}`, email: `kj-${run}@example.com`, company });
      const entity = await graphql(`query ($id: ID!) { contact(id: $id) { id company } }`, { id: contact.id }, contact.position);
      assert.deepEqual(entity.contact, { id: contact.id, company });
      const search = await graphql(`query ($text: String!) { search(text: $text) { __typename ... on Contact { id } } }`, { text: `Johnson${run}` }, contact.position);
      assert.deepEqual(search.search, [{ __typename: 'Contact', id: contact.id }]);

      const source = 'referral'; // the tenant and the fact table's database are this run's: its only lead
      const lead = await post('/leads', { source, name: `Mary Jackson ${run}`, email: `mj-${run}@example.com` });
      const analytics = await graphql(`query ($s: [String!]) { analytics { leadFunnel(granularity: ALL, sources: $s) { source captured } } }`, { s: [source] }, lead.position);
      assert.deepEqual((analytics.analytics as { leadFunnel: unknown }).leadFunnel, [{ source, captured: 1 }]);
      passed = true;
    } finally {
      const codes: [string, number | null | 'killed'][] = [];
      for (const s of [...services].reverse()) codes.push([s.name, await stopService(s)]);
      // Every service stops cleanly on SIGTERM (0), none had to be killed (not to hide the first failure).
      if (passed)
        assert.deepEqual(
        codes.filter(([, c]) => c !== 0),
        [],
        services.map((s) => `--- ${s.name}:\n${s.output()}`).join('\n'),
      );
    }
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { signDevToken } from '../../platform/auth/sign.js';
import { createTokenVerifier } from '../../platform/auth/verify.js';
import { kafkaBus } from '../../platform/bus/kafka.js';
import type { Bus } from '../../platform/bus/port.js';
import { allEventsTopics } from '../../platform/bus/topics.js';
import { createEventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { pgClient, type SqlClient } from '../../platform/sql/client.js';
import { requireEnv } from '../../platform/testing/require-env.js';
import { startProjections, type ProjectionsHandle } from '../../projections/main.js';
import { contactsProjection } from '../../projections/postgres/index.js';
import { postgresReadModelTarget } from '../../projections/postgres/target.js';
import { createConsistencyGate, sqlProgress } from '../../query-api/consistency/gate.js';
import { DEFAULT_LIMITS } from '../../query-api/config.js';
import { createQueryApi, type QueryApi } from '../../query-api/service.js';
import { sqlRelayCheckpoint } from '../../write-side/relay/checkpoint.js';
import { startRelay, type RelayHandle } from '../../write-side/relay/main.js';
import { bearer, send, testApp, token, type TestApp } from '../../write-side/testing.js';
import { AUDIENCE, ISSUER, SECRET } from './testing.js';

/**
 * Read-your-writes on the real servers (issue 11 §3): command API → PostgreSQL event store → relay →
 * Kafka (partitions advancing independently) → contacts projector → PostgreSQL, and GraphQL with
 * `X-Consistent-With: <the command's position>`. Many writers on many streams: the read right after each
 * command shows that command, every time. Then the projector is held back: the answer is stale.
 *
 * Isolation on shared servers: a fresh database holds this run's event store and read model; the
 * projector has a run-unique name (its own consumer group) and starts at the topics' current end.
 */
describe('read-your-writes on PostgreSQL + Kafka', { timeout: 240_000 }, () => {
  const run = randomUUID().replace(/-/g, '').slice(0, 10);
  const database = `annals_ryw_${run}`;
  const projection = { ...contactsProjection, name: `contacts-ryw-${run}` };
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  let admin: SqlClient;
  let sql: SqlClient;
  let w: TestApp;
  let bus: Bus;
  let relay: RelayHandle;
  let projections: ProjectionsHandle | undefined;
  let api: QueryApi;

  before(async () => {
    const readUrl = requireEnv('READ_DB_URL');
    const brokers = requireEnv('KAFKA_BROKERS');
    admin = pgClient(readUrl, { max: 1 });
    await admin.exec(`CREATE DATABASE ${database}`);
    const url = new URL(readUrl);
    url.pathname = `/${database}`;
    sql = pgClient(url.toString(), { max: 10 });
    const store = createEventStore(await postgresEventStore(sql));
    w = await testApp({ store });
    bus = kafkaBus({ brokers: brokers.split(','), clientId: `ryw-${run}`, sessionTimeoutMs: 6_000, log });
    await postgresReadModelTarget(sql, projection).register();
    // A new group on shared topics: start at their current end (older messages are other runs').
    await bus.ensureTopics(allEventsTopics);
    for (const topic of allEventsTopics) {
      for (const [partition, end] of await bus.endOffsets(topic)) {
        await sql.query(`INSERT INTO annals_projection_offsets(name, topic, partition, next_offset) VALUES ($1, $2, $3, $4::bigint)`, [projection.name, topic, partition, end.toString()]);
      }
    }
    relay = startRelay({ store, bus, checkpoint: await sqlRelayCheckpoint(sql, `ryw-${run}`), log });
    projections = await startProjections({ readSql: sql, store, bus, log, projections: [projection] });
    api = await createQueryApi({
      readSql: sql,
      verifier: createTokenVerifier({ keys: { kind: 'secret', secret: SECRET }, issuer: ISSUER, audience: AUDIENCE }),
      logger: log,
      limits: DEFAULT_LIMITS,
      consistency: createConsistencyGate({ relaySql: sql, relayName: `ryw-${run}`, sources: [sqlProgress(sql, { contacts: projection.name })], maxWaitMs: 10_000 }),
    });
  });
  after(async () => {
    await api?.stop();
    await projections?.stop();
    await relay?.stop();
    await bus?.close();
    await w?.close();
    await sql?.close();
    await admin?.exec(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    await admin?.close();
  });

  const company = async (id: string, position: string) => {
    const tok = await signDevToken({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, tenant: `t-${run}`, sub: 'reader', roles: ['sales'], ttlSeconds: 600 });
    const res = await api.app.inject({
      method: 'POST',
      url: '/graphql',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tok}`, 'x-consistent-with': position },
      payload: JSON.stringify({ query: `query($id: ID!) { contact(id: $id) { company } }`, variables: { id } }),
    });
    const body = res.json() as { data: { contact: { company: string } | null }; extensions?: { consistency?: { stale: boolean; waitedMs: number } } };
    return { company: body.data?.contact?.company, consistency: body.extensions?.consistency };
  };

  it('8 writers × 10 commands on 8 streams: GraphQL with X-Consistent-With sees each command at once', async () => {
    const h = bearer(await token({ tenant: `t-${run}`, roles: ['sales'] }));
    const misses: string[] = [];
    const waits: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, writer) => {
        const created = await send(w.app, 'POST', '/api/v1/contacts', { firstName: `Writer ${writer}`, company: `c-${writer}-0` }, h);
        assert.equal(created.statusCode, 201, created.body);
        let { id, position } = created.json<{ id: string; position: string }>();
        for (let i = 0; ; i++) {
          const seen = await company(id, position);
          waits.push(seen.consistency?.waitedMs ?? -1);
          if (seen.consistency?.stale !== false || seen.company !== `c-${writer}-${i}`) misses.push(`${writer}/${i}: ${JSON.stringify(seen)}`);
          if (i === 9) break;
          const res = await send(w.app, 'PATCH', `/api/v1/contacts/${id}`, { company: `c-${writer}-${i + 1}` }, h);
          assert.equal(res.statusCode, 200, res.body);
          ({ position } = res.json<{ position: string }>());
          id = res.json<{ id: string }>().id ?? id;
        }
      }),
    );
    assert.deepEqual(misses, [], 'every read right after a command sees it');
    waits.sort((a, b) => a - b);
    // Logged for the README figures (not asserted: timings are not tests).
    log.info({ p50: waits[Math.floor(waits.length / 2)], max: waits[waits.length - 1] }, 'read-your-writes wait on Kafka (ms)');
  });

  it('the projector held back: the answer is stale after the bounded wait and says how far the model got', async () => {
    const h = bearer(await token({ tenant: `t-${run}`, roles: ['sales'] }));
    const created = await send(w.app, 'POST', '/api/v1/contacts', { firstName: 'Held', company: 'before' }, h);
    const { id, position: before } = created.json<{ id: string; position: string }>();
    assert.equal((await company(id, before)).company, 'before');
    await projections!.stop();
    projections = undefined;
    const res = await send(w.app, 'PATCH', `/api/v1/contacts/${id}`, { company: 'after' }, h);
    const position = res.json<{ position: string }>().position;
    const gate = createConsistencyGate({ relaySql: sql, relayName: `ryw-${run}`, sources: [sqlProgress(sql, { contacts: projection.name })], maxWaitMs: 500 });
    const outcome = await gate.waitFor(BigInt(position), ['contacts']);
    assert.equal(outcome.stale, true);
    const reached = outcome.stale ? outcome.reached['contacts'] : undefined;
    assert.ok(reached !== undefined && reached !== null && reached >= BigInt(before) && reached < BigInt(position), `reached ${String(reached)}`);
  });
});

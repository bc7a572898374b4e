import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEventStore } from '../../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../../platform/event-store/postgres/adapter.js';
import { embeddedBus } from '../../../platform/bus/embedded.js';
import type { Bus } from '../../../platform/bus/port.js';
import { createLogger } from '../../../platform/logging/logger.js';
import { openPglite, pgliteClient, type SqlClient } from '../../../platform/sql/client.js';
import { contactsProjection } from '../../../projections/postgres/index.js';
import { startProjections, type ProjectionsHandle } from '../../../projections/main.js';
import { createConsistencyGate, sqlProgress, type ConsistencyGate } from '../../../query-api/consistency/gate.js';
import { sqlRelayCheckpoint } from '../../../write-side/relay/checkpoint.js';
import { startRelay, type RelayHandle } from '../../../write-side/relay/main.js';
import { bearer, send, testApp, token, type TestApp } from '../../../write-side/testing.js';
import { signDevToken } from '../../../platform/auth/sign.js';
import { createTokenVerifier } from '../../../platform/auth/verify.js';
import { DEFAULT_LIMITS } from '../../../query-api/config.js';
import { createQueryApi, type QueryApi } from '../../../query-api/service.js';

const SECRET = 'read-your-writes-test-secret-0123456789';

/**
 * Read-your-writes on the embedded bus (issue 11 §3), the whole pipeline in one process as under
 * `npm start`: command API → event store → relay → in-process bus (4 partitions) → contacts projector.
 * Many writers on many streams; after EACH command, the gate (query-api/consistency) is asked for the
 * command's position and the read model is read at once: it must show that command's effect, every time.
 * Then the projector is held back: the answer is stale, bounded, and says how far the model got.
 */
describe('read-your-writes on the embedded bus', { timeout: 120_000 }, () => {
  let t: TestApp;
  let readSql: SqlClient;
  let bus: Bus;
  let relay: RelayHandle;
  let projections: ProjectionsHandle | undefined;
  let gate: ConsistencyGate;
  let api: QueryApi;
  const log = createLogger({ level: 'silent', name: 'ryw-test' });
  const startContacts = async () => {
    projections = await startProjections({ readSql, store: t.store, bus, log, projections: [contactsProjection] });
  };

  before(async () => {
    // One PGlite holds the event store and the read models (separate tables), as cheap as a test can be.
    readSql = pgliteClient(await openPglite());
    t = await testApp({ store: createEventStore(await postgresEventStore(readSql)) });
    bus = embeddedBus({ partitions: 4 });
    relay = startRelay({ store: t.store, bus, checkpoint: await sqlRelayCheckpoint(readSql), log });
    await startContacts();
    gate = createConsistencyGate({ relaySql: readSql, sources: [sqlProgress(readSql, ['contacts'])], maxWaitMs: 5_000 });
    api = await createQueryApi({
      readSql,
      verifier: createTokenVerifier({ keys: { kind: 'secret', secret: SECRET }, issuer: 'annals', audience: 'annals-api' }),
      logger: log,
      limits: DEFAULT_LIMITS,
      consistency: gate,
    });
  });
  after(async () => {
    await api.stop();
    await projections?.stop();
    await relay.stop();
    await bus.close();
    await t.close();
    await readSql.close();
  });

  /** What a frontend does right after a command: GraphQL with X-Consistent-With: <the command's position>. */
  const graphqlCompany = async (id: string, position: string) => {
    const tok = await signDevToken({ secret: SECRET, issuer: 'annals', audience: 'annals-api', tenant: 'ryw-a', sub: 'reader', roles: ['sales'], ttlSeconds: 600 });
    const res = await api.app.inject({
      method: 'POST',
      url: '/graphql',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tok}`, 'x-consistent-with': position },
      payload: JSON.stringify({ query: `query($id: ID!) { contact(id: $id) { company } }`, variables: { id } }),
    });
    const body = res.json() as { data: { contact: { company: string } | null }; extensions?: { consistency?: { stale: boolean } } };
    return { company: body.data?.contact?.company, stale: body.extensions?.consistency?.stale };
  };
  const companyOf = async (id: string) =>
    (await readSql.query<{ company: string | null }>(`SELECT company FROM contacts WHERE contact_id = $1`, [id])).rows[0]?.company;

  it('8 writers × 12 commands on 8 streams: every read right after a command sees it', async () => {
    const h = bearer(await token({ tenant: 'ryw-a', roles: ['sales'] }));
    const misses: string[] = [];
    let waitedMax = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        const created = await send(t.app, 'POST', '/api/v1/contacts', { firstName: `Writer ${w}`, company: `c-${w}-0` }, h);
        assert.equal(created.statusCode, 201, created.body);
        const { id, position } = created.json<{ id: string; position: string }>();
        const first = await gate.waitFor(BigInt(position), ['contacts']);
        if (first.stale || (await companyOf(id)) !== `c-${w}-0`) misses.push(`${w}/0`);
        for (let i = 1; i < 12; i++) {
          const res = await send(t.app, 'PATCH', `/api/v1/contacts/${id}`, { company: `c-${w}-${i}` }, h);
          assert.equal(res.statusCode, 200, res.body);
          const position = res.json<{ position: string }>().position;
          if (i % 2 === 0) {
            // Half through GraphQL (the header, the document's models, the extension), half through the gate itself.
            const seen = await graphqlCompany(id, position);
            if (seen.stale !== false || seen.company !== `c-${w}-${i}`) misses.push(`${w}/${i} (graphql): ${JSON.stringify(seen)}`);
            continue;
          }
          const outcome = await gate.waitFor(BigInt(position), ['contacts']);
          waitedMax = Math.max(waitedMax, outcome.waitedMs);
          const seen = await companyOf(id);
          if (outcome.stale || seen !== `c-${w}-${i}`) misses.push(`${w}/${i}: saw ${seen}, stale=${outcome.stale}`);
        }
      }),
    );
    assert.deepEqual(misses, [], 'a read right after each command sees that command');
    assert.ok(waitedMax < 5_000, `never waited the whole bound (${waitedMax} ms)`);
  });

  it('a projector held back: stale after the bounded wait, with how far the model got; then fresh again', async () => {
    const h = bearer(await token({ tenant: 'ryw-b', roles: ['sales'] }));
    const created = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'Held', company: 'before' }, h);
    const before = BigInt(created.json<{ position: string }>().position);
    assert.equal((await gate.waitFor(before, ['contacts'])).stale, false);
    await projections!.stop();
    projections = undefined;
    const id = created.json<{ id: string }>().id;
    const res = await send(t.app, 'PATCH', `/api/v1/contacts/${id}`, { company: 'after' }, h);
    const position = BigInt(res.json<{ position: string }>().position);
    const started = Date.now();
    const stale = await gate.waitFor(position, ['contacts'], { maxWaitMs: 400 });
    const waited = Date.now() - started;
    assert.equal(stale.stale, true);
    assert.ok(waited >= 390 && waited < 3_000, `bounded wait (${waited} ms)`);
    assert.equal(stale.requested, position);
    assert.ok(stale.stale && stale.reached['contacts'] !== null && stale.reached['contacts']! >= before && stale.reached['contacts']! < position, `reached ${String(stale.stale && stale.reached['contacts'])} between ${before} and ${position}`);
    assert.equal(await companyOf(id), 'before', 'the model really is behind');

    // A position the relay has not published yet (far future) is stale too, never "fresh".
    assert.equal((await gate.waitFor(position + 1_000_000n, ['contacts'], { maxWaitMs: 50 })).stale, true);

    await startContacts();
    const fresh = await gate.waitFor(position, ['contacts']);
    assert.equal(fresh.stale, false);
    assert.equal(await companyOf(id), 'after');
  });
});

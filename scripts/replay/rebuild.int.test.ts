import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { embeddedBus } from '../../platform/bus/embedded.js';
import { encodeEvent } from '../../platform/bus/message.js';
import type { Bus } from '../../platform/bus/port.js';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { pgClient, type SqlClient } from '../../platform/sql/client.js';
import { requireEnv } from '../../platform/testing/require-env.js';
import { fixableProjection } from '../../projections/dead-letters/testing.js';
import { createProjector, type Projector } from '../../projections/kernel/projector.js';
import { kernelTestProjection } from '../../projections/kernel/test-projection.js';
import { until, within } from '../../projections/kernel/testing.js';
import { postgresReadModelTarget, type PostgresReadModelTarget } from '../../projections/postgres/target.js';
import { formatRebuild, formatVerify } from '../cli/commands/replay-rebuild.js';
import { rebuildModels } from './rebuild.js';
import { verifyModels } from './verify.js';

/**
 * Rebuild and verify on the real PostgreSQL server, where readers run concurrently with the rebuild on
 * other connections (PGlite serialises everything): a reader polling the live view throughout never sees
 * fewer rows than before; killed halfway and run again, the rebuild resumes and equals a fresh replay;
 * verify names a row changed by hand. The event store and the read database are this run's own databases.
 */
const log = pino({ level: 'silent' });

describe('replay rebuild and verify (real PostgreSQL)', { timeout: 240_000 }, () => {
  const run = randomUUID().replace(/-/g, '').slice(0, 10);
  const base = new URL(requireEnv('EVENTSTORE_URL'));
  const urlOf = (db: string) => Object.assign(new URL(base), { pathname: `/${db}` }).toString();
  const dbs = [`annals_rb_es_${run}`, `annals_rb_read_${run}`];
  const a = fixableProjection('rb-a', 'rb_a').projection;
  const k = kernelTestProjection({ name: 'rb-k', table: 'rb_k' });
  let admin: pg.Client;
  let storeSql: SqlClient;
  let readSql: SqlClient;
  let probeSql: SqlClient;
  let store: EventStore;
  let bus: Bus;
  let targets: PostgresReadModelTarget[];
  const projectors: Projector[] = [];
  const stop = new AbortController();
  const runs: Promise<void>[] = [];
  let published: bigint | undefined;
  const leads: string[] = [];
  const meta = () => ({ tenantId: `t-${run}`, actor: { userId: 'u1', roles: ['sales' as const] }, correlationId: 'c', causationId: 'c', occurredAt: new Date().toISOString() });
  const capture = (id: string) => ({ type: 'LeadCaptured', data: { leadId: id, name: 'Ada', source: 'web', capturedAt: new Date().toISOString() }, metadata: meta() });
  const score = (id: string, s: number) => ({ type: 'LeadScored', data: { leadId: id, score: s, factors: [] }, metadata: meta() });
  const caughtUp = async () => {
    const records = await store.readAllRaw({ after: published, maxCount: 100_000 });
    if (records.length > 0) {
      await bus.publish(records.map((r) => ({ topic: 'annals.lead.events', ...encodeEvent(r) })));
      published = records[records.length - 1]!.position;
    }
    const head = await store.headPosition();
    await until(() => projectors.every((p) => head !== undefined && p.stats.position !== undefined && p.stats.position >= head), 60_000, 'the live projectors to reach the head');
  };

  before(async () => {
    admin = new pg.Client({ connectionString: base.toString() });
    await admin.connect();
    for (const db of dbs) await admin.query(`CREATE DATABASE ${db}`);
    storeSql = pgClient(urlOf(dbs[0]!), { max: 4 });
    readSql = pgClient(urlOf(dbs[1]!), { max: 6 });
    probeSql = pgClient(urlOf(dbs[1]!), { max: 1 });
    store = createEventStore(await postgresEventStore(storeSql));
    bus = embeddedBus({ partitions: 4 });
    targets = [postgresReadModelTarget(readSql, a), postgresReadModelTarget(readSql, k)];
    for (const t of targets) {
      await t.register();
      const p = createProjector({ target: t, bus, log, topics: ['annals.lead.events'] });
      projectors.push(p);
      runs.push(p.run(stop.signal));
    }
    for (let i = 0; i < 400; i++) {
      const id = uuidv7();
      leads.push(id);
      await store.append(`lead-${id}`, [capture(id), score(id, i % 10), score(id, 20 + (i % 7)), score(id, 40), score(id, 50 + (i % 3))]);
    }
    await caughtUp();
  });
  after(async () => {
    stop.abort();
    await within(Promise.all(runs), 20_000, 'the projectors to stop');
    await Promise.allSettled([storeSql.close(), readSql.close(), probeSql.close(), bus.close()]);
    for (const db of dbs) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  });

  it('a concurrent reader never sees an empty or half-built model; killed halfway, the next run resumes; equals a fresh replay; verify names a changed row', async () => {
    const before = Number((await probeSql.query<{ n: string }>(`SELECT count(*)::text AS n FROM rb_k`)).rows[0]!.n);
    let reading = true;
    let fewest = Number.MAX_SAFE_INTEGER;
    let reads = 0;
    const reader = (async () => {
      while (reading) {
        fewest = Math.min(fewest, Number((await probeSql.query<{ n: string }>(`SELECT count(*)::text AS n FROM rb_k`)).rows[0]!.n));
        reads++;
      }
    })();
    const controller = new AbortController();
    try {
      const first = await rebuildModels(targets, {
        store,
        log,
        controlSql: readSql,
        batchSize: 100,
        graceMs: 0,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.events >= 1_000) controller.abort();
        },
      });
      assert.equal(first.switched, false, formatRebuild(first));
      for (let i = 0; i < 20; i++) await store.append(`lead-${leads[i]!}`, [score(leads[i]!, 77)]);
      await caughtUp();
      const second = await rebuildModels(targets, { store, log, controlSql: readSql, batchSize: 100, graceMs: 0 });
      assert.equal(second.switched, true, formatRebuild(second));
      for (const m of second.models) assert.ok(m.resumedFrom !== undefined, `${m.name} resumed`);
      assert.ok(second.events < 2_020, `the second run read ${second.events} events: it did not start over`);
    } finally {
      reading = false;
      await within(reader, 10_000, 'the reader to stop');
    }
    assert.ok(reads > 20, `the reader ran throughout (${reads} reads)`);
    assert.ok(fewest >= before, `a reader saw ${fewest} rows, fewer than the ${before} before: an empty or half-built model`);
    await caughtUp();
    const clean = await verifyModels(targets, { store, log, controlSql: readSql, batchSize: 500 });
    assert.deepEqual(clean.models.map((m) => m.differences.length + m.unlisted), [0, 0], formatVerify(clean));

    const live = (await targets[1]!.live())!;
    await readSql.query(`UPDATE rb_k_g${live.generation} SET events = events + 1 WHERE lead_id = $1`, [leads[5]]);
    const dirty = await verifyModels(targets, { store, log, controlSql: readSql, batchSize: 500, settleMs: 500 });
    assert.deepEqual(
      dirty.models.find((m) => m.name === 'rb-k')!.differences,
      [{ kind: 'different', table: 'rb_k', key: { lead_id: leads[5] }, columns: ['events'] }],
    );
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { pgClient, type SqlClient } from '../../platform/sql/client.js';
import { requireEnv } from '../../platform/testing/require-env.js';
import { runCli } from '../cli/commands/testing.js';
import { verifyChains } from './chain.js';

/**
 * `annals replay chain verify` on the real PostgreSQL server, through the CLI as an operator runs it. The
 * shared event store holds other engineers' streams (and their tests' deliberate damage), so this run gets
 * two databases of its own on the same server: an event store and a read database (the anchors), dropped
 * at the end.
 */
describe('replay chain verify (real PostgreSQL)', { timeout: 180_000 }, () => {
  const run = randomUUID().replace(/-/g, '').slice(0, 10);
  const base = new URL(requireEnv('EVENTSTORE_URL'));
  const urlOf = (db: string) => Object.assign(new URL(base), { pathname: `/${db}` }).toString();
  const storeDb = `annals_chain_es_${run}`;
  const readDb = `annals_chain_read_${run}`;
  let admin: pg.Client;
  let storeSql: SqlClient;
  let store: EventStore;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    admin = new pg.Client({ connectionString: base.toString() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${storeDb}`);
    await admin.query(`CREATE DATABASE ${readDb}`);
    storeSql = pgClient(urlOf(storeDb), { max: 2 });
    store = createEventStore(await postgresEventStore(storeSql));
    env = { ...process.env, EVENTSTORE_URL: urlOf(storeDb), READ_DB_URL: urlOf(readDb), KAFKA_BROKERS: '', LOG_LEVEL: 'warn' };
  });
  after(async () => {
    await store?.close();
    for (const db of [storeDb, readDb]) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  });

  const meta = (subjectId: string) => ({ tenantId: `t-${run}`, actor: { userId: 'u1', roles: ['sales' as const] }, correlationId: 'c', causationId: 'c', occurredAt: new Date().toISOString(), subjectId });
  const lead = async (n: number) => {
    const id = uuidv7();
    await store.append(`lead-${id}`, [
      { type: 'LeadCaptured', data: { leadId: id, name: 'Ada 😀', source: 'web', capturedAt: new Date().toISOString() }, metadata: meta(id) },
      ...Array.from({ length: n - 1 }, (_, i) => ({ type: 'LeadScored', data: { leadId: id, score: i, factors: [] }, metadata: meta(id) })),
    ]);
    return `lead-${id}`;
  };

  it('intact → exit 0 and an anchor; an event altered by hand → exit 1 naming stream and revision; a stream deleted → the anchor', async () => {
    const streams: string[] = [];
    for (let i = 0; i < 20; i++) streams.push(await lead(1 + (i % 4)));
    const ok = await runCli(['replay', 'chain', 'verify', '--all', '--batch', '7'], env);
    assert.match(ok, /OK: every chain intact/);
    assert.match(ok, /anchor #1 written at position \d+: 20 streams, 50 events/);
    assert.match(await runCli(['replay', 'chain', 'anchors'], env), /^1 +\d+ +20 +50 /m);

    const altered = streams[3]!;
    await storeSql.query(`UPDATE annals_events SET data = replace(data, '"score":1', '"score":7') WHERE stream_id = $1 AND stream_revision = 2`, [altered]);
    const failing = await runCli(['replay', 'chain', 'verify', altered], env).then(
      () => assert.fail('exit 0 on a tampered stream'),
      (e: Error) => e.message,
    );
    assert.match(failing, /exited 1: annals replay chain: 1 broken chain, 0 anchor findings/);

    const victim = streams[7]!;
    await storeSql.query(`DELETE FROM annals_events WHERE stream_id = $1`, [victim]);
    const anchorsSql = pgClient(urlOf(readDb), { max: 1 });
    const report = await verifyChains({ adapter: store.adapter, anchorsSql, writeAnchor: false }).finally(() => anchorsSql.close());
    assert.deepEqual(
      report.breaks.map((b) => [b.streamId, b.streamRevision, b.kind]),
      [[altered, 2n, 'content-hash']],
    );
    assert.equal(report.anchorMismatches.length, 1);
    assert.match(report.anchorMismatches[0]!.detail, /anchor #1 at position \d+: 20 streams \/ 50 events expected, 19 \/ \d+ found/);
  });
});

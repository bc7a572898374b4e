import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { kafkaBus } from '../../platform/bus/kafka.js';
import { encodeEvent } from '../../platform/bus/message.js';
import type { Bus } from '../../platform/bus/port.js';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { pgClient, type SqlClient } from '../../platform/sql/client.js';
import { requireEnv } from '../../platform/testing/require-env.js';
import { createProjector, type Projector } from '../kernel/projector.js';
import { silent, until, within } from '../kernel/testing.js';
import { postgresReadModelTarget } from '../postgres/target.js';
import { collectDeadLetters, RELAY_CONSUMER } from './collect.js';
import { retryDeadLetter, skipDeadLetter } from './retry.js';
import { listDeadLetters } from './store.js';
import { fixableProjection, POISON } from './testing.js';

/**
 * Dead letters on the real servers: the projector runtime on Kafka dead-letters a poison event to
 * `annals.dlq.<model>`; the collector drains it into the shared read database (PostgreSQL) with its own
 * group; after the fix, retry applies it in stream order; skip records the actor. Every name (model,
 * table, topic, group, tenant) is this run's own, and its rows are removed at the end.
 */
describe('dead letters (real PostgreSQL + Kafka)', { timeout: 240_000 }, () => {
  const run = randomUUID().replace(/-/g, '').slice(0, 10);
  const name = `dlq-${run}`;
  const topic = `annals.test-${run}.events`;
  const { projection, fixed } = fixableProjection(name, `dlq_${run}`);
  let storeSql: SqlClient;
  let readSql: SqlClient;
  let store: EventStore;
  let bus: Bus;
  let projector: Projector;
  const stop = new AbortController();
  let running: Promise<void> | undefined;
  const target = () => postgresReadModelTarget(readSql, projection);
  const row = async (leadId: string) => (await readSql.query<{ score: number; saw_poison: boolean; revision: string }>(`SELECT score, saw_poison, revision::text FROM dlq_${run} WHERE lead_id = $1`, [leadId])).rows[0];

  before(async () => {
    storeSql = pgClient(requireEnv('EVENTSTORE_URL'), { max: 2 });
    readSql = pgClient(requireEnv('READ_DB_URL'), { max: 4 });
    store = createEventStore(await postgresEventStore(storeSql));
    bus = kafkaBus({ brokers: requireEnv('KAFKA_BROKERS').split(','), clientId: `dlq-int-${run}`, partitions: 2 });
    await target().register();
    projector = createProjector({ target: target(), bus, log: silent, topics: [topic], retry: { maxAttempts: 2, backoff: { initialMs: 5, maxMs: 20 } } });
    running = projector.run(stop.signal);
  });
  after(async () => {
    stop.abort();
    if (running) await within(running, 30_000, 'the projector to stop');
    await readSql.query(`DELETE FROM annals_dead_letters WHERE consumer = $1`, [name]).catch(() => undefined);
    await readSql.query(`DELETE FROM annals_dead_letter_offsets WHERE topic = $1`, [`annals.dlq.${name}`]).catch(() => undefined);
    const gens = (await readSql.query<{ g: number }>(`SELECT generation AS g FROM annals_projection_generations WHERE name = $1`, [name])).rows;
    await readSql.exec(`DROP VIEW IF EXISTS dlq_${run}`);
    for (const g of gens) await readSql.exec(`DROP TABLE IF EXISTS dlq_${run}_g${g.g}`);
    for (const t of ['annals_projections', 'annals_projection_generations', 'annals_projection_offsets', 'annals_projection_streams']) await readSql.query(`DELETE FROM ${t} WHERE name = $1`, [name]);
    await bus.close();
    await Promise.allSettled([store.close(), readSql.close()]);
  });

  it('poison → dead letter on Kafka → collected, listed → retried in order after the fix; skip recorded', async () => {
    const a = uuidv7();
    const b = uuidv7();
    const m = () => ({ tenantId: `t-${run}`, actor: { userId: 'u1', roles: ['sales' as const] }, correlationId: 'c', causationId: 'c', occurredAt: new Date().toISOString() });
    const capture = (id: string) => ({ type: 'LeadCaptured', data: { leadId: id, name: 'Ada', source: 'web', capturedAt: new Date().toISOString() }, metadata: m() });
    const score = (id: string, s: number) => ({ type: 'LeadScored', data: { leadId: id, score: s, factors: [] }, metadata: m() });
    await store.append(`lead-${a}`, [capture(a), score(a, POISON), score(a, 20)]);
    await store.append(`lead-${b}`, [capture(b), score(b, POISON)]);
    const records = [...(await store.readStreamRaw(`lead-${a}`)), ...(await store.readStreamRaw(`lead-${b}`))];
    await bus.publish(records.map((r) => ({ topic, ...encodeEvent(r) })));
    await until(() => projector.stats.deadLettered === 2 && projector.stats.inFlight === 0, 60_000, 'two dead letters');
    await until(async () => (await row(a))?.revision === '2', 30_000, 'stream a applied past the poison event');

    const collected = await collectDeadLetters({ sql: readSql, bus, consumers: [RELAY_CONSUMER, name], groupId: `annals.dlq.collector.${run}`, timeoutMs: 60_000 });
    assert.equal(collected.added, 2);
    const pending = await listDeadLetters(readSql, { consumer: name });
    assert.deepEqual(
      pending.map((l) => [l.streamId, l.streamRevision, l.code, l.attempts, l.source?.topic]),
      [
        [`lead-${a}`, 1n, 'PROJECTION_ERR_EVENT(22012)', 2, topic],
        [`lead-${b}`, 1n, 'PROJECTION_ERR_EVENT(22012)', 2, topic],
      ],
    );
    fixed.value = true;
    const deps = { sql: readSql, store, bus, targets: new Map([[name, target()]]), actor: 'alice' };
    const outcome = await retryDeadLetter(deps, pending[0]!.id);
    assert.deepEqual(outcome.applied, [{ model: name, applied: 2, fromRevision: 1n, toRevision: 2n }]);
    assert.deepEqual(await row(a), { score: 20, saw_poison: true, revision: '2' }, 'applied in stream order: 13, then 20 again');
    const skipped = await skipDeadLetter({ sql: readSql, actor: 'bob' }, pending[1]!.id);
    assert.deepEqual([skipped.status, skipped.resolvedBy], ['skipped', 'bob']);
    assert.deepEqual(await listDeadLetters(readSql, { consumer: name }), []);
  });
});

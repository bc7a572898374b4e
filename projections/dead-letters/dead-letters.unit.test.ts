import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { embeddedBus } from '../../platform/bus/embedded.js';
import { deadLetter, encodeEvent } from '../../platform/bus/message.js';
import type { Bus } from '../../platform/bus/port.js';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { openPglite, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import { createProjector, type Projector } from '../kernel/projector.js';
import { rebuildProjection } from '../kernel/replay.js';
import { until, within } from '../kernel/testing.js';
import { postgresReadModelTarget } from '../postgres/target.js';
import { collectDeadLetters, RELAY_CONSUMER } from './collect.js';
import { DeadLetterErrorCode, retryDeadLetter, skipDeadLetter } from './retry.js';
import { getDeadLetter, listDeadLetters, pendingCounts } from './store.js';
import { fixableProjection, POISON } from './testing.js';

/**
 * `annals dlq`: a poison event is dead-lettered by the real projector runtime (PGlite + embedded bus),
 * collected into the table, listed with its error, coordinates and attempts; a retry before the fix fails
 * and writes nothing; after the fix it applies the event IN STREAM ORDER (the state ends as if it had never
 * failed); a skip records who and when. One shared set-up; the cases run in order.
 */
const log = pino({ level: 'silent' });
const NAME = 'dlq-test';
const { projection, fixed } = fixableProjection(NAME, 'dlq_t');

const meta = () => ({ tenantId: 't-dlq', actor: { userId: 'u1', roles: ['sales' as const] }, correlationId: 'c', causationId: 'c', occurredAt: new Date().toISOString() });
const capture = (leadId: string) => ({ type: 'LeadCaptured', data: { leadId, name: 'Ada', source: 'web', capturedAt: new Date().toISOString() }, metadata: meta() });
const score = (leadId: string, s: number) => ({ type: 'LeadScored', data: { leadId, score: s, factors: [] }, metadata: meta() });

describe('dead letters: collect, list, retry in stream order, skip', { timeout: 120_000 }, () => {
  let storeSql: SqlClient;
  let readSql: SqlClient;
  let store: EventStore;
  let bus: Bus;
  let projector: Projector;
  let stop: AbortController;
  let running: Promise<void>;
  const target = () => postgresReadModelTarget(readSql, projection);
  const deps = (actor = 'ops-bot') => ({ sql: readSql, store, bus, targets: new Map([[NAME, target()]]), actor, now: () => new Date('2026-11-30T15:00:00.000Z') });
  const row = async (leadId: string) => (await readSql.query<{ score: number | null; saw_poison: boolean; revision: string }>(`SELECT score, saw_poison, revision::text FROM dlq_t WHERE lead_id = $1`, [leadId])).rows[0];
  let published: bigint | undefined;
  const publishNew = async () => {
    const records = await store.readAllRaw({ after: published, maxCount: 10_000 });
    await bus.publish(records.map((r) => ({ topic: 'annals.lead.events', ...encodeEvent(r) })));
    published = records[records.length - 1]?.position ?? published;
  };
  const caughtUp = async () => {
    const head = await store.headPosition();
    await until(() => projector.stats.position === head && projector.stats.inFlight === 0, 15_000, 'the projector to reach the head');
  };
  const a = uuidv7();
  const b = uuidv7();

  before(async () => {
    storeSql = pgliteClient(await openPglite());
    readSql = pgliteClient(await openPglite());
    store = createEventStore(await postgresEventStore(storeSql));
    bus = embeddedBus({ partitions: 2 });
    await target().register();
    projector = createProjector({ target: target(), bus, log, topics: ['annals.lead.events'], retry: { maxAttempts: 2, backoff: { initialMs: 1, maxMs: 2 } } });
    stop = new AbortController();
    running = projector.run(stop.signal);
  });
  after(async () => {
    stop.abort();
    await within(running, 10_000, 'the projector to stop');
    await Promise.all([storeSql.close(), readSql.close(), bus.close()]);
  });

  it('a poison event is dead-lettered by the projector, collected once, and listed with error, coordinates and attempts', async () => {
    await store.append(`lead-${a}`, [capture(a), score(a, 10), score(a, POISON), score(a, 20)]);
    await store.append(`lead-${b}`, [capture(b), score(b, POISON), score(b, 30)]);
    await publishNew();
    await caughtUp();
    assert.equal(projector.stats.deadLettered, 2);
    assert.deepEqual(await row(a), { score: 20, saw_poison: false, revision: '3' }, 'the live consumer moved on past the poison event');

    const collected = await collectDeadLetters({ sql: readSql, bus, consumers: [RELAY_CONSUMER, NAME], timeoutMs: 10_000 });
    assert.equal(collected.added, 2);
    assert.equal((await collectDeadLetters({ sql: readSql, bus, consumers: [RELAY_CONSUMER, NAME], timeoutMs: 10_000 })).added, 0, 'collected once');
    const pending = await listDeadLetters(readSql);
    assert.deepEqual(
      pending.map((l) => [l.consumer, l.streamId, l.streamRevision, l.eventType, l.code, l.attempts, l.status]),
      [
        [NAME, `lead-${a}`, 2n, 'LeadScored', 'PROJECTION_ERR_EVENT(22012)', 2, 'pending'],
        [NAME, `lead-${b}`, 1n, 'LeadScored', 'PROJECTION_ERR_EVENT(22012)', 2, 'pending'],
      ],
    );
    assert.match(pending[0]!.error, /division by zero/);
    assert.equal(pending[0]!.source?.topic, 'annals.lead.events');
    assert.deepEqual(await pendingCounts(readSql), new Map([[NAME, 2]]));
  });

  it('a retry before the fix fails, records the failure, and changes nothing (the revision guard is restored)', async () => {
    const [letter] = await listDeadLetters(readSql);
    await assert.rejects(retryDeadLetter(deps(), letter!.id), (e: unknown) => (e as { code?: string }).code === DeadLetterErrorCode.StillFailing);
    const after = await getDeadLetter(readSql, letter!.id);
    assert.equal(after?.status, 'pending');
    assert.equal(after?.retryCount, 1);
    assert.match(after?.lastRetryError ?? '', /division by zero/);
    assert.deepEqual(await row(a), { score: 20, saw_poison: false, revision: '3' });
    // The guard is back where it was: a redelivered old event is still a duplicate for the live consumer.
    const guard = await readSql.query<{ r: string }>(`SELECT revision::text AS r FROM annals_projection_streams WHERE name = $1 AND stream_id = $2`, [NAME, `lead-${a}`]);
    assert.equal(guard.rows[0]?.r, '3');
  });

  it('after the fix, retry applies the event in stream order: the state is as if it had never failed', async () => {
    fixed.value = true;
    const [letter] = await listDeadLetters(readSql);
    const outcome = await retryDeadLetter(deps('alice'), letter!.id);
    assert.deepEqual(outcome.applied, [{ model: NAME, applied: 2, fromRevision: 2n, toRevision: 3n }]);
    // In order: 13 then 20 again. Applied alone after 20 it would read 13.
    assert.deepEqual(await row(a), { score: 20, saw_poison: true, revision: '3' });
    const resolved = await getDeadLetter(readSql, letter!.id);
    assert.deepEqual([resolved?.status, resolved?.resolvedBy, resolved?.resolvedAt?.toISOString()], ['retried', 'alice', '2026-11-30T15:00:00.000Z']);
    await assert.rejects(retryDeadLetter(deps(), letter!.id), (e: unknown) => (e as { code?: string }).code === DeadLetterErrorCode.NotPending);
    // The live consumer goes on from there.
    await store.append(`lead-${a}`, [score(a, 40)]);
    await publishNew();
    await caughtUp();
    assert.deepEqual(await row(a), { score: 40, saw_poison: true, revision: '4' });
  });

  it('skip records who skipped what and when; the event stays unapplied; unknown ids are refused', async () => {
    const [letter] = await listDeadLetters(readSql);
    assert.equal(letter?.streamId, `lead-${b}`);
    const skipped = await skipDeadLetter({ sql: readSql, actor: 'bob', now: () => new Date('2026-11-30T15:05:00.000Z') }, letter!.id);
    assert.deepEqual([skipped.status, skipped.resolvedBy, skipped.resolvedAt?.toISOString()], ['skipped', 'bob', '2026-11-30T15:05:00.000Z']);
    assert.deepEqual(await row(b), { score: 30, saw_poison: false, revision: '2' });
    assert.deepEqual(await listDeadLetters(readSql), []);
    assert.equal((await listDeadLetters(readSql, { status: 'all' })).length, 2);
    await assert.rejects(skipDeadLetter({ sql: readSql, actor: 'bob' }, letter!.id), (e: unknown) => (e as { code?: string }).code === DeadLetterErrorCode.NotPending);
    await assert.rejects(retryDeadLetter(deps(), 999_999_999n), (e: unknown) => (e as { code?: string }).code === DeadLetterErrorCode.NotFound);
  });

  it("a relay letter (the relay refused to publish it): retry applies it to every read model in stream order, then publishes it", async () => {
    const c = uuidv7();
    await store.append(`lead-${c}`, [capture(c), score(c, POISON), score(c, 60)]);
    const records = await store.readAllRaw({ after: published, maxCount: 100 });
    published = records[records.length - 1]!.position;
    // The relay published revisions 0 and 2 and dead-lettered revision 1.
    await bus.publish([
      { topic: 'annals.lead.events', ...encodeEvent(records[0]!) },
      deadLetter(encodeEvent(records[1]!), 'annals.dlq.relay', { consumer: RELAY_CONSUMER, error: Object.assign(new Error('unknown event type'), { code: 'EVENT_ERR_UNKNOWN_TYPE' }), attempts: 1, at: new Date() }),
      { topic: 'annals.lead.events', ...encodeEvent(records[2]!) },
    ]);
    await caughtUp();
    assert.deepEqual(await row(c), { score: 60, saw_poison: false, revision: '2' });
    assert.equal((await collectDeadLetters({ sql: readSql, bus, consumers: [RELAY_CONSUMER, NAME], timeoutMs: 10_000 })).added, 1);
    const [letter] = await listDeadLetters(readSql, { consumer: RELAY_CONSUMER });
    assert.deepEqual([letter?.streamId, letter?.streamRevision, letter?.code], [`lead-${c}`, 1n, 'EVENT_ERR_UNKNOWN_TYPE']);
    const outcome = await retryDeadLetter(deps(), letter!.id);
    assert.deepEqual(outcome.applied, [{ model: NAME, applied: 2, fromRevision: 1n, toRevision: 2n }]);
    assert.equal(outcome.published, true);
    assert.deepEqual(await row(c), { score: 60, saw_poison: true, revision: '2' }, 'revision 1 applied, before revision 2');
    // The republished event reaches the live consumer, whose guard skips it: applied once.
    await until(async () => projector.stats.duplicates > 0, 10_000, 'the republished event to be seen as a duplicate');
    assert.deepEqual(await row(c), { score: 60, saw_poison: true, revision: '2' });
  });
  it("after a rebuild (its fill writes no guard rows: guard.ts), retry takes the stream's guard from history_through and re-applies the tail in order", async () => {
    fixed.value = false;
    const d = uuidv7();
    await store.append(`lead-${d}`, [capture(d), score(d, 10), score(d, POISON), score(d, 20)]);
    await publishNew();
    await caughtUp();
    assert.equal((await collectDeadLetters({ sql: readSql, bus, consumers: [RELAY_CONSUMER, NAME], timeoutMs: 10_000 })).added, 1);
    const [letter] = (await listDeadLetters(readSql)).filter((l) => l.streamId === `lead-${d}`);
    // Rebuilt while still broken: the fill leaves revision 2 out as well, and writes no guard row.
    const rebuilt = await within(rebuildProjection({ target: target(), store, log, retry: { maxAttempts: 1, backoff: { initialMs: 0, maxMs: 0 } } }), 20_000, 'the rebuild');
    assert.ok(rebuilt.failures.some((f) => f.streamId === `lead-${d}` && f.streamRevision === 2n));
    const live = (await target().live())!.generation;
    assert.equal(live, rebuilt.generation);
    const guardRow = async () => (await readSql.query<{ r: string }>(`SELECT revision::text AS r FROM annals_projection_streams WHERE name = $1 AND generation = $2 AND stream_id = $3`, [NAME, live, `lead-${d}`])).rows[0]?.r;
    assert.equal(await guardRow(), undefined, 'the fill wrote no guard row');
    assert.deepEqual(await row(d), { score: 20, saw_poison: false, revision: '3' });
    fixed.value = true;
    const outcome = await retryDeadLetter(deps(), letter!.id);
    assert.deepEqual(outcome.applied, [{ model: NAME, applied: 2, fromRevision: 2n, toRevision: 3n }], 'revision 3, applied by the fill, is re-applied after 2');
    assert.deepEqual(await row(d), { score: 20, saw_poison: true, revision: '3' });
    assert.equal(await guardRow(), '3');
    // The live consumer goes on from there, and its redelivery of the old history is a duplicate.
    await store.append(`lead-${d}`, [score(d, 50)]);
    await publishNew();
    await caughtUp();
    assert.deepEqual(await row(d), { score: 50, saw_poison: true, revision: '4' });
  });
});

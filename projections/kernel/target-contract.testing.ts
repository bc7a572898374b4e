import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, test } from 'node:test';
import { pino } from 'pino';
import { DLQ } from '../../platform/bus/message.js';
import type { Bus } from '../../platform/bus/port.js';
import type { EventStore } from '../../platform/event-store/event-store.js';
import type { SqlClient } from '../../platform/sql/client.js';
import { parseEvent } from '../../schemas/events/registry.js';
import { postgresReadModelTarget } from '../postgres/target.js';
import { controlledTarget } from './controlled.js';
import { tablesOf } from './generations.js';
import { memoryReadModel, type LeadRow } from './memory-target.testing.js';
import { createProjector } from './projector.js';
import { rebuildProjection, replayProjection } from './replay.js';
import { projectionStatus } from './status.js';
import type { ApplyOptions, BatchItem, GenerationRef, ReadModelTarget, TargetBatch } from './target.js';
import { kernelTestProjection, POISON_SCORE } from './test-projection.js';
import { batchOf, faultySql, RawHistory, readTopic, sqlError, within, type Call } from './testing.js';

export type { LeadRow } from './memory-target.testing.js';

/**
 * THE STORE-NEUTRAL CONTRACT of a read-model target (target.ts), as tests any store's target runs: the
 * guarantees the runtime gives every store, checked through the runtime itself (projector, replay,
 * rebuild) against a real target. A store plugs in by implementing the kernel's test model
 * (test-projection.ts: a lead per `LeadCaptured`; `LeadScored` sets `score` and counts `events`; score 13
 * is poison, failing in the store) and returning it from `open`; then
 *
 *   targetContract('elasticsearch', () => deps, async ({ sql, name }) => {
 *     const model = esTestModel(client, name);           // your ExternalReadModel of the test model
 *     return { target: controlledTarget(sql, model), rows: (g) => model.leads(g) };
 *   });
 *
 * `sql` is the control database wrapped in a fault injector: the contract breaks it on purpose (a crash
 * between the data and the checkpoint, the database away). Every test has its own read model name and
 * tenant, so a shared real server is fine. Runs in a `describe` of the caller's file.
 */
export interface ContractSubject {
  readonly target: ReadModelTarget;
  /** Leads of the live generation (or of `generation`), every tenant, in any order. */
  rows(generation?: GenerationRef): Promise<readonly LeadRow[]>;
  /** Events the store was asked to write so far, if it counts them: then a duplicate must never reach it. */
  eventsWritten?(): number;
  /** `false` for a store without the per-stream revision guard (ExternalReadModel.revisionGuard): duplicates reach it and must change nothing. */
  readonly revisionGuard?: boolean;
  /** Removes what the subject created (indices, tables) on a shared server. */
  close?(): Promise<void>;
}

export interface ContractDeps {
  /** The control database (the read database: PGlite or PostgreSQL). */
  readonly sql: SqlClient;
  readonly bus: Bus;
  /** An event store the replay tests append to (each under its own tenant). */
  readonly store: EventStore;
}

export interface ContractOpen {
  /** The control database, through the contract's fault injector: give it to your target. */
  readonly sql: SqlClient;
  /** A fresh read model name for this test (consumer group, checkpoint, DLQ topic, physical names). */
  readonly name: string;
}

const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const retry = { maxAttempts: 3, backoff: { initialMs: 1, maxMs: 5 } };
/** A score the contract's wrapper turns into a failure that names no event (the whole batch fails). */
const OPAQUE_SCORE = 17;
const TOPIC = 'annals.lead.events';

export function targetContract(title: string, deps: () => ContractDeps, open: (args: ContractOpen) => Promise<ContractSubject>): void {
  describe(`read-model target contract: ${title}`, { timeout: 120_000 }, () => {
    let stop = new AbortController();
    const closers: Array<() => Promise<void>> = [];
    // Whatever a test's outcome, its projectors stop and its subject is cleaned up: a broken guarantee fails, never hangs.
    afterEach(async () => {
      stop.abort();
      stop = new AbortController();
      for (const close of closers.splice(0)) await close();
    });

    async function fresh() {
      const { sql, bus, store } = deps();
      const run = randomUUID().replace(/-/g, '').slice(0, 8);
      let fault: (call: Call) => unknown = () => undefined;
      const faulty = faultySql(sql, (call) => fault(call));
      const subject = await open({ sql: faulty, name: `contract-${run}` });
      if (subject.close) closers.push(subject.close);
      const target = subject.target;
      await target.register();
      const tenant = `tenant-${run}`;
      const leads = async (generation?: GenerationRef) =>
        (await subject.rows(generation))
          .filter((r) => r.tenantId === tenant)
          .map((r) => ({ leadId: r.leadId, tenantId: r.tenantId, score: r.score, events: r.events }))
          .sort((a, b) => a.leadId.localeCompare(b.leadId));
      const projector = (t: ReadModelTarget = target) => createProjector({ target: t, bus, log: silent, retry });
      const offset = async (partition = 0) => (await target.readOffsets()).get(`${TOPIC}:${partition}`);
      const dlq = (n: number, ms?: number) => readTopic(bus, `annals.dlq.${target.name}`, n, ms);
      return { sql, bus, store, subject, target, tenant, leads, projector, offset, dlq, setFault: (f: typeof fault) => (fault = f) };
    }
    const lead = (tenantId: string, leadId: string, score: number | null, events: number): LeadRow => ({ leadId, tenantId, score, events });
    const byId = (rows: readonly LeadRow[]) => [...rows].sort((a, b) => a.leadId.localeCompare(b.leadId));

    test('a batch applies once: the same batch again (offset checkpoint) and a relay republish at later offsets (revision guard) change nothing', async () => {
      const t = await fresh();
      const h = new RawHistory();
      const [a, b] = [randomUUID(), randomUUID()];
      const records = [h.capture(t.tenant, a), h.capture(t.tenant, b), h.score(t.tenant, a, 40), h.score(t.tenant, b, 50)];
      const p = t.projector();
      await within(p.handleBatch(batchOf(records, { partition: 0 }), stop.signal), 10_000, 'the first delivery');
      const once = byId([lead(t.tenant, a, 40, 2), lead(t.tenant, b, 50, 2)]);
      assert.deepEqual(await t.leads(), once);
      const written = t.subject.eventsWritten?.();
      await within(p.handleBatch(batchOf(records, { partition: 0 }), stop.signal), 10_000, 'the redelivery');
      await within(p.handleBatch(batchOf(records, { partition: 0, firstOffset: 4n }), stop.signal), 10_000, 'the republish');
      assert.deepEqual(await t.leads(), once, 'duplicates changed the model');
      const guarded = t.subject.revisionGuard !== false;
      if (written !== undefined && guarded) assert.equal(t.subject.eventsWritten?.(), written, 'a duplicate reached the store');
      if (written !== undefined && !guarded) assert.equal(t.subject.eventsWritten?.(), written + 4, 'without a guard the republish (and only it) reaches the store');
      assert.equal(await t.offset(), 8n);
      assert.equal(p.stats.duplicates, guarded ? 4 : 0, 'the republished events were counted as duplicates (by the guard, where there is one)');
      if (!guarded) {
        const { rows } = await t.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM annals_projection_streams WHERE name = $1`, [t.target.name]);
        assert.equal(rows[0]!.n, 0, 'a store without the guard has no guard rows written for it');
      }
      // Status reads every store's progress from the control tables.
      const [s] = await projectionStatus({ sql: t.sql, projections: [t.target] });
      assert.equal(s!.store, t.target.store);
      assert.equal(s!.appliedPosition, records[3]!.position);
      assert.equal(s!.needsRebuild, false);
    });

    test('a poison event is dead-lettered after its attempts; the events behind it, of its own stream too, apply', async () => {
      const t = await fresh();
      const h = new RawHistory();
      const [a, b] = [randomUUID(), randomUUID()];
      const records = [h.capture(t.tenant, a), h.capture(t.tenant, b), h.score(t.tenant, a, POISON_SCORE), h.score(t.tenant, b, 50), h.score(t.tenant, a, 60)];
      const p = t.projector();
      await within(p.handleBatch(batchOf(records, { partition: 0 }), stop.signal), 10_000, 'the batch with a poison event');
      assert.deepEqual(await t.leads(), byId([lead(t.tenant, a, 60, 2), lead(t.tenant, b, 50, 2)]));
      assert.equal(await t.offset(), 5n, 'the checkpoint moved past the poison event');
      const dead = await t.dlq(1);
      assert.equal(dead.length, 1);
      assert.equal(dead[0]!.key, `lead-${a}`);
      assert.equal(dead[0]!.headers.streamRevision, '1');
      assert.equal(dead[0]!.headers[DLQ.attempts], String(retry.maxAttempts));
      assert.equal(p.stats.deadLettered, 1);
    });

    test('a failure that names no event is bisected with probes (which commit no checkpoint) to its event', async () => {
      const t = await fresh();
      // The whole apply fails whenever the opaque event is in it, without saying which event it is.
      const opaque = (items: readonly BatchItem[]) => items.some((i) => i.event?.type === 'LeadScored' && i.event.data.score === OPAQUE_SCORE);
      let probes = 0;
      const wrapped: ReadModelTarget = {
        ...t.target,
        apply(batch: TargetBatch, options?: ApplyOptions) {
          if (options?.probe) probes++;
          if (opaque(batch.items)) return Promise.reject(new Error('the batch failed as a whole'));
          return t.target.apply(batch, options);
        },
      };
      const h = new RawHistory();
      const ids = Array.from({ length: 6 }, () => randomUUID());
      const records = [...ids.map((id) => h.capture(t.tenant, id)), h.score(t.tenant, ids[2]!, OPAQUE_SCORE), ...ids.map((id, i) => h.score(t.tenant, id, i))];
      const p = t.projector(wrapped);
      await within(p.handleBatch(batchOf(records, { partition: 1 }), stop.signal), 15_000, 'the batch with an opaque failure');
      assert.deepEqual(await t.leads(), byId(ids.map((id, i) => lead(t.tenant, id, i, 2))), 'every other event applied, each once (no probe committed)');
      assert.equal(await t.offset(1), BigInt(records.length));
      const dead = await t.dlq(1);
      assert.equal(dead.length, 1);
      assert.equal(dead[0]!.headers.eventId, records[6]!.eventId, 'the opaque event, found by bisection');
      assert.ok(probes > 0 && probes <= 2 * retry.maxAttempts * Math.ceil(Math.log2(records.length) + 2), `O(log n) probes per attempt, was ${probes}`);
    });

    test('a crash between the data and the checkpoint: the next member resumes from the checkpoint and the model is as if applied once', async () => {
      const t = await fresh();
      const h = new RawHistory();
      const [a, b] = [randomUUID(), randomUUID()];
      const first = [h.capture(t.tenant, a), h.capture(t.tenant, b)];
      const p1 = t.projector();
      await within(p1.handleBatch(batchOf(first, { partition: 0 }), stop.signal), 10_000, 'the first batch');
      const second = [h.score(t.tenant, a, 70), h.score(t.tenant, b, 80), h.capture(t.tenant, randomUUID())];
      const third = second[2]!;
      const thirdId = (third.data as { leadId: string }).leadId;
      // The member "dies" when it writes the offsets of the second batch: after its data, before its checkpoint.
      const dying = new AbortController();
      t.setFault((call) => {
        if (!/INSERT INTO annals_projection_offsets/.test(call.sql)) return undefined;
        t.setFault(() => undefined);
        dying.abort();
        return sqlError('57P01', 'simulated crash: terminating connection due to administrator command');
      });
      // 57P01 is waited out as a lost connection, until the member is stopped: a killed process.
      await assert.rejects(within(p1.handleBatch(batchOf(second, { partition: 0, firstOffset: 2n }), dying.signal), 10_000, 'the dying member'));
      assert.equal(await t.offset(), 2n, 'the checkpoint of the second batch was not committed');
      const partial = await t.leads();
      // A transactional store shows nothing of it; a store without transactions may show all of it, never more.
      const done = byId([lead(t.tenant, a, 70, 2), lead(t.tenant, b, 80, 2), lead(t.tenant, thirdId, null, 1)]);
      assert.ok(
        JSON.stringify(partial) === JSON.stringify(byId([lead(t.tenant, a, null, 1), lead(t.tenant, b, null, 1)])) || JSON.stringify(partial) === JSON.stringify(done),
        `after the crash: ${JSON.stringify(partial)}`,
      );
      // The next member gets the batch again from the stored offset.
      const p2 = t.projector();
      await within(p2.handleBatch(batchOf(second, { partition: 0, firstOffset: 2n }), stop.signal), 10_000, 'the redelivery after the crash');
      assert.deepEqual(await t.leads(), done);
      assert.equal(await t.offset(), 5n);
    });

    test('hostile envelopes (NUL in a tenant and in a stream id, a lone surrogate, positions next to 2^63) are applied or dead-lettered, never a stall', async () => {
      const t = await fresh();
      const h = new RawHistory(9_223_372_036_854_775_000n);
      const [a, b, c, d] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const records = [
        h.capture(t.tenant, a),
        h.add(`lead-${b}`, 'LeadCaptured', { leadId: b, name: 'Ada', source: 'web', capturedAt: new Date().toISOString() }, `${t.tenant}\u0000evil`),
        h.add(`lead-${c}`, 'LeadCaptured', { leadId: c, name: 'Ada', source: 'web', capturedAt: new Date().toISOString() }, `${t.tenant}\uD800`),
        h.add(`lead-${d}\u0000`, 'LeadCaptured', { leadId: d, name: 'Ada', source: 'web', capturedAt: new Date().toISOString() }, t.tenant),
        h.score(t.tenant, a, 5),
      ];
      const p = t.projector();
      await within(p.handleBatch(batchOf(records, { partition: 0 }), stop.signal), 20_000, 'the batch with hostile envelopes');
      assert.deepEqual((await t.leads()).filter((r) => r.leadId === a), [lead(t.tenant, a, 5, 2)], 'the ordinary events around them applied');
      // The NUL and surrogate tenants are other tenants: their leads never show under this one.
      // (d's lead, when applied, may carry its stream id's NUL: a store that keeps the stream's id as it is.)
      assert.ok((await t.leads()).every((r) => [a, d, `${d}\u0000`].includes(r.leadId)), `only this tenant's leads: ${JSON.stringify(await t.leads())}`);
      assert.equal(await t.offset(), 5n, 'the checkpoint moved past every one of them');
      const [s] = await projectionStatus({ sql: t.sql, projections: [t.target] });
      assert.equal(s!.appliedPosition, records[4]!.position, 'a position next to 2^63 is stored exactly');
      assert.ok(p.stats.deadLettered <= 3, `at most the three hostile events dead-lettered, was ${p.stats.deadLettered}`);
    });

    test('the control database away (lost connections) is waited out: nothing dead-lettered, everything applied', async () => {
      const t = await fresh();
      let failures = 0;
      t.setFault((call) => (call.sql === 'BEGIN' && failures++ < 3 ? sqlError('08006', 'connection failure') : undefined));
      const h = new RawHistory();
      const a = randomUUID();
      const records = [h.capture(t.tenant, a), h.score(t.tenant, a, 5)];
      const p = t.projector();
      await within(p.handleBatch(batchOf(records, { partition: 0 }), stop.signal), 10_000, 'the batch after the outage');
      assert.equal(failures, 4, 'three transactions failed, the fourth went through');
      assert.deepEqual(await t.leads(), [lead(t.tenant, a, 5, 2)]);
      assert.equal(p.stats.deadLettered, 0);
      assert.deepEqual(await t.dlq(1, 300), []);
    });

    test('replay from the event store, then blue-green rebuilds: same model in the new generation, previous kept, older dropped; a poison event is reported', async () => {
      const t = await fresh();
      const [a, b] = [randomUUID(), randomUUID()];
      const meta = { tenantId: t.tenant, actor: { userId: 'u1', roles: ['sales' as const] }, correlationId: 'c', causationId: 'c', occurredAt: new Date().toISOString() };
      const capture = (leadId: string) => ({ type: 'LeadCaptured', data: { leadId, name: 'Ada', source: 'web', capturedAt: new Date().toISOString() }, metadata: meta });
      const score = (leadId: string, s: number) => ({ type: 'LeadScored', data: { leadId, score: s, factors: [] }, metadata: meta });
      await t.store.append(`lead-${a}`, [capture(a), score(a, 10), score(a, POISON_SCORE), score(a, 11)]);
      await t.store.append(`lead-${b}`, [capture(b)]);
      const mine = (f: { streamId: string }) => f.streamId === `lead-${a}` || f.streamId === `lead-${b}`;
      const filled = await within(replayProjection({ target: t.target, store: t.store, log: silent, retry }), 20_000, 'the first fill');
      const expected = byId([lead(t.tenant, a, 11, 3), lead(t.tenant, b, null, 1)]);
      assert.deepEqual(await t.leads(), expected);
      assert.deepEqual(filled.failures.filter(mine).map((f) => f.streamRevision), [2n], 'the poison event is reported');
      const g1 = (await t.target.live())!;
      const again = await within(replayProjection({ target: t.target, store: t.store, log: silent, retry }), 20_000, 'a replay resumed at its checkpoint');
      assert.equal(again.applied, 0, 'the replay resumed from its position checkpoint');
      const r2 = await within(rebuildProjection({ target: t.target, store: t.store, log: silent, retry }), 20_000, 'the first rebuild');
      const g2 = (await t.target.live())!;
      assert.equal(g2.generation, r2.generation);
      assert.notEqual(g2.generation, g1.generation);
      assert.deepEqual(await t.leads(), expected, 'the rebuilt generation equals the old one');
      assert.deepEqual(await t.leads(g1), expected, 'the previous generation is kept (rollback, verify)');
      await within(rebuildProjection({ target: t.target, store: t.store, log: silent, retry }), 20_000, 'the second rebuild');
      const gens = await t.target.generations();
      assert.deepEqual(
        gens.map((g) => [g.generation, g.status]),
        [
          [g2.generation, 'retired'],
          [g2.generation + 1, 'live'],
        ],
        'the generation before the previous one is dropped',
      );
      assert.deepEqual(await t.leads(), expected);
      await assert.rejects(t.target.drop((await t.target.live())!), (e: { code?: string }) => e.code === 'PROJECTION_ERR_GENERATION_LIVE', 'the live generation cannot be dropped');
    });

    test('a fill (a shadow fed from the event store in order) writes no guard rows; after the swap the live consumer skips the history it redelivers and applies what is newer, once', async () => {
      const t = await fresh();
      const h = new RawHistory();
      const [a, b] = [randomUUID(), randomUUID()];
      const history = [h.capture(t.tenant, a), h.score(t.tenant, a, 10), h.capture(t.tenant, b)];
      const item = (r: (typeof history)[number]): BatchItem => ({ position: r.position, event: parseEvent(r) });
      const guardRows = async () => (await t.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM annals_projection_streams WHERE name = $1`, [t.target.name])).rows[0]!.n;
      const shadow = await t.target.createShadow();
      const first = { generation: shadow, items: history.slice(0, 2).map(item), history: { after: undefined } };
      await t.target.apply(first);
      // The same batch again (its commit went through, its answer was lost, the runtime retried): duplicates by history_through.
      const again = await t.target.apply(first);
      // (A store without the guard gets them again and is idempotent by position.)
      assert.deepEqual([again.applied, again.duplicates], t.subject.revisionGuard === false ? [2, 0] : [0, 2], 'a fill batch already committed changes nothing');
      assert.deepEqual(await t.leads(shadow), byId([lead(t.tenant, a, 10, 2)]), 'nothing was applied twice');
      await t.target.apply({ generation: shadow, items: history.slice(2).map(item), history: { after: history[1]!.position } });
      assert.equal(await t.target.readPosition(shadow), history[2]!.position);
      assert.equal(await guardRows(), 0, 'the fill wrote no guard rows');
      assert.deepEqual(await t.leads(shadow), byId([lead(t.tenant, a, 10, 2), lead(t.tenant, b, null, 1)]));
      await t.target.swap(shadow);
      // The bus redelivers the whole history (the consumer's offsets are older than the fill), then a newer event.
      const written = t.subject.eventsWritten?.();
      const p = t.projector();
      const newer = h.score(t.tenant, b, 20);
      await within(p.handleBatch(batchOf([...history, newer], { partition: 0 }), stop.signal), 10_000, 'the live batch after the swap');
      const expected = byId([lead(t.tenant, a, 10, 2), lead(t.tenant, b, 20, 2)]);
      assert.deepEqual(await t.leads(), expected, 'the redelivered history changed the model');
      const guarded = t.subject.revisionGuard !== false;
      assert.equal(p.stats.duplicates, guarded ? 3 : 0, 'the history below history_through is a duplicate for a stream without a guard row');
      if (written !== undefined && guarded) assert.equal(t.subject.eventsWritten?.(), written + 1, 'only the newer event reached the store');
      assert.equal(await guardRows(), guarded ? 1 : 0, 'the live apply wrote the guard row of the stream it applied');
      // Republished at later offsets: now its guard row decides.
      await within(p.handleBatch(batchOf([newer], { partition: 0, firstOffset: 10n }), stop.signal), 10_000, 'the republish');
      assert.deepEqual(await t.leads(), expected);
      assert.equal(p.stats.duplicates, guarded ? 4 : 0);
    });

    test('two fillers of one shadow (two rebuilds at once): whatever the interleaving, every event is applied once, and the shadow switches right', async () => {
      const t = await fresh();
      const h = new RawHistory();
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      const history = [h.capture(t.tenant, a), h.score(t.tenant, a, 10), h.capture(t.tenant, b), h.score(t.tenant, b, 20), h.score(t.tenant, a, 30), h.capture(t.tenant, c)];
      const item = (r: (typeof history)[number]): BatchItem => ({ position: r.position, event: parseEvent(r) });
      const batch = (from: number, to: number) => ({ generation: shadow, items: history.slice(from, to).map(item), history: { after: from === 0 ? undefined : history[from - 1]!.position } });
      const shadow = await t.target.createShadow();
      await t.target.apply(batch(0, 2)); // A: a fill
      await t.target.apply(batch(0, 4)); // B, from the start: 0–1 are duplicates, 2–3 new (guarded: it is no continuation)
      await t.target.apply(batch(2, 5)); // A goes on: 2–3 are B's (its guard rows), 4 is new
      await t.target.apply(batch(4, 6)); // B goes on: 4 is A's, 5 is new
      const expected = byId([lead(t.tenant, a, 30, 3), lead(t.tenant, b, 20, 2), lead(t.tenant, c, null, 1)]);
      assert.deepEqual(await t.leads(shadow), expected, 'an event applied twice shows in its lead\'s count (or, without a guard, changes nothing)');
      assert.equal(await t.target.readPosition(shadow), history[5]!.position);
      await t.target.swap(shadow);
      const p = t.projector();
      await within(p.handleBatch(batchOf([...history, h.score(t.tenant, c, 40)], { partition: 0 }), stop.signal), 10_000, 'the live batch after the swap');
      assert.deepEqual(await t.leads(), byId([lead(t.tenant, a, 30, 3), lead(t.tenant, b, 20, 2), lead(t.tenant, c, 40, 2)]));
    });

    test("a swap's catch-up writes the shadow inside the hold: a failed apply leaves no bookkeeping, and the live consumer waits, then writes the new generation", async () => {
      const t = await fresh();
      const h = new RawHistory();
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      const p = t.projector();
      const before = [h.capture(t.tenant, a), h.score(t.tenant, a, 1)];
      await within(p.handleBatch(batchOf(before, { partition: 0 }), stop.signal), 10_000, 'the live batch');
      const shadow = await t.target.createShadow();
      const item = (r: (typeof before)[number]): BatchItem => ({ position: r.position, event: parseEvent(r) });
      await t.target.apply({ generation: shadow, items: before.map(item) });
      assert.equal(await t.target.readPosition(shadow), before[1]!.position);
      const late = [h.capture(t.tenant, b), h.score(t.tenant, b, POISON_SCORE), h.score(t.tenant, b, 3)];
      let liveDuringSwap: Promise<void> | undefined;
      await t.target.swap(shadow, {
        catchUp: async (apply) => {
          await assert.rejects(apply({ generation: shadow, items: late.map(item) }), 'the poison event fails the attempt');
          // (Nothing outside the hold may be awaited here: on PGlite it would wait for the hold itself.)
          const r = await apply({ generation: shadow, items: late.map((x, i) => (i === 1 ? { position: x.position, event: undefined } : item(x))) });
          assert.deepEqual([r.applied, r.duplicates], [2, 0], 'the failed attempt left no revision guard behind');
          assert.equal(r.maxPosition, late[2]!.position);
          // A live batch arriving now must wait for the swap and then write the new generation.
          liveDuringSwap = p.handleBatch(batchOf([h.capture(t.tenant, c)], { partition: 0, firstOffset: 2n }), stop.signal);
          await new Promise((r) => setTimeout(r, 50));
        },
      });
      await within(liveDuringSwap!, 10_000, 'the live batch held off by the swap');
      assert.equal((await t.target.live())!.generation, shadow.generation);
      assert.equal(await t.target.readPosition(shadow), h.records[h.records.length - 1]!.position);
      assert.deepEqual(await t.leads(), byId([lead(t.tenant, a, 1, 2), lead(t.tenant, b, 3, 2), lead(t.tenant, c, null, 1)]));
    });
  });
}

/**
 * The PostgreSQL target of the kernel's test model, as a contract subject. `read` reads the rows back
 * (unfaulted); `close` drops the tables, views and control rows (for a shared server).
 */
export function postgresContractSubject(read: SqlClient, { sql, name }: ContractOpen): ContractSubject {
  const projection = kernelTestProjection({ name, table: name.replace(/-/g, '_') });
  const table = projection.tables[0]!;
  return {
    target: postgresReadModelTarget(sql, projection),
    async rows(generation) {
      const from = generation ? tablesOf(projection, generation.generation)[table]! : table;
      const { rows } = await read.query<{ lead_id: string; tenant_id: string; score: number | null; events: number }>(`SELECT lead_id, tenant_id, score, events FROM ${from}`);
      return rows.map((r) => ({ leadId: r.lead_id, tenantId: r.tenant_id, score: r.score, events: r.events }));
    },
    async close() {
      const { rows } = await read.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE tablename LIKE $1`, [`${table}_g%`]);
      await read.exec(`DROP VIEW IF EXISTS ${table}`);
      for (const r of rows) await read.exec(`DROP TABLE IF EXISTS ${r.t}`);
      await deleteControlRows(read, name);
    },
  };
}

/** The in-memory store without transactions behind `controlledTarget`, as a contract subject. */
export function memoryContractSubject(read: SqlClient, { sql, name }: ContractOpen): ContractSubject {
  const model = memoryReadModel({ name });
  return {
    target: controlledTarget(sql, model),
    rows: async (generation) => model.rows(generation?.generation),
    eventsWritten: () => model.eventsWritten,
    close: () => deleteControlRows(read, name),
  };
}

/** A read model's rows in the control tables, removed (a shared server is left as it was found). */
export async function deleteControlRows(sql: SqlClient, name: string): Promise<void> {
  for (const t of ['annals_projections', 'annals_projection_generations', 'annals_projection_offsets', 'annals_projection_streams']) {
    await sql.query(`DELETE FROM ${t} WHERE name = $1`, [name]);
  }
}

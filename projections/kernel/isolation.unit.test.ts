import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { embeddedBus } from '../../platform/bus/embedded.js';
import { DLQ } from '../../platform/bus/message.js';
import type { Bus, ConsumedBatch } from '../../platform/bus/port.js';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { openPglite, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import { parseEvent, type EventEnvelope } from '../../schemas/events/registry.js';
import { contactsProjection } from '../postgres/contacts/projection.js';
import { timelinesProjection } from '../postgres/timelines/projection.js';
import { applyEvents, ProjectionEventError } from './apply.js';
import { InlineLiteralError } from './coalesce.js';
import { isConnectionError } from './failures.js';
import { readLive, registerProjection, tablesOf } from './generations.js';
import type { PostgresProjection, Tables } from './projection.js';
import { createProjector } from './projector.js';
import { rebuildProjection } from './replay.js';
import { createStallDetector } from './stall.js';
import { renderPrometheus } from './status.js';
import { kernelTestProjection } from './test-projection.js';
import { batchOf, faultySql, RawHistory, readTopic, sqlError, within, type Call } from './testing.js';

/**
 * The projector can never be stuck by what a stored event contains, and never dead-letters because the
 * database is away. Events are fed straight to the projector (as the bus delivers them), bypassing the
 * API's validation: what is stored is what the projector must survive.
 */

const silent = pino({ level: 'silent' });
const retry = { maxAttempts: 3, backoff: { initialMs: 1, maxMs: 5 } };
/** A `LeadScored` with this score makes the test projection write a NUL into a text column. */
const NUL_SCORE = 14;

/** The kernel's test projection, plus a statement carrying a NUL for NUL_SCORE (the inlined-script path). */
function withNul(base: PostgresProjection): PostgresProjection {
  return {
    ...base,
    project: (event: EventEnvelope, tables: Tables) =>
      event.type === 'LeadScored' && event.data.score === NUL_SCORE
        ? [{ sql: `UPDATE ${tables[base.tables[0]!]} SET tenant_id = $2 WHERE lead_id = $1`, params: [event.data.leadId, 'evil\u0000tenant'] }]
        : base.project(event, tables),
  };
}

describe('projector isolation (PGlite + embedded bus, events fed directly)', { timeout: 120_000 }, () => {
  let db: SqlClient;
  let bus: Bus;
  before(async () => {
    db = pgliteClient(await openPglite());
    bus = embeddedBus({ partitions: 2 });
  });
  // Every projector a test starts stops with it, whatever the outcome: a broken guarantee fails, never hangs.
  let stop = new AbortController();
  afterEach(() => {
    stop.abort();
    stop = new AbortController();
  });
  after(async () => {
    await db.close();
  });

  /** A read model of its own (name, tables, DLQ topic) per test. */
  async function fresh(options: { fault?: (call: Call) => unknown; projection?: PostgresProjection; retryPolicy?: typeof retry; clock?: () => number } = {}) {
    const run = randomUUID().replace(/-/g, '').slice(0, 8);
    const projection = options.projection ?? withNul(kernelTestProjection({ name: `kt-${run}`, table: `kt_${run}` }));
    await registerProjection(db, projection);
    const sql = faultySql(db, options.fault ?? (() => undefined));
    const projector = createProjector({ sql, bus, projection, log: silent, retry: options.retryPolicy ?? retry, ...(options.clock ? { clock: options.clock } : {}) });
    const table = projection.tables[0]!;
    const rows = async () =>
      (await db.query<{ lead_id: string; tenant_id: string; score: number | null; events: number }>(`SELECT lead_id, tenant_id, score, events FROM ${table} ORDER BY lead_id`)).rows;
    const offsets = async () =>
      (await db.query<{ p: number; o: string }>(`SELECT partition AS p, next_offset::text AS o FROM annals_projection_offsets WHERE name = $1 ORDER BY partition`, [projection.name])).rows;
    const dlq = (n: number, ms?: number) => readTopic(bus, `annals.dlq.${projection.name}`, n, ms);
    const apply = (batch: ConsumedBatch) => projector.handleBatch(batch, stop.signal);
    return { projection, projector, sql, rows, offsets, dlq, apply };
  }

  test('a NUL inside a value is dead-lettered; the events behind it, of its stream and of other tenants, are applied', async () => {
    const { projector, rows, offsets, dlq, apply } = await fresh();
    const h = new RawHistory();
    const [a, b] = [randomUUID(), randomUUID()];
    const records = [h.capture('t1', a), h.capture('t2', b), h.score('t1', a, NUL_SCORE), h.score('t2', b, 50), h.score('t1', a, 60)];
    await within(apply(batchOf(records, { partition: 0 })), 10_000, 'the batch with a NUL to commit');
    const byId = new Map((await rows()).map((r) => [r.lead_id, r]));
    assert.deepEqual({ ...byId.get(a) }, { lead_id: a, tenant_id: 't1', score: 60, events: 2 });
    assert.deepEqual({ ...byId.get(b) }, { lead_id: b, tenant_id: 't2', score: 50, events: 2 });
    assert.deepEqual(await offsets(), [{ p: 0, o: '5' }], 'the checkpoint moved past the poison event');
    const dead = await dlq(1);
    assert.equal(dead.length, 1);
    assert.equal(dead[0]!.key, `lead-${a}`);
    assert.equal(dead[0]!.headers.streamRevision, '1');
    assert.equal(dead[0]!.headers[DLQ.attempts], String(retry.maxAttempts));
    assert.match(dead[0]!.headers[DLQ.error]!, /0x00|NUL/);
    assert.equal(projector.stats.deadLettered, 1);
  });

  test('apply.ts names the event of a NUL itself, in the same transaction (its savepoint exists before the script)', async () => {
    const projection = withNul(kernelTestProjection({ name: `kt-apply`, table: `kt_apply` }));
    const { generation } = await registerProjection(db, projection);
    const h = new RawHistory();
    const [a, b] = [randomUUID(), randomUUID()];
    const events = [h.capture('t1', a), h.capture('t1', b), h.score('t1', b, 30), h.score('t1', a, NUL_SCORE), h.score('t1', a, 31)].map((r) => parseEvent(r));
    const target = { name: projection.name, generation, tables: tablesOf(projection, generation) };
    const error = await db.transaction((tx) => applyEvents(tx, projection, target, events)).then(
      () => assert.fail('the batch applied a NUL'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ProjectionEventError, `a ProjectionEventError, not ${String(error)}`);
    assert.equal(error.event.eventId, events[3]!.eventId);
    assert.equal(error.index, 3);
    assert.equal(error.code, 'PROJECTION_ERR_EVENT(22021)', 'the bound parameter, not an inlined script, named the failure');
  });

  for (const [label, error] of [
    ['3B001 (savepoint gone)', sqlError('3B001', 'savepoint "annals_apply_batch" does not exist')],
    ['54000 (program limit)', sqlError('54000')],
    ['XX000 (internal error)', sqlError('XX000')],
    ['08P01 (protocol violation: the connection stays)', sqlError('08P01', 'invalid message format')],
    ['an unknown SQLSTATE', sqlError('ZZ999')],
    ['no code at all (thrown by the driver for bad input)', new TypeError('Do not know how to serialize a BigInt')],
  ] as const) {
    test(`a failure the batch cannot roll back from, ${label}, is bisected to its event and dead-lettered`, async () => {
      // Whenever a statement carries the poison lead's id, it fails; the ROLLBACK TO that follows fails too
      // (as it did with the savepoint inside the failed script): apply.ts cannot name the event itself.
      const poison = randomUUID();
      let broken = false;
      const fault = ({ sql, params }: Call) => {
        if (broken && sql.startsWith('ROLLBACK TO SAVEPOINT')) {
          broken = false;
          return error;
        }
        if (sql.includes(poison) || params.includes(poison)) {
          broken = true;
          return error;
        }
        return undefined;
      };
      const { rows, offsets, dlq, apply } = await fresh({ fault });
      const h = new RawHistory();
      const ids = Array.from({ length: 20 }, () => randomUUID());
      const records = ids.flatMap((id, i) => [h.capture(i % 2 ? 't1' : 't2', id), h.score('t1', id, 40 + i)]);
      records.splice(17, 0, h.capture('t1', poison));
      await within(apply(batchOf(records, { partition: 1 })), 10_000, `the batch failing with ${label} to commit`);
      const r = await rows();
      assert.equal(r.length, 20, 'every other lead applied');
      assert.ok(r.every((x) => x.events === 2));
      assert.deepEqual(await offsets(), [{ p: 1, o: String(records.length) }]);
      const dead = await dlq(2, 500);
      assert.equal(dead.length, 1, 'exactly the poison event');
      assert.equal(dead[0]!.key, `lead-${poison}`);
    });
  }

  test('the fast path stays one transaction; a poison event costs O(log n) probes, not n', async () => {
    const poison = randomUUID();
    let broken = false;
    const fault = ({ sql, params }: Call) => {
      if (broken && sql.startsWith('ROLLBACK TO SAVEPOINT')) {
        broken = false;
        return sqlError('3B001');
      }
      if (sql.includes(poison) || params.includes(poison)) {
        broken = true;
        return sqlError('XX000');
      }
      return undefined;
    };
    const { sql, apply } = await fresh({ fault, retryPolicy: { ...retry, maxAttempts: 1 } });
    const h = new RawHistory();
    const clean = Array.from({ length: 200 }, () => h.capture('t1', randomUUID()));
    await within(apply(batchOf(clean, { partition: 0 })), 10_000, 'the clean batch');
    assert.equal(sql.transactions, 1, 'a clean batch is one transaction');
    const before = sql.transactions;
    const dirty = Array.from({ length: 256 }, (_, i) => h.capture('t1', i === 200 ? poison : randomUUID()));
    await within(apply(batchOf(dirty, { partition: 0, firstOffset: 200n })), 10_000, 'the dirty batch');
    const used = sql.transactions - before;
    // 2 failed attempts + ~log2(256) = 8 probes + the final commit; one-by-one would be hundreds.
    assert.ok(used <= 14, `${used} transactions`);
  });

  test('a tenant id with NUL in the envelope does not stop timelines (nor contacts); other tenants flow', async () => {
    for (const projection of [timelinesProjection, contactsProjection]) {
      const { offsets, dlq, apply } = await fresh({ projection });
      const h = new RawHistory();
      const [evil, good] = [randomUUID(), randomUUID()];
      const created = (id: string, company: string) => ({ contactId: id, firstName: 'Alice', lastName: 'Martin', company, customFields: {}, tags: [] });
      const records = [
        h.add(`contact-${evil}`, 'ContactCreated', created(evil, 'Acme'), 'acme\u0000evil', 2),
        h.add(`contact-${randomUUID()}`, 'ContactCreated', created(randomUUID(), 'Acme\u0000Inc'), 'tenant-a', 2),
        h.add(`contact-${good}`, 'ContactCreated', created(good, 'Beta'), 'tenant-b', 2),
      ];
      await within(apply(batchOf(records, { topic: 'annals.contact.events', partition: 0 })), 10_000, `${projection.name} to get past the NULs`);
      assert.deepEqual(await offsets(), [{ p: 0, o: '3' }]);
      const table = projection.tables[0]!;
      const { rows } = await db.query<{ tenant_id: string }>(`SELECT tenant_id FROM ${table} WHERE contact_id = $1`, [good]);
      assert.ok(rows.length >= 1 && rows.every((x) => x.tenant_id === 'tenant-b'), `${projection.name}: the other tenant's contact is applied`);
      assert.equal((await dlq(3, 500)).length, 2, `${projection.name}: both NUL events dead-lettered`);
    }
  });

  test('a database outage (08006, 57P01, lost connections) is waited out: nothing dead-lettered, everything applied', async () => {
    let down = true;
    let failures = 0;
    const outage = [sqlError('08006', 'connection failure'), sqlError('57P01', 'terminating connection due to administrator command'), new Error('Connection terminated unexpectedly'), Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })];
    // The connection drops while the events' statements run (BEGIN and the bookkeeping get through): the
    // failure reaches apply.ts's isolation and names an event, which must still not be blamed.
    const fault = ({ sql }: Call) => {
      if (!down || !/\bkt_/.test(sql)) return undefined;
      return outage[failures++ % outage.length];
    };
    const { projector, rows, dlq, apply } = await fresh({ fault });
    const h = new RawHistory();
    const ids = Array.from({ length: 10 }, () => randomUUID());
    const applying = apply(batchOf(ids.flatMap((id) => [h.capture('t1', id), h.score('t1', id, 70)]), { partition: 0 }));
    try {
      // Many times maxAttempts (3) over: an outage must never be counted against the events.
      for (let i = 0; i < 500 && failures < 8 * retry.maxAttempts; i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(failures >= 8 * retry.maxAttempts, `${failures} failures seen`);
    } finally {
      down = false;
    }
    await within(applying, 10_000, 'the batch to commit once the database is back');
    assert.equal((await rows()).filter((x) => x.events === 2).length, 10);
    assert.equal(projector.stats.deadLettered, 0);
    assert.equal((await dlq(1, 300)).length, 0, 'the DLQ is empty');
  });

  test('rows and offsets commit together: when the offsets write fails, nothing of the batch is visible', async () => {
    let failOffsets = true;
    let fired = 0;
    const fault = ({ sql }: Call) => {
      if (failOffsets && /INSERT INTO annals_projection_offsets/.test(sql)) {
        fired++;
        return sqlError('08006', 'connection failure');
      }
      return undefined;
    };
    const { rows, offsets, apply } = await fresh({ fault });
    const h = new RawHistory();
    const ids = Array.from({ length: 5 }, () => randomUUID());
    const applying = apply(batchOf(ids.map((id) => h.capture('t1', id)), { partition: 0 }));
    try {
      for (let i = 0; i < 500 && fired < 3; i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(fired >= 3, 'the offsets write was attempted and failed');
      assert.deepEqual(await rows(), [], 'no row of the batch is visible while its offsets are not');
      assert.deepEqual(await offsets(), []);
    } finally {
      failOffsets = false;
    }
    await within(applying, 10_000, 'the batch to commit');
    assert.equal((await rows()).length, 5);
    assert.ok((await rows()).every((r) => r.events === 1), 'each applied once');
    assert.deepEqual(await offsets(), [{ p: 0, o: '5' }]);
  });

  test('stall detector: lagging with no progress for PROJECTOR_STALL_MS is reported once, with its cause, and clears', async () => {
    let now = 1_000_000;
    const clock = () => now;
    let down = true;
    const fault = () => (down ? sqlError('08006', 'connection to server lost') : undefined);
    const { projector, projection, apply } = await fresh({ fault, clock });
    const lines: Array<{ level: number; msg: string; cause?: string; projector?: string }> = [];
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]);
          cb();
        },
      }),
    );
    const stalls = createStallDetector({ projectors: [projector], stallMs: 30_000, log, clock });
    const h = new RawHistory();
    const applying = apply(batchOf([h.capture('t1', randomUUID())], { partition: 0 }));
    try {
      assert.deepEqual(stalls.readiness(), { projectors: 'ok' }, 'work just arrived: not stalled yet');
      for (let i = 0; i < 500 && projector.stats.lastError === undefined; i++) await new Promise((r) => setTimeout(r, 10));
      now += 29_999;
      assert.equal(stalls.check()[0]!.stalled, false);
      now += 1;
      const ready = stalls.readiness();
      assert.match(ready[`projector:${projection.name}`] ?? '', /stalled: no progress for 30 s with 1 messages waiting; cause: 08006: connection to server lost/);
      assert.match(renderPrometheus(stalls.gauges()), new RegExp(`annals_projector_stalled\\{projector="${projection.name}"\\} 1`));
      stalls.check();
      stalls.check();
      const errors = lines.filter((l) => l.level === 50);
      assert.equal(errors.length, 1, 'logged once at error');
      assert.equal(errors[0]!.projector, projection.name);
      assert.match(errors[0]!.cause ?? '', /08006/);
    } finally {
      down = false;
    }
    await within(applying, 10_000, 'the batch to commit');
    now += 1;
    assert.deepEqual(stalls.readiness(), { projectors: 'ok' });
    assert.match(renderPrometheus(stalls.gauges()), /annals_projector_stalled\{projector="[^"]+"\} 0/);
    stalls.check();
    assert.equal(lines.filter((l) => l.level === 30 && /moving again/.test(l.msg)).length, 1, 'recovery logged once at info');
    assert.equal(lines.filter((l) => l.level === 50).length, 1);
  });

  test("a poison event among a rebuild's last events (applied inside the swap) is isolated, not a failed rebuild", async () => {
    const projection = withNul(kernelTestProjection({ name: 'kt-rebuild', table: 'kt_rebuild' }));
    await registerProjection(db, projection);
    // A real event store (a PGlite of its own: the swap transaction holds the read one), so the rebuild
    // reads events exactly as in production.
    const storeDb = pgliteClient(await openPglite());
    try {
      const real = createEventStore(await postgresEventStore(storeDb));
      const meta = (tenantId: string) => ({ tenantId, actor: { userId: 'u1', roles: ['sales' as const] }, correlationId: 'c', causationId: 'c', occurredAt: new Date().toISOString() });
      const capture = (tenantId: string, leadId: string) => ({ type: 'LeadCaptured', data: { leadId, name: 'Ada', source: 'web', capturedAt: new Date().toISOString() }, metadata: meta(tenantId) });
      const score = (leadId: string, s: number) => ({ type: 'LeadScored', data: { leadId, score: s, factors: [] }, metadata: meta('t1') });
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      await real.append(`lead-${a}`, [capture('t1', a)]);
      await real.append(`lead-${b}`, [capture('t1', b)]);
      await real.append(`lead-${a}`, [score(a, 30)]);
      const replayedUpTo = await real.headPosition();
      await real.append(`lead-${b}`, [score(b, NUL_SCORE)]);
      const poison = (await real.readStreamRaw(`lead-${b}`))[1]!;
      await real.append(`lead-${a}`, [score(a, 60)]);
      await real.append(`lead-${c}`, [capture('t2', c)]);
      // The replay stops at the head it saw when it started (the first look); what was appended meanwhile is the
      // swap's tail, which the catch-up reads up to the head it sees inside the hold (every later look).
      let looks = 0;
      const store: EventStore = Object.assign(Object.create(real) as EventStore, {
        headPosition: async () => (looks++ === 0 ? replayedUpTo : real.headPosition()),
      });
      const failures: string[] = [];
      const result = await within(
        rebuildProjection({ sql: db, store, projection, log: silent, retry, batchSize: 3, signal: stop.signal, onFailure: async (f) => void failures.push(f.eventId) }),
        10_000,
        'the rebuild',
      );
      assert.deepEqual(failures, [poison.eventId]);
      assert.equal(result.events, 6);
      assert.equal((await readLive(db, projection.name, false))?.generation, result.generation, 'swapped');
      const rows = (await db.query<{ lead_id: string; score: number | null; events: number }>(`SELECT lead_id, score, events FROM kt_rebuild`)).rows;
      assert.deepEqual(new Map(rows.map((r) => [r.lead_id, [r.score, r.events]])), new Map([[a, [60, 3]], [b, [null, 1]], [c, [null, 1]]]));
    } finally {
      await storeDb.close();
    }
  });

  test('failures are classified: only a lost connection is waited out; everything else is blamed on an event', () => {
    for (const e of [
      sqlError('08006'),
      sqlError('08001'),
      sqlError('57P01'),
      sqlError('57P02'),
      sqlError('57P03'),
      sqlError('53300'),
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })], 'connect failed'),
      Object.assign(new Error('wrapped'), { cause: sqlError('57P01') }),
    ]) {
      assert.equal(isConnectionError(e), true, `${(e as Error).message} ${(e as { code?: string }).code ?? ''}`);
    }
    for (const e of [
      sqlError('08P01'),
      sqlError('3B001'),
      sqlError('54000'),
      sqlError('XX000'),
      sqlError('22021'),
      sqlError('22012'),
      sqlError('40P01'),
      sqlError('ZZ999'),
      new TypeError('bad input'),
      new InlineLiteralError(2),
      undefined,
      'a string',
    ]) {
      assert.equal(isConnectionError(e), false, String((e as { code?: string })?.code ?? e));
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import type { AnalyticsEngine } from '../../platform/analytics/port.js';
import { embeddedBus } from '../../platform/bus/embedded.js';
import { encodeEvent } from '../../platform/bus/message.js';
import type { Bus } from '../../platform/bus/port.js';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { openPglite, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import { EVENTS_VIEW, eventsTable } from '../../schemas/read-models/clickhouse/events.js';
import { analyticsEventsModel } from '../../projections/clickhouse/events/model.js';
import { controlledTarget } from '../../projections/kernel/controlled.js';
import { createProjector, type Projector } from '../../projections/kernel/projector.js';
import { kernelTestProjection } from '../../projections/kernel/test-projection.js';
import { until, within } from '../../projections/kernel/testing.js';
import type { ReadModelTarget } from '../../projections/kernel/target.js';
import { postgresReadModelTarget } from '../../projections/postgres/target.js';
import { formatRebuild, formatVerify } from '../cli/commands/replay-rebuild.js';
import { rebuildModels } from './rebuild.js';
import { clickhouseComparator } from './verify-clickhouse.js';
import { verifyModels } from './verify.js';

/**
 * `replay rebuild` and `replay verify` of the ClickHouse fact table (`analytics_events`), the same tests on
 * chDB (unit) and the 18.16 server (int): PGlite event store and control tables, the embedded bus, a live
 * projector for the fact table and one for a PostgreSQL model (the kernel's test model, which counts every
 * event it applies), commands flowing during the rebuild, a reader polling the public `events` view the whole
 * time. `verify` (the ClickHouse comparator) is the oracle of "equals a fresh replay"; the row count is checked
 * independently against the store too. The verify test then damages the live table by hand.
 */
export interface ClickhouseReplayHandles {
  readonly engine: AnalyticsEngine;
  close(): Promise<void>;
}

const log = pino({ level: 'silent' });
const TOPIC = 'annals.lead.events';

export function clickhouseReplaySuite(open: () => Promise<ClickhouseReplayHandles>): void {
  let handles: ClickhouseReplayHandles;
  let engine: AnalyticsEngine;
  let storeSql: SqlClient;
  let readSql: SqlClient;
  let store: EventStore;
  let bus: Bus;
  let ch: ReadModelTarget;
  let pgModel: ReadModelTarget;
  let comparators: Map<string, ReturnType<typeof clickhouseComparator>>;
  const projectors: Projector[] = [];
  const stop = new AbortController();
  const runs: Promise<void>[] = [];
  let published: bigint | undefined;
  const leads: string[] = [];
  const tenant = `t-chr-${uuidv7().slice(-8)}`;
  const meta = () => ({ tenantId: tenant, actor: { userId: 'u1', roles: ['sales' as const] }, correlationId: 'c', causationId: 'c', occurredAt: new Date().toISOString() });
  // Hostile but valid business text (NUL is refused by the schema; it is in the hand-made row below): bidi override, astral characters in the fact's categorical fields.
  const capture = (id: string) => ({ type: 'LeadCaptured', data: { leadId: id, name: 'Ada', source: 'web', campaign: 'spring \u202Eevil\u202C 😀', capturedAt: new Date().toISOString() }, metadata: meta() });
  const score = (id: string, s: number) => ({ type: 'LeadScored', data: { leadId: id, score: s, factors: [] }, metadata: meta() });

  const publishNew = async () => {
    const records = await store.readAllRaw({ after: published, maxCount: 100_000 });
    if (records.length === 0) return;
    await bus.publish(records.map((r) => ({ topic: TOPIC, ...encodeEvent(r) })));
    published = records[records.length - 1]!.position;
  };
  const caughtUp = async () => {
    await publishNew();
    const head = await store.headPosition();
    await until(() => projectors.every((p) => head !== undefined && p.stats.position !== undefined && p.stats.position >= head), 60_000, 'the live projectors to reach the head');
  };
  const viewCount = async () => Number((await engine.query<{ n: string }>(`SELECT count() AS n FROM ${EVENTS_VIEW}`))[0]!.n);
  const storeEvents = async () => (await store.readAllRaw({ maxCount: 1_000_000 })).length;
  const verifyClean = async (targets: readonly ReadModelTarget[]) => {
    const report = await verifyModels(targets, { store, log, controlSql: readSql, batchSize: 97, comparators, settleMs: 5_000 });
    assert.deepEqual(
      report.models.map((m) => [m.name, m.comparable, m.differences.length + m.unlisted]),
      targets.map((t) => [t.name, true, 0]),
      formatVerify(report),
    );
    return report;
  };

  /**
   * A rebuild with commands flowing and a reader on the `events` view all the time (a loop, plus one read
   * per progress step): the reader must never see fewer rows than before, nor an error (a view missing
   * during the swap); afterwards the fact table equals a fresh replay and holds one row per stored event.
   */
  const rebuildWhileFlowing = async (targets: readonly ReadModelTarget[]) => {
    await caughtUp();
    const rowsBefore = await viewCount();
    assert.ok(rowsBefore > 0);
    const liveBefore = await ch.live();
    let writing = true;
    let fewest = Number.MAX_SAFE_INTEGER;
    let reads = 0;
    const readErrors: unknown[] = [];
    const readOnce = async () => {
      try {
        fewest = Math.min(fewest, await viewCount());
        reads++;
      } catch (err) {
        readErrors.push(err);
      }
    };
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const id = leads[i % leads.length]!;
        await store.append(`lead-${id}`, [score(id, 60 + (i % 30))]);
        if (i % 5 === 0) {
          const fresh = uuidv7();
          leads.push(fresh);
          await store.append(`lead-${fresh}`, [capture(fresh)]);
        }
        await publishNew();
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const reader = (async () => {
      while (writing) {
        await readOnce();
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    const queued: Promise<void>[] = [];
    let report;
    try {
      report = await within(rebuildModels(targets, {
        store,
        log,
        controlSql: readSql,
        batchSize: 41,
        graceMs: 0,
        onProgress: () => void queued.push(readOnce()),
        // Commands between the last pass and the switch: the switch's catch-up must bring them in.
        beforeSwitch: async () => {
          for (const id of leads.slice(0, 4)) await store.append(`lead-${id}`, [score(id, 99)]);
          await caughtUp();
        },
      }), 120_000, 'the rebuild to switch');
      await readOnce();
    } finally {
      writing = false;
      await within(Promise.all([writer, reader, ...queued]), 30_000, 'the writer and the readers to stop');
    }
    assert.equal(report.switched, true, formatRebuild(report));
    assert.deepEqual(readErrors, [], 'no read of the events view failed during the rebuild');
    assert.ok(fewest >= rowsBefore, `a reader saw ${fewest} rows in ${EVENTS_VIEW}, fewer than the ${rowsBefore} before the rebuild: an empty or half-built table`);
    assert.ok(reads >= 10, `reads ran during the rebuild (${reads})`);
    const liveAfter = (await ch.live())!;
    assert.ok(liveAfter.generation > liveBefore!.generation, 'the fact table switched to its new generation');
    await caughtUp();
    await verifyClean(targets);
    assert.equal(await viewCount(), await storeEvents(), 'one fact row per stored event');
    const dropped = await engine.query<{ n: string }>(`SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = ${`'${eventsTable(liveBefore!.generation)}'`}`);
    assert.equal(dropped[0]!.n, '0', '--grace 0 drops the previous generation’s table');
  };

  before(async () => {
    handles = await open();
    engine = handles.engine;
    storeSql = pgliteClient(await openPglite());
    readSql = pgliteClient(await openPglite());
    store = createEventStore(await postgresEventStore(storeSql));
    bus = embeddedBus({ partitions: 3 });
    ch = controlledTarget(readSql, analyticsEventsModel(engine));
    pgModel = postgresReadModelTarget(readSql, kernelTestProjection({ name: 'chr-k', table: 'chr_k' }));
    comparators = new Map([[ch.name, clickhouseComparator(engine)]]);
    for (const t of [ch, pgModel]) {
      await t.register();
      const p = createProjector({ target: t, bus, log, topics: [TOPIC] });
      projectors.push(p);
      runs.push(p.run(stop.signal));
    }
    for (let i = 0; i < 40; i++) {
      const id = uuidv7();
      leads.push(id);
      await store.append(`lead-${id}`, [capture(id), score(id, i % 10), score(id, 20 + (i % 7)), score(id, 40)]);
    }
    await caughtUp();
  });
  after(async () => {
    stop.abort();
    await within(Promise.all(runs), 15_000, 'the projectors to stop').catch(() => undefined);
    await Promise.allSettled([storeSql.close(), readSql.close(), bus.close()]);
    await handles.close();
  });

  it('replay rebuild analytics_events while commands flow: the events view never empties, ends equal to a fresh replay', async () => {
    await rebuildWhileFlowing([ch]);
  });

  it('replay rebuild all (a PostgreSQL model and the fact table in one pass): both switch, both equal a fresh replay', async () => {
    const pgBefore = (await pgModel.live())!.generation;
    await rebuildWhileFlowing([pgModel, ch]);
    assert.ok((await pgModel.live())!.generation > pgBefore, 'the PostgreSQL model switched too');
  });

  it('verify: identical when clean; a row deleted, a row added and a row changed by hand are listed by (tenant_id, position)', async () => {
    await caughtUp();
    const clean = await verifyClean([ch]);
    assert.equal(clean.models[0]!.rows[EVENTS_VIEW], await storeEvents());
    const table = eventsTable((await ch.live())!.generation);
    const live = await engine.query<{ position: string; event_type: string }>(`SELECT position, event_type FROM ${table} FINAL WHERE tenant_id = '${tenant}' ORDER BY position`);
    const scored = live.filter((r) => r.event_type === 'LeadScored');
    const [gone, changed] = [scored[3]!.position, scored[5]!.position];
    // A conflicting row for an existing key: FINAL keeps the last one written, so readers see it.
    const [original] = await engine.query<Record<string, unknown>>(`SELECT * FROM ${table} FINAL WHERE tenant_id = '${tenant}' AND position = ${changed}`);
    await engine.insert(table, [{ ...original, score: 1234, currency: 'XTS' }]);
    // An extra row: another tenant's copy of a real fact, at a position the store never had for it.
    const extra = { tenant: 'other-tenant\u0000', position: '18446744073709551615' };
    await engine.insert(table, [{ ...original, tenant_id: extra.tenant, position: extra.position }]);
    // A deleted row: ALTER … DELETE is a mutation (18.16 has it for a plain MergeTree); it runs in the background.
    const before = await viewCount();
    await engine.command(`ALTER TABLE ${table} DELETE WHERE tenant_id = '${tenant}' AND position = ${gone}`);
    await until(async () => (await viewCount()) === before - 1, 30_000, 'the DELETE mutation to apply');

    const dirty = await verifyModels([ch], { store, log, controlSql: readSql, batchSize: 200, comparators, settleMs: 1_000 });
    const m = dirty.models[0]!;
    assert.equal(m.comparable, true);
    assert.deepEqual(
      m.differences.map((d) => [d.kind, d.table, d.key, d.kind === 'different' ? d.columns : []]).sort(),
      [
        ['different', EVENTS_VIEW, { tenant_id: tenant, position: changed }, ['currency', 'score']],
        ['extra', EVENTS_VIEW, { tenant_id: extra.tenant, position: extra.position }, []],
        ['missing', EVENTS_VIEW, { tenant_id: tenant, position: gone }, []],
      ].sort(),
      formatVerify(dirty),
    );
    assert.match(formatVerify(dirty), new RegExp(`different events \\{"tenant_id":"${tenant}","position":"${changed}"\\} columns: currency, score`));
    const capped = await verifyModels([ch], { store, log, controlSql: readSql, batchSize: 200, comparators, settleMs: 1_000, maxListed: 1 });
    assert.deepEqual([capped.models[0]!.differences.length, capped.models[0]!.unlisted], [1, 2], 'past --max the differences are counted, not listed');
    const left = await engine.query<{ name: string }>(`SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE 'events_g%'`);
    assert.deepEqual(left.map((r) => r.name), [table], 'the temporary generation’s table is dropped');
    assert.equal((await ch.generations()).filter((g) => g.status === 'building').length, 0, 'the temporary generation is dropped');
  });
}

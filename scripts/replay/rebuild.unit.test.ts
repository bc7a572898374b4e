import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { embeddedBus } from '../../platform/bus/embedded.js';
import { encodeEvent } from '../../platform/bus/message.js';
import type { Bus } from '../../platform/bus/port.js';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { openPglite, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import { fixableProjection } from '../../projections/dead-letters/testing.js';
import { createProjector, type Projector } from '../../projections/kernel/projector.js';
import { kernelTestProjection } from '../../projections/kernel/test-projection.js';
import { until, within } from '../../projections/kernel/testing.js';
import { postgresReadModelTarget, type PostgresReadModelTarget } from '../../projections/postgres/target.js';
import { formatRebuild, formatVerify } from '../cli/commands/replay-rebuild.js';
import { rebuildModels } from './rebuild.js';
import { verifyModels } from './verify.js';

/**
 * `annals replay rebuild` / `verify` on PGlite + the embedded bus, with live projectors running and
 * commands flowing during the rebuild. Two models: a state-setting one, and the kernel's test model, which
 * counts the events it applies (`events = events + 1`), so an event applied twice or lost shows in its rows.
 * `verify` is the oracle of "equals a fresh replay"; its own test alters, deletes and adds rows by hand.
 */
const log = pino({ level: 'silent' });
const a = fixableProjection('rb-a', 'rb_a').projection;
const k = kernelTestProjection({ name: 'rb-k', table: 'rb_k' });
const meta = () => ({ tenantId: 't-rb', actor: { userId: 'u1', roles: ['sales' as const] }, correlationId: 'c', causationId: 'c', occurredAt: new Date().toISOString() });
const capture = (id: string) => ({ type: 'LeadCaptured', data: { leadId: id, name: 'Ada', source: 'web', capturedAt: new Date().toISOString() }, metadata: meta() });
const score = (id: string, s: number) => ({ type: 'LeadScored', data: { leadId: id, score: s, factors: [] }, metadata: meta() });

describe('replay rebuild and verify', { timeout: 240_000 }, () => {
  let storeSql: SqlClient;
  let readSql: SqlClient;
  let store: EventStore;
  let bus: Bus;
  let targets: PostgresReadModelTarget[];
  const projectors: Projector[] = [];
  const stop = new AbortController();
  const runs: Promise<void>[] = [];
  let published: bigint | undefined;
  const leads: string[] = [];

  const publishNew = async () => {
    const records = await store.readAllRaw({ after: published, maxCount: 100_000 });
    if (records.length === 0) return;
    await bus.publish(records.map((r) => ({ topic: 'annals.lead.events', ...encodeEvent(r) })));
    published = records[records.length - 1]!.position;
  };
  const caughtUp = async () => {
    await publishNew();
    const head = await store.headPosition();
    await until(() => projectors.every((p) => head !== undefined && p.stats.position !== undefined && p.stats.position >= head), 30_000, 'the live projectors to reach the head');
  };
  const verifyClean = async () => {
    const report = await verifyModels(targets, { store, log, controlSql: readSql, batchSize: 97 });
    assert.deepEqual(
      report.models.map((m) => [m.name, m.differences.length + m.unlisted]),
      targets.map((t) => [t.name, 0]),
      formatVerify(report),
    );
  };

  before(async () => {
    storeSql = pgliteClient(await openPglite());
    readSql = pgliteClient(await openPglite());
    store = createEventStore(await postgresEventStore(storeSql));
    bus = embeddedBus({ partitions: 3 });
    targets = [postgresReadModelTarget(readSql, a), postgresReadModelTarget(readSql, k)];
    for (const t of targets) {
      await t.register();
      const p = createProjector({ target: t, bus, log, topics: ['annals.lead.events'] });
      projectors.push(p);
      runs.push(p.run(stop.signal));
    }
    for (let i = 0; i < 60; i++) {
      const id = uuidv7();
      leads.push(id);
      await store.append(`lead-${id}`, [capture(id), score(id, i % 10), score(id, 20 + (i % 7)), score(id, 40), score(id, 50 + (i % 3))]);
    }
    await caughtUp();
  });
  after(async () => {
    stop.abort();
    await within(Promise.all(runs), 15_000, 'the projectors to stop');
    await Promise.all([storeSql.close(), readSql.close(), bus.close()]);
  });

  it('rebuilds both models in one pass while commands flow; readers never see an empty or half-built model; equals a fresh replay', async () => {
    const before = Number((await readSql.query<{ n: string }>(`SELECT count(*)::text AS n FROM rb_k`)).rows[0]!.n);
    const liveBefore = await Promise.all(targets.map((t) => t.live()));
    let writing = true;
    let fewest = Number.MAX_SAFE_INTEGER;
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
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    // A read queued at every progress step runs between the rebuild's transactions: what a reader sees meanwhile.
    const reads: Promise<void>[] = [];
    const readNow = () =>
      reads.push(
        readSql.query<{ n: string }>(`SELECT count(*)::text AS n FROM rb_k`).then((r) => {
          fewest = Math.min(fewest, Number(r.rows[0]!.n));
        }),
      );
    let report;
    try {
      report = await rebuildModels(targets, {
        store,
        log,
        controlSql: readSql,
        batchSize: 37,
        graceMs: 0,
        onProgress: readNow,
        // Commands in the window between the last pass and the switch: the live consumer applies them to the
        // old generation; the switch's catch-up must bring them into the new one.
        beforeSwitch: async () => {
          for (const id of leads.slice(0, 5)) await store.append(`lead-${id}`, [score(id, 99)]);
          await caughtUp();
        },
      });
      readNow();
    } finally {
      writing = false;
      await within(Promise.all([writer, ...reads]), 15_000, 'the writer and the reads to finish');
    }
    assert.equal(report.switched, true, formatRebuild(report));
    assert.ok(reads.length >= 10, `reads ran during the rebuild (${reads.length})`);
    assert.ok(fewest >= before, `a reader saw ${fewest} rows, fewer than the ${before} before the rebuild: an empty or half-built model`);
    const liveAfter = await Promise.all(targets.map((t) => t.live()));
    liveAfter.forEach((g, i) => assert.ok(g!.generation > liveBefore[i]!.generation, `${targets[i]!.name} switched to its new generation`));
    assert.deepEqual(report.dropped.map((d) => d.name).sort(), ['rb-a', 'rb-k'], '--grace 0 drops the previous generations');
    assert.ok(report.events >= 300);
    await caughtUp();
    await verifyClean();
  });

  it('killed halfway, the next run resumes from the shadows’ checkpoints and ends identical', async () => {
    const controller = new AbortController();
    const first = await rebuildModels(targets, {
      store,
      log,
      controlSql: readSql,
      batchSize: 23,
      graceMs: 0,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.events >= 100) controller.abort();
      },
    });
    assert.equal(first.switched, false);
    const total = (await store.readAllRaw({ maxCount: 100_000 })).length;
    assert.ok(first.events < total, `interrupted after ${first.events} of ${total} events`);
    const second = await rebuildModels(targets, { store, log, controlSql: readSql, batchSize: 23, graceMs: 0 });
    assert.equal(second.switched, true);
    for (const m of second.models) {
      assert.equal(m.generation, first.models.find((x) => x.name === m.name)!.generation, `${m.name}: the same shadow is taken up`);
      assert.ok(m.resumedFrom !== undefined, `${m.name} resumed from a checkpoint`);
    }
    assert.ok(second.events < total, `the second run read ${second.events} of ${total} events: it did not start over`);
    await caughtUp();
    await verifyClean();
  });

  it('--rate: the ceiling makes the pass wait for the time its events are allowed (a counted clock, no real waiting)', async () => {
    const waits: number[] = [];
    const report = await rebuildModels(targets, {
      store,
      log,
      controlSql: readSql,
      batchSize: 50,
      graceMs: 0,
      maxEventsPerSecond: 100,
      clock: () => 0,
      sleep: async (ms) => void waits.push(ms),
    });
    assert.equal(report.switched, true);
    // With the clock standing still, each batch waits until its events are allowed: 50 events at 100/s = 500 ms.
    assert.ok(waits.length >= 2, `${waits.length} waits`);
    assert.deepEqual(waits.slice(0, 2), [500, 1000]);
  });

  it('verify lists a row altered, a row deleted and a row added by hand, with their keys', async () => {
    const [altered, deleted] = [leads[1]!, leads[2]!];
    const live = (await targets[0]!.live())!;
    const table = `rb_a_g${live.generation}`;
    await readSql.query(`UPDATE ${table} SET score = 999 WHERE lead_id = $1`, [altered]);
    await readSql.query(`DELETE FROM ${table} WHERE lead_id = $1`, [deleted]);
    const stray = uuidv7();
    await readSql.query(`INSERT INTO ${table}(lead_id, score, revision) VALUES ($1, 1, 0)`, [stray]);
    const report = await verifyModels(targets, { store, log, controlSql: readSql, batchSize: 200, settleMs: 500 });
    const rbA = report.models.find((m) => m.name === 'rb-a')!;
    assert.deepEqual(
      [...rbA.differences].map((d) => [d.kind, d.table, d.key, d.kind === 'different' ? d.columns : []]).sort(),
      [
        ['different', 'rb_a', { lead_id: altered }, ['score']],
        ['extra', 'rb_a', { lead_id: stray }, []],
        ['missing', 'rb_a', { lead_id: deleted }, []],
      ].sort(),
    );
    assert.equal(report.models.find((m) => m.name === 'rb-k')!.differences.length, 0);
    assert.match(formatVerify(report), new RegExp(`different rb_a \\{"lead_id":"${altered}"\\} columns: score`));
    assert.equal((await targets[0]!.generations()).filter((g) => g.status === 'building').length, 0, 'the temporary generation is dropped');
  });
});

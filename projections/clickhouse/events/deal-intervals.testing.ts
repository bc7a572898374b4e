import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { AnalyticsEngine } from '../../../platform/analytics/port.js';
import { hashMatcher, valueHash } from '../../../platform/pii/scanner.js';
import type { EventEnvelope } from '../../../schemas/events/registry.js';
import { pipelineByStageSql } from '../../../schemas/read-models/clickhouse/aggregates.js';
import { dealIntervalsSelect, dealIntervalsTable, dealSelectors } from '../../../schemas/read-models/clickhouse/deal-intervals.js';
import { eventsTable } from '../../../schemas/read-models/clickhouse/events.js';
import { monthsBetween, str } from '../../../schemas/read-models/clickhouse/sql.js';
import { dealStateTable, leadStateTable, recomputeDealIntervals } from '../../../schemas/read-models/clickhouse/state.js';
import { buildScenario, expectedPipeline, History, rng } from '../testing.js';
import { analyticsEventsModel } from './model.js';

/**
 * The pipeline ledger (schemas/read-models/clickhouse/deal-intervals.ts), on BOTH engines: chDB in
 * deal-intervals.unit.test.ts, the ClickHouse 18.16 server in deal-intervals.int.test.ts. The projector
 * recomputes the ledger rows of the deals each batch touched; these tests hold it to what the pipeline
 * computed from the events says, whatever the delivery (shuffled, duplicated, a crash between the events
 * INSERT and the recompute, a crash after it), in a rebuild's shadow generation, and for erasure's scan.
 * Merges are stopped on every table of a generation: the ledger must be right as a sum of unmerged rows.
 */
export function dealIntervalsSuite(label: string, open: () => Promise<AnalyticsEngine>): void {
  describe(`pipeline ledger (${label})`, () => {
    let engine: AnalyticsEngine;
    const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
    // Hostile tenant ids (a quote, a backslash, a newline, a comma: the selector's separator) and B holds a
    // deal under the SAME stream id as one of A's: the recompute must select by tenant and stream together.
    const A = `acme'\\\n,-${run}`;
    const B = `acme'\\\n,-${run}-b`;
    const h = new History();
    let events: EventEnvelope[];
    const periods = [{ from: '2023-01', to: '2025-03' }, { from: '2023-06', to: '2024-06', pipelines: ['enterprise'] }];

    const sorted = <T extends Record<string, unknown>>(rows: T[]): T[] => rows.map((r) => JSON.stringify(r)).sort().map((r) => JSON.parse(r) as T);
    const pipelineRows = (tenantId: string, f: { from: string; to: string; pipelines?: string[] }) =>
      engine.query<Record<string, unknown>>(pipelineByStageSql({ tenantId, ...f })).then(sorted);
    const expected = (tenantId: string, f: { from: string; to: string; pipelines?: string[] }) =>
      sorted(expectedPipeline(events, { tenantId, ...f, months: monthsBetween(f.from, f.to) }) as unknown as Record<string, unknown>[]);
    const assertPipelines = async (what: string) => {
      for (const t of [A, B]) for (const f of periods) assert.deepEqual(await pipelineRows(t, f), expected(t, f), `${what}: ${JSON.stringify({ t, ...f })}`);
    };
    /** A generation with its views' and the ledger's merges stopped. */
    const generation = async (model: ReturnType<typeof analyticsEventsModel>, g: number) => {
      await model.createGeneration(g);
      for (const t of [eventsTable(g), leadStateTable(g), dealStateTable(g), dealIntervalsTable(g)]) await engine.command(`SYSTEM STOP MERGES ${t}`);
    };
    /** The ledger's net rows (summed per key, zeros left out) and the intervals computed afresh from the deal state. */
    const ledgerVsState = async (g: number) => {
      const tenants = `has([${[A, B].map(str).join(', ')}], tenant_id)`;
      const ledger = await engine.query<Record<string, unknown>>(
        `SELECT tenant_id, stream_id, since, until, pipeline, stage, currency, toString(sum(deals)) AS d, toString(sum(value)) AS v, toString(sum(weighted)) AS w
         FROM ${dealIntervalsTable(g)} WHERE ${tenants}
         GROUP BY tenant_id, stream_id, since, until, pipeline, stage, currency HAVING sum(deals) != 0 OR sum(value) != 0 OR sum(weighted) != 0`,
      );
      const fresh = await engine.query<Record<string, unknown>>(
        `SELECT tenant_id, stream_id, since, until, pipeline, stage, currency, toString(d) AS d, toString(v) AS v, toString(w) AS w FROM (${dealIntervalsSelect(dealStateTable(g), tenants)})`,
      );
      return { ledger: sorted(ledger), fresh: sorted(fresh) };
    };
    const ledgerRows = async (g: number) => Number((await engine.query<{ n: string }>(`SELECT count() AS n FROM ${dealIntervalsTable(g)}`))[0]!.n);
    const shuffledTwice = (seed: number) => {
      const r = rng(seed);
      return [...events, ...events.filter(() => r() < 0.5)].sort(() => r() - 0.5);
    };
    const writeIn = async (model: ReturnType<typeof analyticsEventsModel>, g: number, list: readonly EventEnvelope[], size: number) => {
      for (let i = 0; i < list.length; i += size) await model.write(g, list.slice(i, i + size));
    };

    before(async () => {
      engine = await open();
      buildScenario(h, { tenantId: A, seed: 21, leads: 5, deals: 45, budgets: 1 });
      buildScenario(h, { tenantId: B, seed: 22, leads: 5, deals: 35, budgets: 1 });
      // B gets a deal under the stream id of one of A's open deals, with other values: the same id in another tenant.
      const twin = h.events.filter((e) => e.tenantId === A && e.type === 'DealOpened')[3]!;
      let position = 90_000_000n;
      for (const e of h.events.filter((x) => x.tenantId === A && x.streamId === twin.streamId)) {
        const d = e.data as { value?: { amountMinor: number; currency: string } };
        const data = d.value ? { ...d, value: { ...d.value, amountMinor: d.value.amountMinor + 7 } } : d;
        h.events.push({ ...e, tenantId: B, eventId: `${e.eventId}-b`, position: (position += 7n), data } as EventEnvelope);
      }
      events = h.events.filter((e) => e.streamId.startsWith('deal-'));
    });
    after(async () => {
      await engine?.close();
    });

    it('converges to the pipeline of the events whatever the delivery: shuffled, half twice, in small batches, merges stopped', async () => {
      const model = analyticsEventsModel(engine);
      await generation(model, 1);
      await model.swap(1, undefined);
      // Every batch touches some deals again; no final pass over every deal (that would hide a stale one).
      await writeIn(model, 1, shuffledTwice(5), 29);
      await assertPipelines('shuffled delivery');
      const { ledger, fresh } = await ledgerVsState(1);
      assert.ok(fresh.length > 40, 'the scenario has open intervals');
      assert.deepEqual(ledger, fresh, 'the ledger holds exactly the intervals of the deal state');
      // Late duplicates of old events, one deal at a time: nothing changes, and no row is written.
      const before = await ledgerRows(1);
      const r = rng(9);
      await writeIn(model, 1, events.filter(() => r() < 0.2), 4);
      assert.equal(await ledgerRows(1), before, 'a duplicate leaves no difference to write');
      await assertPipelines('after late duplicates');
    });

    it('the ledger query of docs/analytics.md, run as printed there, gives the open pipeline at a month\'s end', async () => {
      const doc = readFileSync(new URL('../../../docs/analytics.md', import.meta.url), 'utf8');
      const block = /The pipeline ledger, kept at apply time[\s\S]*?```sql\n([\s\S]*?)\n\s*```/.exec(doc);
      assert.ok(block, 'the guide prints the ledger query');
      const sql = block[1]!.split('\n').map((l) => l.trim()).join('\n').replace("'acme'", str(A));
      const rows = await engine.query<Record<string, unknown>>(sql);
      const want = expectedPipeline(events, { tenantId: A, months: ['2024-06'] }).map((r) => ({ pipeline: r.pipeline, stage: r.stage, currency: r.currency, deals: r.deals, value_minor: r.value_minor }));
      assert.ok(want.length > 0);
      assert.deepEqual(sorted(rows), sorted(want));
    });

    it('a recompute is idempotent: run again, over every deal and in small statements, it writes nothing', async () => {
      const before = await ledgerRows(1);
      const all = events.map((e) => ({ tenantId: e.tenantId, streamId: e.streamId }));
      const selectors = dealSelectors(all, 600);
      assert.ok(selectors.length > 5, 'split into several statements');
      for (const s of selectors) await engine.command(recomputeDealIntervals(1, s));
      assert.equal(await ledgerRows(1), before);
      await assertPipelines('after recomputing every deal again');
    });

    it('a deal whose stream id holds the selector\'s separator, a quote and a backslash is recomputed too', async () => {
      const tenant = `${A}-odd`;
      const odd = events.filter((e) => e.tenantId === A && e.streamId === events.find((x) => x.tenantId === A && x.type === 'DealOpened')!.streamId)
        .map((e) => ({ ...e, tenantId: tenant, streamId: `${e.streamId},'\\x` }) as EventEnvelope);
      await analyticsEventsModel(engine).write(1, odd);
      const f = { from: '2023-01', to: '2025-03' };
      const want = sorted(expectedPipeline(odd, { tenantId: tenant, ...f, months: monthsBetween(f.from, f.to) }) as unknown as Record<string, unknown>[]);
      assert.ok(want.length > 0, 'the deal is open for a while');
      assert.deepEqual(await pipelineRows(tenant, f), want);
    });

    it('a crash between the events INSERT and the recompute fails the batch; its retry recomputes from the current rows', async () => {
      const g = 2;
      const crashing = (when: 'before' | 'after') => {
        let armed = true;
        return {
          ...engine,
          async command(sql: string) {
            if (armed && sql.startsWith(`INSERT INTO ${dealIntervalsTable(g)}`)) {
              armed = false;
              if (when === 'after') await engine.command(sql); // the recompute lands, the process dies before the checkpoint
              throw new Error(`simulated crash ${when} the recompute`);
            }
            await engine.command(sql);
          },
        };
      };
      const model = analyticsEventsModel(engine);
      await generation(model, g);
      const list = shuffledTwice(6);
      const size = Math.ceil(list.length / 6);
      for (let i = 0, k = 0; i < list.length; i += size, k++) {
        const batch = list.slice(i, i + size);
        // Every other batch crashes once, alternately before and after its recompute; the runtime applies it again.
        if (k % 2 === 0) await assert.rejects(analyticsEventsModel(crashing(k % 4 === 0 ? 'before' : 'after')).write(g, batch), /simulated crash/);
        await model.write(g, batch);
      }
      await model.swap(g, undefined);
      await assertPipelines('after crashes and retries');
      const { ledger, fresh } = await ledgerVsState(g);
      assert.deepEqual(ledger, fresh);
    });

    it('a rebuild fills its shadow generation\'s ledger while the live one answers; the swap switches the pipeline, the drop removes the old ledger', async () => {
      const model = analyticsEventsModel(engine);
      const live = 2;
      const shadow = 3;
      await generation(model, shadow);
      // The shadow gets the history in another order while readers keep the live generation's figures.
      await writeIn(model, shadow, [...events].reverse(), 41);
      await assertPipelines('live generation during the rebuild');
      await model.swap(shadow, live);
      await assertPipelines('shadow generation after the swap');
      await model.dropGeneration(live);
      const left = await engine.query<{ n: string }>(`SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = ${str(dealIntervalsTable(live))}`);
      assert.equal(left[0]!.n, '0', 'the old generation\'s ledger is dropped with it');
    });

    it('a live generation built by version 3 (no ledger) still takes batches while its rebuild runs', async () => {
      const g = 7;
      const model = analyticsEventsModel(engine);
      await model.createGeneration(g);
      await engine.command(`DROP TABLE ${dealIntervalsTable(g)}`); // as version 3 built it
      await model.write(g, events.slice(0, 50));
      const n = await engine.query<{ n: string }>(`SELECT uniqExact(position) AS n FROM ${eventsTable(g)}`);
      assert.equal(n[0]!.n, '50');
      await model.dropGeneration(g);
    });

    it('holds no personal data: its labels are the fact table\'s, and the erasure scanner reads them (finds a planted one there)', async () => {
      // Every label and id of the ledger is one of the deal's own fact rows.
      const stray = await engine.query<Record<string, unknown>>(
        `SELECT tenant_id, stream_id, pipeline, stage, currency FROM deal_intervals
         WHERE has([${[A, B].map(str).join(', ')}], tenant_id) AND (tenant_id, stream_id, stage) NOT IN (SELECT tenant_id, stream_id, ifNull(stage, '') FROM events_all)`,
      );
      assert.deepEqual(stray, []);
      // A person's name typed in as a deal's stage IS a copy: the scanner must find it in the ledger too.
      const tenantD = `${A}-planted`;
      const opened = events.find((e) => e.tenantId === A && e.type === 'DealOpened')!;
      const planted = { ...opened, tenantId: tenantD, eventId: 'planted', data: { ...(opened.data as object), stage: 'Ada Lovelace' } } as EventEnvelope;
      const model = analyticsEventsModel(engine);
      await model.write(3, [planted]);
      const matcher = hashMatcher('k', 's', [valueHash('k', 's', 'Ada Lovelace')]);
      const clean = await model.scanner.scan({ tenantId: A, subjectIds: ['00000000-0000-7000-8000-000000000000'], matcher });
      assert.equal(clean.found, 0);
      const dirty = await model.scanner.scan({ tenantId: tenantD, subjectIds: ['00000000-0000-7000-8000-000000000000'], matcher });
      assert.deepEqual(dirty.findings.map((f) => f.location).sort(), ['deal_intervals.stage', 'events_all.stage']);
    });
  });
}

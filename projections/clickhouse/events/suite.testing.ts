import assert from 'node:assert/strict';
import { ProjectionEventError } from '../../kernel/errors.js';
import { after, before, describe, it } from 'node:test';
import type { AnalyticsEngine } from '../../../platform/analytics/port.js';
import { hashMatcher, valueHash } from '../../../platform/pii/scanner.js';
import type { EventEnvelope } from '../../../schemas/events/registry.js';
import {
  dealOutcomesSql,
  leadFunnelSql,
  pipelineByStageSql,
  spendByMonthSql,
  stageStaysSql,
} from '../../../schemas/read-models/clickhouse/aggregates.js';
import { dealIntervalsTable } from '../../../schemas/read-models/clickhouse/deal-intervals.js';
import { EVENTS_ALL_VIEW, EVENTS_VIEW, eventsTable } from '../../../schemas/read-models/clickhouse/events.js';
import { LiteralError, monthsBetween, str } from '../../../schemas/read-models/clickhouse/sql.js';
import { dealStateTable, leadStateTable } from '../../../schemas/read-models/clickhouse/state.js';
import {
  buildScenario,
  expectedFunnel,
  expectedOutcomes,
  expectedPipeline,
  expectedSpend,
  expectedStays,
  History,
  rng,
} from '../testing.js';
import { factRow } from './facts.js';
import { analyticsEventsModel } from './model.js';

/**
 * The analytics suite, run on BOTH engines: chDB in events.unit.test.ts, the ClickHouse 18.16 server in
 * events.int.test.ts. Every figure is compared with the same figure computed from the events in TypeScript
 * (testing.ts). Each run uses fresh tenants (and the server a fresh database).
 */
export function analyticsSuite(label: string, open: () => Promise<AnalyticsEngine>): void {
  describe(`analytics fact table and aggregates (${label})`, () => {
    let engine: AnalyticsEngine;
    const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
    // Hostile tenant ids: a quote, a backslash, a newline; another that is a prefix of the first.
    const A = `acme'\\\n-${run}`;
    const B = `acme'\\\n-${run}-b`;
    const C = `acme-${run}-c`;
    const h = new History();
    let inOrder: EventEnvelope[];

    const sortedRows = async <T extends Record<string, unknown>>(sql: string, keys: string[]): Promise<T[]> => {
      const rows = await engine.query<T>(sql);
      return rows.sort((a, b) => {
        for (const k of keys) {
          const x = String(a[k]);
          const y = String(b[k]);
          if (x !== y) return x < y ? -1 : 1;
        }
        return 0;
      });
    };
    const near = (actual: Record<string, unknown>[], expected: Record<string, unknown>[]) => {
      // avg_ms is a float: equal within a microsecond of a millisecond; everything else exactly.
      assert.deepEqual(actual.map((r) => ({ ...r, avg_ms: r.avg_ms === undefined ? undefined : Math.round(Number(r.avg_ms) * 1000) })),
        expected.map((r) => ({ ...r, avg_ms: r.avg_ms === undefined ? undefined : Math.round(Number(r.avg_ms) * 1000) })));
    };

    before(async () => {
      engine = await open();
      buildScenario(h, { tenantId: A, seed: 11, leads: 60, deals: 40, budgets: 6, hostileLabels: true });
      // B holds more and better-matching data under a tenant id A is a prefix of: must never show in A's figures.
      buildScenario(h, { tenantId: B, seed: 12, leads: 80, deals: 50, budgets: 8, hostileLabels: true });
      buildScenario(h, { tenantId: C, seed: 13, leads: 30, deals: 20, budgets: 4 });
      inOrder = [...h.events];
      const model = analyticsEventsModel(engine, { maxRowsPerInsert: 97 });
      await model.createGeneration(1);
      await model.swap(1, undefined);
      // No merge may hide a duplicate: every query below must be right on unmerged parts.
      await engine.command(`SYSTEM STOP MERGES ${eventsTable(1)}`);
      // Nor may a merge of the per-entity state tables (state.ts) fold away a duplicate's partial state.
      // Nor a merge of the pipeline ledger (deal-intervals.ts) add a cancelled interval's +1 and −1 away.
      for (const t of [leadStateTable(1), dealStateTable(1), dealIntervalsTable(1)]) await engine.command(`SYSTEM STOP MERGES ${t}`);
      // Delivered out of order and twice, in uneven batches: the figures must not notice.
      const r = rng(7);
      const shuffled = [...inOrder, ...inOrder.slice(0, Math.floor(inOrder.length / 2))].sort(() => r() - 0.5);
      for (let i = 0; i < shuffled.length; i += 113) await model.write(1, shuffled.slice(i, i + 113));
      await model.write(1, inOrder); // and the whole history once more
    });
    after(async () => {
      await engine?.close();
    });

    it('holds one row per event, whatever the duplicates (FINAL before any merge)', async () => {
      const parts = await engine.query<{ n: string }>(`SELECT count() AS n FROM system.parts WHERE database = currentDatabase() AND table = ${str(eventsTable(1))} AND active`);
      assert.ok(Number(parts[0]!.n) > 1, 'the duplicates sit in unmerged parts');
      const rows = await engine.query<{ n: string; p: string }>(`SELECT count() AS n, uniqExact(position) AS p FROM ${EVENTS_VIEW} WHERE has([${[A, B, C].map(str).join(', ')}], tenant_id)`);
      const expected = inOrder.filter((e) => !e.type.startsWith('Idempotency')).length;
      assert.equal(Number(rows[0]!.n), expected);
      assert.equal(Number(rows[0]!.p), expected);
    });

    it('every row reads back equal to its event\'s fact row, column by column (the NULLs the projector leaves out of its JSON read back as NULL)', async () => {
      // Every copy, duplicates included (events_all: no FINAL, which on 18.16 buffers every column of every
      // unmerged part at once and outgrows the server's per-query memory limit here).
      const rows = await engine.query<Record<string, unknown>>(`SELECT * FROM ${EVENTS_ALL_VIEW} WHERE has([${[A, B, C].map(str).join(', ')}], tenant_id)`);
      const expected = new Map(inOrder.flatMap((e) => {
        const row = factRow(e);
        return row === undefined ? [] : [[row.position, row] as const];
      }));
      assert.equal(new Set(rows.map((r) => r.position)).size, expected.size);
      for (const row of rows) assert.deepEqual(row, { ...expected.get(String(row.position)) }, `row at position ${String(row.position)}`);
    });

    it('lead funnel = the funnel computed from the events (month, quarter, year; source filter; period bounds)', async () => {
      for (const f of [
        { tenantId: A },
        { tenantId: A, granularity: 'quarter' as const },
        { tenantId: A, granularity: 'year' as const, sources: ['web', 'email'] },
        { tenantId: B, from: '2023-06', to: '2024-03' },
        { tenantId: A, granularity: 'all' as const, from: '0001-01', to: '9999-12' },
      ]) {
        assert.deepEqual(await sortedRows(leadFunnelSql(f), ['period', 'source']), expectedFunnel(inOrder, f), JSON.stringify(f));
      }
    });

    it('pipeline by stage at each month end = the pipeline computed from the events', async () => {
      for (const f of [{ tenantId: A, from: '2023-01', to: '2025-03' }, { tenantId: B, from: '2023-06', to: '2024-06', pipelines: ['enterprise'] }]) {
        const expected = expectedPipeline(inOrder, { ...f, months: monthsBetween(f.from, f.to) });
        assert.ok(expected.length > 10, 'the scenario has an open pipeline');
        assert.deepEqual(await sortedRows(pipelineByStageSql(f), ['period', 'pipeline', 'stage', 'currency']), expected, JSON.stringify(f));
      }
    });

    it('deal velocity (days per stage, win rate) = computed from the events', async () => {
      for (const f of [{ tenantId: A }, { tenantId: B, from: '2023-09', to: '2024-06' }]) {
        const stays = await sortedRows<Record<string, unknown>>(stageStaysSql(f), ['pipeline', 'stage']);
        near(stays.map((s) => ({ ...s, avg_ms: Number(s.avg_ms) })), expectedStays(inOrder, f) as unknown as Record<string, unknown>[]);
        assert.deepEqual(await sortedRows(dealOutcomesSql(f), ['pipeline']), expectedOutcomes(inOrder, f));
      }
    });

    it('budget spend by month and category against allocation = computed from the events', async () => {
      for (const f of [{ tenantId: A }, { tenantId: A, granularity: 'quarter' as const }, { tenantId: B, from: '2023-04', to: '2024-02' }, { tenantId: C, categories: ['ads'] }]) {
        const expected = expectedSpend(inOrder, f);
        assert.ok(expected.length > 0);
        assert.deepEqual(await sortedRows(spendByMonthSql(f), ['period', 'category', 'currency']), expected, JSON.stringify(f));
      }
    });

    it('string literals round-trip exactly through the engine (quotes, backslashes, control characters, NUL, astral, RTL)', async () => {
      const hostile = ["'", "\\'", '\\', "a'b\\'c", '\u0000', 'x\u0000y', '\n\r\t\b\f\u0007\u001b\u007f', '🚀👩‍👩‍👧', '\u202eRTL', "'; DROP TABLE events; --", '\\x00', '{x:String}', '?', '$1', '\ufffe\uffff'];
      const rows = await engine.query<{ i: string; v: string }>(hostile.map((h, i) => `SELECT ${i} AS i, ${str(h)} AS v`).join(' UNION ALL '));
      assert.deepEqual(rows.sort((a, b) => Number(a.i) - Number(b.i)).map((r) => r.v), hostile);
    });

    it('tenant isolation: an unknown tenant and a tenant-id prefix see nothing', async () => {
      for (const t of [`acme'\\\n`, `${A}%`, `${A}' OR 1 = 1 OR tenant_id = '`, '']) {
        assert.deepEqual(await engine.query(leadFunnelSql({ tenantId: t })), []);
        assert.deepEqual(await engine.query(spendByMonthSql({ tenantId: t })), []);
      }
    });

    it('hostile values: labels with quotes, backslashes, control characters and emoji round-trip; bad arguments are refused before SQL', async () => {
      const labels = await engine.query<{ c: string }>(`SELECT DISTINCT campaign AS c FROM ${EVENTS_VIEW} WHERE tenant_id = ${str(A)} AND isNotNull(campaign) ORDER BY c`);
      assert.ok(labels.some((l) => l.c === "'); DROP TABLE events; --"));
      assert.ok(labels.some((l) => l.c === 'rocket 🚀 launch'));
      assert.ok(labels.some((l) => l.c === 'tab\there'));
      const cats = expectedSpend(inOrder, { tenantId: A }).map((r) => r.category);
      assert.ok(cats.includes('new\nline') || cats.includes('ads\\online'));
      assert.throws(() => leadFunnelSql({ tenantId: 'x\ud800' }), LiteralError);
      assert.throws(() => leadFunnelSql({ tenantId: A, from: '0000-01' }), LiteralError);
      assert.throws(() => leadFunnelSql({ tenantId: A, from: "2024-01' OR '1" }), LiteralError);
      assert.throws(() => pipelineByStageSql({ tenantId: A, from: '2024-05', to: '2024-01' }), LiteralError);
      assert.throws(() => pipelineByStageSql({ tenantId: A, from: '0001-01', to: '9999-12' }), LiteralError);
      // A tenant id holding NUL is written as an escape, so it matches nothing and breaks nothing.
      assert.deepEqual(await engine.query(leadFunnelSql({ tenantId: `${A}\u0000` })), []);
      // The first and last instants the gate accepts are held exactly.
      const ends = await engine.query<{ a: string; z: string }>(`SELECT min(effective_at) AS a, max(effective_at) AS z FROM ${EVENTS_VIEW} WHERE tenant_id = ${str(A)}`);
      assert.deepEqual(ends[0], { a: '0001-01-01T00:00:00.000Z', z: '9999-12-31T00:00:00.000Z' });
      const big = await engine.query<{ v: string }>(`SELECT max(amount_minor) AS v FROM ${EVENTS_VIEW} WHERE tenant_id = ${str(A)}`);
      assert.equal(big[0]!.v, '999999999999999');
    });

    it('no personal value of any event is in the table, and the scanner proves it (and finds a planted one)', async () => {
      const personal = ['Person 3', 'p3@example.com', 'web form of Ada Lovelace', 'needs a CRM', 'went quiet'];
      const key = 'k';
      const salt = 's';
      const matcher = hashMatcher(key, salt, personal.map((v) => valueHash(key, salt, v)));
      const lead = inOrder.find((e) => e.tenantId === A && e.type === 'LeadCaptured' && (e.data as { name: string }).name === 'Person 3')!;
      const scanner = analyticsEventsModel(engine).scanner;
      const clean = await scanner.scan({ tenantId: A, subjectIds: [lead.streamId.slice(5)], matcher });
      assert.equal(clean.found, 0);
      assert.ok(clean.examined > 0);
      // Every string of the whole table, not only the subject's rows: none is personal.
      const all = await engine.query<Record<string, unknown>>(`SELECT * FROM ${EVENTS_ALL_VIEW} WHERE has([${[A, B, C].map(str).join(', ')}], tenant_id)`);
      const leaked = all.flatMap((row) => Object.values(row).flat()).filter((v) => typeof v === 'string' && matcher.match(v) !== undefined);
      assert.deepEqual(leaked, []);
      // A person's name typed in as a campaign label IS a copy: the scanner must find it.
      const planted = { ...lead, eventId: 'planted', position: 999_999_999n, streamRevision: 99n, data: { ...(lead.data as object), campaign: 'Person 3' } } as EventEnvelope;
      const tenantD = `${C}-planted`;
      await analyticsEventsModel(engine).write(1, [{ ...planted, tenantId: tenantD } as EventEnvelope]);
      const dirty = await scanner.scan({ tenantId: tenantD, subjectIds: ['00000000-0000-7000-8000-000000000000'], matcher });
      assert.equal(dirty.found, 1);
      assert.equal(dirty.findings[0]!.location, `${EVENTS_ALL_VIEW}.campaign`);
    });
    it('an event the fact table cannot take fails the write naming it, even in the middle of a streamed INSERT; the batch without it then writes', async () => {
      const model = analyticsEventsModel(engine, { maxRowsPerInsert: 97 });
      const batch = inOrder.slice(0, 200);
      const bad = { ...batch[150]!, occurredAt: 'not an instant \u0000' };
      const broken = [...batch.slice(0, 150), bad, ...batch.slice(151)];
      await assert.rejects(model.write(1, broken), (e: unknown) => {
        assert.ok(e instanceof ProjectionEventError, `${String(e)}`);
        assert.equal(e.index, 150);
        assert.equal(e.event.eventId, bad.eventId);
        assert.match(e.message, /not an instant/);
        return true;
      });
      await model.write(1, batch);
      const rows = await engine.query<{ n: string }>(`SELECT count() AS n FROM ${EVENTS_VIEW} WHERE position = ${bad.position.toString()}`);
      assert.equal(Number(rows[0]!.n), 1, 'the event, written right, reads back once');
    });
  });
}

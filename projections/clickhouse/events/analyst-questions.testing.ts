import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { AnalyticsEngine } from '../../../platform/analytics/port.js';
import type { EventEnvelope } from '../../../schemas/events/registry.js';
import { str } from '../../../schemas/read-models/clickhouse/sql.js';
import { buildScenario, History } from '../testing.js';
import { analyticsEventsModel } from './model.js';

/**
 * The ten analyst questions of docs/analytics.md, executed EXACTLY as the guide prints them (read from the
 * file; only the tenant literal 'acme' is replaced), on chDB (unit) and on the ClickHouse 18.16 server
 * (int). Each answer is compared with the same figure computed from the events here.
 */
export interface Question {
  readonly n: number;
  readonly title: string;
  readonly sql: string;
}

export function readQuestions(path = new URL('../../../docs/analytics.md', import.meta.url)): Question[] {
  const text = readFileSync(path, 'utf8');
  const out: Question[] = [];
  const re = /^### Q(\d+)\. (.+)\n\n```sql\n([\s\S]*?)\n```/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push({ n: Number(m[1]), title: m[2]!, sql: m[3]! });
  return out;
}

type Row = Record<string, unknown>;
const d = (e: EventEnvelope) => e.data as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const month = (iso: string) => new Date(Date.parse(iso)).toISOString().slice(0, 7);
const streams = (events: readonly EventEnvelope[], prefix: string) => {
  const m = new Map<string, EventEnvelope[]>();
  for (const e of events) if (e.streamId.startsWith(prefix)) m.set(e.streamId, [...(m.get(e.streamId) ?? []), e]);
  for (const l of m.values()) l.sort((a, b) => Number(a.streamRevision - b.streamRevision));
  return [...m.values()];
};
const count = <K extends string>(rows: Map<K, Row>, key: K, init: () => Row, f: (r: Row) => void) => {
  const r = rows.get(key) ?? init();
  f(r);
  rows.set(key, r);
};
const inc = (r: Row, k: string, by = 1) => (r[k] = Number(r[k] ?? 0) + by);
const byKeys = (keys: string[]) => (a: Row, b: Row) => {
  for (const k of keys) {
    const x = a[k] as string | number;
    const y = b[k] as string | number;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
};
const capturedAt = (list: EventEnvelope[]) => list.find((e) => e.type === 'LeadCaptured');
const outcomeOf = (list: EventEnvelope[]) => [...list].reverse().find((e) => ['DealWon', 'DealLost', 'DealReopened'].includes(e.type));

/** The expected answer of each question, from the events of one tenant. */
export const expected: Record<number, (events: readonly EventEnvelope[]) => Row[]> = {
  1: (events) => {
    const m = new Map<string, Row>();
    for (const e of events) {
      const month_ = month(e.occurredAt);
      const aggregate = e.streamId.slice(0, e.streamId.indexOf('-'));
      count(m, `${month_}|${aggregate}`, () => ({ month: month_, aggregate, events: 0 }), (r) => inc(r, 'events'));
    }
    return [...m.values()].sort(byKeys(['month', 'aggregate']));
  },
  2: (events) => {
    const m = new Map<string, Row>();
    for (const list of streams(events, 'lead-')) {
      const cap = capturedAt(list);
      if (!cap) continue;
      const converted = list.some((e) => e.type === 'LeadConverted') ? 1 : 0;
      count(m, d(cap).source, () => ({ source: d(cap).source, leads: 0, converted_leads: 0 }), (r) => {
        inc(r, 'leads');
        inc(r, 'converted_leads', converted);
      });
    }
    return [...m.values()]
      .map((r) => ({ ...r, conversion_rate: Number(r.converted_leads) / Number(r.leads) }))
      .sort((a, b) => (b.conversion_rate - a.conversion_rate) || (String((a as Row).source) < String((b as Row).source) ? -1 : 1));
  },
  3: (events) => {
    const m = new Map<string, { source: string; days: number[] }>();
    for (const list of streams(events, 'lead-')) {
      const cap = capturedAt(list);
      const conv = list.find((e) => e.type === 'LeadConverted');
      if (!cap || !conv) continue;
      const days = (Date.parse(conv.occurredAt) - Date.parse(d(cap).capturedAt)) / 86_400_000;
      const r = m.get(d(cap).source) ?? { source: d(cap).source as string, days: [] as number[] };
      r.days.push(days);
      m.set(r.source, r);
    }
    return [...m.values()]
      .map((r) => ({ source: r.source, converted: r.days.length, avg_days: r.days.reduce((a, b) => a + b, 0) / r.days.length, max_days: Math.max(...r.days) }))
      .sort(byKeys(['source']));
  },
  4: (events) => {
    const m = new Map<string, Row>();
    for (const e of events.filter((x) => x.type === 'DealOpened')) {
      const k = `${month(e.occurredAt)}|${d(e).value.currency}`;
      count(m, k, () => ({ month: month(e.occurredAt), currency: d(e).value.currency, deals_opened: 0, value_minor: 0 }), (r) => {
        inc(r, 'deals_opened');
        inc(r, 'value_minor', d(e).value.amountMinor);
      });
    }
    return [...m.values()].sort(byKeys(['month', 'currency']));
  },
  5: (events) => {
    const m = new Map<string, Row>();
    for (const list of streams(events, 'deal-')) {
      const last = outcomeOf(list);
      if (!last || last.type === 'DealReopened') continue;
      const owner = d(list.find((e) => e.type === 'DealOpened')!).ownerId as string;
      count(m, owner, () => ({ owner, won: 0, lost: 0 }), (r) => inc(r, last.type === 'DealWon' ? 'won' : 'lost'));
    }
    return [...m.values()].map((r) => ({ ...r, win_rate: Number(r.won) / (Number(r.won) + Number(r.lost)) })).sort(byKeys(['owner']));
  },
  6: (events) => {
    const m = new Map<string, Row>();
    for (const e of events.filter((x) => x.type === 'DealLost')) {
      count(m, `${d(e).stage}|${d(e).value.currency}`, () => ({ stage: d(e).stage, currency: d(e).value.currency, lost_deals: 0, lost_value_minor: 0 }), (r) => {
        inc(r, 'lost_deals');
        inc(r, 'lost_value_minor', d(e).value.amountMinor);
      });
    }
    return [...m.values()].sort((a, b) => Number(b.lost_deals) - Number(a.lost_deals) || byKeys(['stage', 'currency'])(a, b));
  },
  7: (events) => {
    const m = new Map<number, { converted: number; scores: number[] }>();
    for (const list of streams(events, 'lead-')) {
      const scored = list.filter((e) => e.type === 'LeadScored');
      if (scored.length === 0) continue;
      const converted = list.some((e) => e.type === 'LeadConverted') ? 1 : 0;
      const r = m.get(converted) ?? { converted, scores: [] };
      r.scores.push(d(scored[scored.length - 1]!).score);
      m.set(converted, r);
    }
    return [...m.values()].map((r) => ({ converted: r.converted, leads: r.scores.length, avg_latest_score: r.scores.reduce((a, b) => a + b, 0) / r.scores.length })).sort(byKeys(['converted']));
  },
  8: (events) => {
    const m = new Map<string, Row>();
    for (const list of streams(events, 'budget-')) {
      const c = d(list.find((e) => e.type === 'BudgetCreated')!);
      const spent = list.filter((e) => e.type === 'BudgetSpendRecorded').reduce((s, e) => s + d(e).amount.amountMinor, 0);
      count(m, `${c.category}|${c.amount.currency}`, () => ({ category: c.category, currency: c.amount.currency, budgets: 0, amount_minor: 0, spent_minor: 0 }), (r) => {
        inc(r, 'budgets');
        inc(r, 'amount_minor', c.amount.amountMinor);
        inc(r, 'spent_minor', spent);
      });
    }
    return [...m.values()].map((r) => ({ ...r, utilisation: Number(r.spent_minor) / Number(r.amount_minor) })).sort(byKeys(['category', 'currency']));
  },
  9: (events) => {
    const m = new Map<string, Row>();
    for (const e of events.filter((x) => x.type === 'ConsentGranted' || x.type === 'ConsentWithdrawn')) {
      const at = e.type === 'ConsentGranted' ? d(e).grantedAt : d(e).withdrawnAt;
      count(m, `${month(at)}|${d(e).purpose}`, () => ({ month: month(at), purpose: d(e).purpose, granted: 0, withdrawn: 0 }), (r) => inc(r, e.type === 'ConsentGranted' ? 'granted' : 'withdrawn'));
    }
    return [...m.values()].sort(byKeys(['month', 'purpose']));
  },
  10: (events) => {
    const m = new Map<string, Row>();
    for (const e of events) {
      if (e.type === 'LeadCaptured' && d(e).campaign !== undefined) count(m, d(e).campaign, () => ({ campaign: d(e).campaign, spent_minor: 0, leads: 0 }), (r) => inc(r, 'leads'));
      if (e.type === 'BudgetSpendRecorded') count(m, d(e).campaign, () => ({ campaign: d(e).campaign, spent_minor: 0, leads: 0 }), (r) => inc(r, 'spent_minor', d(e).amount.amountMinor));
    }
    return [...m.values()].filter((r) => Number(r.leads) > 0).map((r) => ({ ...r, cost_per_lead_minor: Number(r.spent_minor) / Number(r.leads) })).sort(byKeys(['campaign']));
  },
};

/** Numbers compared to 9 significant digits (floats from two engines and JS); 64-bit integers arrive as strings. */
const norm = (rows: readonly Row[]) =>
  rows.map((r) =>
    Object.fromEntries(
      Object.entries(r).map(([k, v]) => {
        const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/.test(v) ? Number(v) : undefined;
        return [k, n === undefined ? v : Number(n.toPrecision(9))];
      }),
    ),
  );

export function analystQuestionsSuite(label: string, open: () => Promise<AnalyticsEngine>): void {
  describe(`docs/analytics.md: the ten analyst questions (${label})`, () => {
    let engine: AnalyticsEngine;
    const tenant = `analyst-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6)}`;
    const other = `${tenant}-other`;
    const h = new History();
    const questions = readQuestions();

    before(async () => {
      engine = await open();
      buildScenario(h, { tenantId: tenant, seed: 31, leads: 80, deals: 50, budgets: 8, consents: 25 });
      buildScenario(h, { tenantId: other, seed: 32, leads: 40, deals: 20, budgets: 4 });
      const model = analyticsEventsModel(engine);
      await model.createGeneration(1);
      await model.swap(1, undefined);
      await model.write(1, h.events);
      await model.write(1, h.events.slice(0, 100)); // a redelivery changes no answer
    });
    after(async () => {
      await engine?.close();
    });

    it('the guide has exactly ten questions, Q1 to Q10, each naming the tenant', () => {
      assert.deepEqual(questions.map((q) => q.n), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      for (const q of questions) assert.match(q.sql, /tenant_id = 'acme'/, `Q${q.n}`);
    });

    for (let n = 1; n <= 10; n++) {
      it(`Q${n} answers with the figures computed from the events`, async () => {
        const q = questions.find((x) => x.n === n)!;
        const mine = h.events.filter((e) => e.tenantId === tenant);
        const want = expected[n]!(mine);
        assert.ok(want.length > 0, `Q${n}: the scenario gives it something to answer`);
        const got = await engine.query(q.sql.replaceAll(`'acme'`, str(tenant)));
        assert.deepEqual(norm(got), norm(want), `Q${n}. ${q.title}`);
      });
    }
  });
}

import { clickhouseServerEngine } from '../../platform/analytics/server.js';
import { requireEnv } from '../../platform/testing/require-env.js';
import { EventMetadata } from '../../schemas/events/envelope.js';
import { validateNewEvent, type EventEnvelope } from '../../schemas/events/registry.js';
import { bucketOfMonth, type Granularity } from '../../schemas/read-models/clickhouse/sql.js';
import type {
  DealOutcomeRow,
  LeadFunnelRow,
  PipelineByStageRow,
  SpendByMonthRow,
  StageStayRow,
} from '../../schemas/read-models/clickhouse/aggregates.js';

/**
 * Test helpers of the analytics read model: a deterministic CRM history (leads through the funnel, deals
 * across stages with wins, losses and reopens, budgets with allocations and spend, consents) built from
 * REAL events (each payload validated by its schema), and the figures every aggregate must show,
 * computed here in plain TypeScript from those events: an independent second implementation.
 */

/** mulberry32: a small seeded PRNG, so every run builds the same history. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (r: () => number, n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
/** A UUIDv7-shaped id from the PRNG (valid RFC 4122 variant). */
export const uuidFrom = (r: () => number): string => `${hex(r, 8)}-${hex(r, 4)}-7${hex(r, 3)}-${'89ab'[Math.floor(r() * 4)]}${hex(r, 3)}-${hex(r, 12)}`;

export class History {
  readonly events: EventEnvelope[] = [];
  private readonly revisions = new Map<string, bigint>();
  constructor(private position = 1000n) {}

  /** Appends one event (validated by its schema) to `streamId` of `tenantId` at instant `at`. */
  add(tenantId: string, streamId: string, type: string, data: unknown, at: string, actor = 'user-1', subjectId?: string): EventEnvelope {
    const v = validateNewEvent({ type, data });
    // The envelope is checked too (instants within 0001–9999), so the history is one the store would accept.
    EventMetadata.parse({ tenantId, actor: { userId: actor, roles: ['sales'] }, correlationId: 'c', causationId: 'c', occurredAt: at });
    const revision = this.revisions.get(streamId) ?? 0n;
    this.revisions.set(streamId, revision + 1n);
    this.position += 7n;
    const event = {
      eventId: `evt-${this.position}`,
      type: v.type,
      schemaVersion: v.schemaVersion,
      streamId,
      streamRevision: revision,
      position: this.position,
      occurredAt: at,
      tenantId,
      actor: { userId: actor, roles: ['sales'] },
      correlationId: `corr-${streamId}`,
      causationId: `cause-${this.position}`,
      subjectId,
      data: v.data,
    } as unknown as EventEnvelope;
    this.events.push(event);
    return event;
  }
}

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();
export const STAGES = [
  ['prospecting', 10],
  ['qualification', 20],
  ['proposal', 50],
  ['negotiation', 75],
] as const;

export interface ScenarioOptions {
  readonly tenantId: string;
  readonly seed: number;
  readonly leads?: number;
  readonly deals?: number;
  readonly budgets?: number;
  readonly consents?: number;
  /** Labels with quotes, backslashes, control characters, emoji (hostile but storable). */
  readonly hostileLabels?: boolean;
}

const SOURCES = ['web', 'email', 'phone', 'event', 'referral', 'social', 'other'] as const;

/** A tenant's history, appended to `h`. Times fall in 2023–2024, plus the first and last instants the gate accepts. */
export function buildScenario(h: History, o: ScenarioOptions): void {
  const r = rng(o.seed);
  const t0 = Date.parse('2023-01-01T00:00:00.000Z');
  const span = 700 * DAY;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const campaigns = o.hostileLabels ? ["spring'24", 'back\\slash', 'tab\there', 'rocket 🚀 launch', "'); DROP TABLE events; --"] : ['spring', 'summer', 'autumn'];
  const categories = o.hostileLabels ? ["events 'live'", 'ads\\online', 'naïve café', 'new\nline'] : ['events', 'ads', 'content'];
  const T = o.tenantId;

  for (let i = 0; i < (o.leads ?? 40); i++) {
    const id = uuidFrom(r);
    const stream = `lead-${id}`;
    // Two leads at the very ends of the accepted range (year 0001 and 9999).
    let t = i === 0 ? Date.parse('0001-01-01T00:00:00.000Z') : i === 1 ? Date.parse('9999-12-31T00:00:00.000Z') : t0 + Math.floor(r() * span);
    const source = pick(SOURCES);
    h.add(T, stream, 'LeadCaptured', { leadId: id, name: `Person ${i}`, email: `p${i}@example.com`, source, campaign: pick(campaigns), capturedAt: iso(t) }, iso(t), 'user-1', id);
    if (i === 1) continue; // nothing can follow the last day of year 9999 by much
    if (r() < 0.3) {
      t += Math.floor(r() * 5 * DAY);
      h.add(T, stream, 'LeadScored', { leadId: id, score: Math.floor(r() * 101), factors: [] }, iso(t));
    }
    const roll = r();
    if (roll < 0.55) {
      t += Math.floor(r() * 20 * DAY) + 1;
      h.add(T, stream, 'LeadQualified', { leadId: id, budget: { amountMinor: Math.floor(r() * 1e7), currency: 'EUR' }, authority: 'decision-maker', need: 'needs a CRM', timeline: 'within-3-months' }, iso(t));
      const next = r();
      if (next < 0.5) {
        t += Math.floor(r() * 30 * DAY) + 1;
        h.add(T, stream, 'LeadConverted', { leadId: id, contactId: uuidFrom(r) }, iso(t));
      } else if (next < 0.75) {
        t += DAY;
        h.add(T, stream, 'LeadStatusChanged', { leadId: id, from: 'Qualified', to: 'Lost', reason: 'went quiet' }, iso(t));
      }
    } else if (roll < 0.65) {
      // Converted without a recorded qualification: counts as qualified in the (monotone) funnel.
      t += DAY;
      h.add(T, stream, 'LeadConverted', { leadId: id, contactId: uuidFrom(r) }, iso(t));
    } else if (roll < 0.75) {
      t += DAY;
      h.add(T, stream, 'LeadStatusChanged', { leadId: id, from: 'New', to: 'Nurturing' }, iso(t));
      t += DAY;
      h.add(T, stream, 'LeadStatusChanged', { leadId: id, from: 'Nurturing', to: 'Qualified' }, iso(t));
    }
  }

  for (let i = 0; i < (o.deals ?? 30); i++) {
    const id = uuidFrom(r);
    const stream = `deal-${id}`;
    let t = t0 + Math.floor(r() * span);
    const pipeline = r() < 0.7 ? 'default' : 'enterprise';
    const currency = r() < 0.8 ? 'EUR' : 'USD';
    // One deal at the largest amount the gate accepts: sums stay exact.
    let value = i === 0 ? 999_999_999_999_999 : Math.floor(r() * 5e6) + 100;
    h.add(T, stream, 'DealOpened', { dealId: id, name: `Deal ${i}`, contactId: uuidFrom(r), value: { amountMinor: value, currency }, pipeline, stage: 'prospecting', probability: 10, expectedCloseDate: '2025-01-01', ownerId: pick(['owner-a', 'owner-b']) }, iso(t));
    let k = 0;
    const target = Math.floor(r() * 4);
    while (k < target) {
      t += Math.floor(r() * 40 * DAY) + 1;
      h.add(T, stream, 'DealStageMoved', { from: STAGES[k]![0], to: STAGES[k + 1]![0], probability: STAGES[k + 1]![1] }, iso(t));
      k++;
      if (r() < 0.25) {
        t += Math.floor(r() * 3 * DAY) + 1;
        const to = Math.min(value + Math.floor(r() * 10_000), 999_999_999_999_999);
        h.add(T, stream, 'DealValueChanged', { from: { amountMinor: value, currency }, to: { amountMinor: to, currency } }, iso(t));
        value = to;
      }
    }
    const end = r();
    if (end < 0.35) {
      t += Math.floor(r() * 20 * DAY) + 1;
      h.add(T, stream, 'DealWon', { stage: STAGES[k]![0], value: { amountMinor: value, currency }, probability: 100 }, iso(t));
      if (r() < 0.2) {
        t += DAY;
        h.add(T, stream, 'DealReopened', { stage: STAGES[k]![0], probability: STAGES[k]![1] }, iso(t));
        t += Math.floor(r() * 20 * DAY) + 1;
        h.add(T, stream, 'DealLost', { stage: STAGES[k]![0], value: { amountMinor: value, currency }, probability: 0, reason: 'price', competitor: 'Other Inc' }, iso(t));
      }
    } else if (end < 0.6) {
      t += Math.floor(r() * 20 * DAY) + 1;
      h.add(T, stream, 'DealLost', { stage: STAGES[k]![0], value: { amountMinor: value, currency }, probability: 0, reason: 'price' }, iso(t));
    }
  }

  for (let i = 0; i < (o.budgets ?? 6); i++) {
    const id = uuidFrom(r);
    const stream = `budget-${id}`;
    let t = t0 + Math.floor(r() * span);
    const category = pick(categories);
    const amount = Math.floor(r() * 1e7) + 1e6;
    h.add(T, stream, 'BudgetCreated', { budgetId: id, name: `Budget ${i}`, category, period: { start: '2023-01-01', end: '2024-12-31' }, amount: { amountMinor: amount, currency: 'EUR' }, ownerId: 'owner-a' }, iso(t));
    const used = new Set<string>();
    for (let a = 0; a < 3; a++) {
      const c = pick(campaigns);
      used.add(c);
      t += DAY;
      // Re-allocating a campaign replaces its allocation (each allocation a different amount, so the latest is
      // told from the others); the sum stays within the amount.
      h.add(T, stream, 'BudgetAllocated', { campaign: c, amount: { amountMinor: Math.floor(amount / (4 + a)), currency: 'EUR' } }, iso(t));
    }
    for (let s = 0; s < 5; s++) {
      t += Math.floor(r() * 30 * DAY) + 1;
      // Recorded a few days after it was spent: spend reports group by spentAt, not by the envelope time.
      const spentAt = iso(t - 3 * DAY);
      h.add(T, stream, 'BudgetSpendRecorded', { spendId: uuidFrom(r), vendor: 'Vendor AG', campaign: pick([...used]), amount: { amountMinor: Math.floor(r() * amount / 10), currency: 'EUR' }, spentAt, externalReference: `inv-${i}-${s}`, overridden: false }, iso(t));
    }
  }
  // Consents (subject = a lead of the tenant): the fact table keeps purpose and basis, never the source text.
  const subject = uuidFrom(r);
  h.add(T, `consent-${subject}`, 'ConsentGranted', { subjectId: subject, subjectType: 'lead', purpose: 'marketing_email', lawfulBasis: 'consent', source: 'web form of Ada Lovelace', noticeVersion: 'v1', grantedAt: iso(t0) }, iso(t0), 'user-1', subject);
  const purposes = ['marketing_email', 'sms', 'phone', 'profiling'] as const;
  for (let i = 0; i < (o.consents ?? 12); i++) {
    const s = uuidFrom(r);
    let t = t0 + Math.floor(r() * span);
    const purpose = pick(purposes);
    h.add(T, `consent-${s}`, 'ConsentGranted', { subjectId: s, subjectType: 'contact', purpose, lawfulBasis: 'consent', source: `form ${i}`, noticeVersion: 'v2', grantedAt: iso(t) }, iso(t), 'user-1', s);
    if (r() < 0.4) {
      t += Math.floor(r() * 60 * DAY) + 1;
      h.add(T, `consent-${s}`, 'ConsentWithdrawn', { subjectId: s, purpose, source: `email reply ${i}`, withdrawnAt: iso(t) }, iso(t), 'user-1', s);
    }
  }
}

// ── expected figures, computed from the events ─────────────────────────────────────────────────────
const month = (isoAt: string) => new Date(Date.parse(isoAt)).toISOString().slice(0, 7);
const byStream = (events: readonly EventEnvelope[], tenantId: string, prefix: string) => {
  const m = new Map<string, EventEnvelope[]>();
  for (const e of events) if (e.tenantId === tenantId && e.streamId.startsWith(prefix)) m.set(e.streamId, [...(m.get(e.streamId) ?? []), e]);
  for (const list of m.values()) list.sort((a, b) => Number(a.streamRevision - b.streamRevision));
  return m;
};
const inRange = (m: string, from?: string, to?: string) => (from === undefined || m >= from) && (to === undefined || m <= to);
const data = (e: EventEnvelope) => e.data as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const sortRows = <T extends object>(rows: T[], keys: (keyof T)[]) =>
  rows.sort((a, b) => {
    for (const k of keys) {
      const x = String(a[k]);
      const y = String(b[k]);
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  });

export function expectedFunnel(events: readonly EventEnvelope[], f: { tenantId: string; from?: string; to?: string; granularity?: Granularity; sources?: string[] }): LeadFunnelRow[] {
  const acc = new Map<string, LeadFunnelRow>();
  for (const list of byStream(events, f.tenantId, 'lead-').values()) {
    const cap = list.find((e) => e.type === 'LeadCaptured');
    if (!cap) continue;
    const m = month(data(cap).capturedAt);
    const source = data(cap).source as string;
    if (!inRange(m, f.from, f.to) || (f.sources && f.sources.length > 0 && !f.sources.includes(source))) continue;
    const qualified = list.some((e) => e.type === 'LeadQualified' || e.type === 'LeadConverted' || (e.type === 'LeadStatusChanged' && data(e).to === 'Qualified'));
    const converted = list.some((e) => e.type === 'LeadConverted');
    const period = bucketOfMonth(m, f.granularity ?? 'month');
    const key = `${period}|${source}`;
    const row = acc.get(key) ?? { period, source, captured: '0', qualified: '0', converted: '0' };
    row.captured = String(Number(row.captured) + 1);
    row.qualified = String(Number(row.qualified) + (qualified ? 1 : 0));
    row.converted = String(Number(row.converted) + (converted ? 1 : 0));
    acc.set(key, row);
  }
  return sortRows([...acc.values()], ['period', 'source']);
}

export function expectedPipeline(events: readonly EventEnvelope[], f: { tenantId: string; months: readonly string[]; pipelines?: string[] }): PipelineByStageRow[] {
  const acc = new Map<string, { period: string; pipeline: string; stage: string; currency: string; deals: bigint; value: bigint; weighted: bigint }>();
  for (const list of byStream(events, f.tenantId, 'deal-').values()) {
    const opened = list.find((e) => e.type === 'DealOpened');
    const pipeline = opened ? (data(opened).pipeline as string) : '';
    if (f.pipelines && f.pipelines.length > 0 && !f.pipelines.includes(pipeline)) continue;
    for (const m of f.months) {
      let stage: string | undefined;
      let prob = 0;
      let status = '';
      let value: bigint | undefined;
      let currency = '';
      for (const e of list) {
        if (month(e.occurredAt) > m) continue;
        const d = data(e);
        if (e.type === 'DealOpened') [stage, prob, status, value, currency] = [d.stage, d.probability, 'open', BigInt(d.value.amountMinor), d.value.currency];
        if (e.type === 'DealStageMoved') [stage, prob, status] = [d.to, d.probability, 'open'];
        if (e.type === 'DealReopened') [stage, prob, status] = [d.stage, d.probability, 'open'];
        if (e.type === 'DealWon' || e.type === 'DealLost') [stage, prob, status, value, currency] = [d.stage, d.probability, e.type === 'DealWon' ? 'won' : 'lost', BigInt(d.value.amountMinor), d.value.currency];
        if (e.type === 'DealValueChanged') [value, currency] = [BigInt(d.to.amountMinor), d.to.currency];
      }
      if (status !== 'open' || stage === undefined || value === undefined) continue;
      const key = `${m}|${pipeline}|${stage}|${currency}`;
      const row = acc.get(key) ?? { period: m, pipeline, stage, currency, deals: 0n, value: 0n, weighted: 0n };
      row.deals += 1n;
      row.value += value;
      row.weighted += value * BigInt(prob);
      acc.set(key, row);
    }
  }
  return sortRows(
    [...acc.values()].map((r) => ({ period: r.period, pipeline: r.pipeline, stage: r.stage, currency: r.currency, deals: String(r.deals), value_minor: String(r.value), weighted_minor: String(r.weighted / 100n) })),
    ['period', 'pipeline', 'stage', 'currency'],
  );
}

export function expectedStays(events: readonly EventEnvelope[], f: { tenantId: string; from?: string; to?: string }): StageStayRow[] {
  const acc = new Map<string, { pipeline: string; stage: string; n: number; total: number; max: number }>();
  for (const list of byStream(events, f.tenantId, 'deal-').values()) {
    const opened = list.find((e) => e.type === 'DealOpened');
    const pipeline = opened ? (data(opened).pipeline as string) : '';
    const staged = list
      .filter((e) => e.type !== 'DealValueChanged')
      .map((e) => ({ at: Date.parse(e.occurredAt), stage: (e.type === 'DealStageMoved' ? data(e).to : data(e).stage) as string, open: ['DealOpened', 'DealStageMoved', 'DealReopened'].includes(e.type) }));
    for (let i = 0; i + 1 < staged.length; i++) {
      const cur = staged[i]!;
      const nxt = staged[i + 1]!;
      if (!cur.open || !inRange(new Date(nxt.at).toISOString().slice(0, 7), f.from, f.to)) continue;
      const key = `${pipeline}|${cur.stage}`;
      const row = acc.get(key) ?? { pipeline, stage: cur.stage, n: 0, total: 0, max: 0 };
      row.n++;
      row.total += nxt.at - cur.at;
      row.max = Math.max(row.max, nxt.at - cur.at);
      acc.set(key, row);
    }
  }
  return sortRows([...acc.values()].map((r) => ({ pipeline: r.pipeline, stage: r.stage, stays: String(r.n), avg_ms: r.total / r.n, max_ms: String(r.max) })), ['pipeline', 'stage']);
}

export function expectedOutcomes(events: readonly EventEnvelope[], f: { tenantId: string; from?: string; to?: string }): DealOutcomeRow[] {
  const acc = new Map<string, DealOutcomeRow>();
  for (const list of byStream(events, f.tenantId, 'deal-').values()) {
    const opened = list.find((e) => e.type === 'DealOpened');
    const pipeline = opened ? (data(opened).pipeline as string) : '';
    const last = [...list].reverse().find((e) => ['DealWon', 'DealLost', 'DealReopened'].includes(e.type));
    if (!last || last.type === 'DealReopened' || !inRange(month(last.occurredAt), f.from, f.to)) continue;
    const row = acc.get(pipeline) ?? { pipeline, won: '0', lost: '0' };
    if (last.type === 'DealWon') row.won = String(Number(row.won) + 1);
    else row.lost = String(Number(row.lost) + 1);
    acc.set(pipeline, row);
  }
  return sortRows([...acc.values()], ['pipeline']);
}

export function expectedSpend(events: readonly EventEnvelope[], f: { tenantId: string; from?: string; to?: string; granularity?: Granularity; categories?: string[] }): SpendByMonthRow[] {
  const acc = new Map<string, { period: string; category: string; currency: string; spent: bigint; amount: bigint; allocated: bigint; budgets: number }>();
  for (const list of byStream(events, f.tenantId, 'budget-').values()) {
    const created = list.find((e) => e.type === 'BudgetCreated');
    const category = created ? (data(created).category as string) : '';
    if (f.categories && f.categories.length > 0 && !f.categories.includes(category)) continue;
    const amount = created ? BigInt(data(created).amount.amountMinor) : 0n;
    const alloc = new Map<string, bigint>();
    for (const e of list) if (e.type === 'BudgetAllocated') alloc.set(data(e).campaign, BigInt(data(e).amount.amountMinor));
    const allocated = [...alloc.values()].reduce((a, b) => a + b, 0n);
    const perPeriod = new Map<string, { currency: string; spent: bigint }>();
    for (const e of list) {
      if (e.type !== 'BudgetSpendRecorded') continue;
      const m = month(data(e).spentAt);
      if (!inRange(m, f.from, f.to)) continue;
      const period = bucketOfMonth(m, f.granularity ?? 'month');
      const key = `${period}|${data(e).amount.currency}`;
      const p = perPeriod.get(key) ?? { currency: data(e).amount.currency, spent: 0n };
      p.spent += BigInt(data(e).amount.amountMinor);
      perPeriod.set(key, p);
    }
    for (const [key, p] of perPeriod) {
      const period = key.split('|')[0]!;
      const k = `${period}|${category}|${p.currency}`;
      const row = acc.get(k) ?? { period, category, currency: p.currency, spent: 0n, amount: 0n, allocated: 0n, budgets: 0 };
      row.spent += p.spent;
      row.amount += amount;
      row.allocated += allocated;
      row.budgets++;
      acc.set(k, row);
    }
  }
  return sortRows(
    [...acc.values()].map((r) => ({ period: r.period, category: r.category, currency: r.currency, spent_minor: String(r.spent), amount_minor: String(r.amount), allocated_minor: String(r.allocated), budgets: String(r.budgets) })),
    ['period', 'category', 'currency'],
  );
}

/** A fresh database on the ClickHouse server from `annals stack` (`CLICKHOUSE_URL`, required), dropped by `close`. */
export async function throwawayServerEngine(prefix: string) {
  const engine = await clickhouseServerEngine({ url: requireEnv('CLICKHOUSE_URL'), database: `${prefix}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}` });
  return {
    ...engine,
    close: async () => {
      await engine.dropDatabase();
      await engine.close();
    },
  };
}

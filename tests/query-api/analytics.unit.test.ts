import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signDevToken } from '../../platform/auth/sign.js';
import { createTokenVerifier } from '../../platform/auth/verify.js';
import { chdbEngine } from '../../platform/analytics/chdb.js';
import type { AnalyticsEngine } from '../../platform/analytics/port.js';
import { openPglite, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import { analyticsEventsModel } from '../../projections/clickhouse/events/model.js';
import { buildScenario, expectedFunnel, expectedOutcomes, expectedPipeline, expectedSpend, expectedStays, History } from '../../projections/clickhouse/testing.js';
import { DEFAULT_LIMITS } from '../../query-api/config.js';
import type { ConsistencyGate } from '../../query-api/consistency/gate.js';
import { analyticsArea } from '../../query-api/graphql/analytics/area.js';
import { commonArea } from '../../query-api/graphql/common/area.js';
import { createQueryApi, type QueryApi } from '../../query-api/service.js';
import { monthsBetween } from '../../schemas/read-models/clickhouse/sql.js';
import { AUDIENCE, ISSUER, SECRET, silentLogger } from './testing.js';

/**
 * GraphQL `analytics { leadFunnel pipelineByStage dealVelocity spendByMonth }` on chDB: every figure equals
 * the one computed from the events; the tenant comes from the token only; bad arguments are refused
 * before any SQL is built.
 */
describe('GraphQL analytics (chDB)', () => {
  let engine: AnalyticsEngine;
  let sql: SqlClient;
  let api: QueryApi;
  let noEngine: QueryApi;
  const run = `${Date.now().toString(36)}`;
  const A = `gql-a-${run}`;
  const B = `gql-b-${run}`;
  const h = new History();
  const token = (tenant: string, roles: ('analyst' | 'sales')[] = ['analyst']) => signDevToken({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, tenant, sub: 'u', roles, ttlSeconds: 600 });
  const gql = async (app: QueryApi, tenant: string, query: string, variables?: Record<string, unknown>) => {
    const res = await app.app.inject({
      method: 'POST',
      url: '/graphql',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await token(tenant)}` },
      payload: JSON.stringify({ query, variables }),
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return res.json() as { data: any; errors?: { extensions: { code: string; field?: string } }[] };
  };

  before(async () => {
    engine = await chdbEngine({ path: join(await mkdtemp(join(tmpdir(), 'annals-gql-chdb-')), 'analytics'), database: 'annals_gql' });
    buildScenario(h, { tenantId: A, seed: 21, leads: 50, deals: 30, budgets: 5 });
    buildScenario(h, { tenantId: B, seed: 22, leads: 70, deals: 40, budgets: 6 });
    const model = analyticsEventsModel(engine);
    await model.createGeneration(1);
    await model.swap(1, undefined);
    await model.write(1, h.events);
    sql = pgliteClient(await openPglite());
    const verifier = createTokenVerifier({ keys: { kind: 'secret', secret: SECRET }, issuer: ISSUER, audience: AUDIENCE });
    const deps = { readSql: sql, verifier, logger: silentLogger, limits: DEFAULT_LIMITS, areas: [commonArea, analyticsArea] };
    api = await createQueryApi({ ...deps, services: { analytics: engine } });
    noEngine = await createQueryApi(deps);
  });
  after(async () => {
    await api?.stop();
    await noEngine?.stop();
    await sql?.close();
    await engine?.close();
  });

  it('every figure of the four aggregates equals the one computed from the events, for the token tenant', async () => {
    const r = await gql(
      api,
      A,
      `query ($p: AnalyticsPeriod!) { analytics {
        leadFunnel(granularity: QUARTER) { period source captured qualified converted conversionRate }
        pipelineByStage(period: $p) { period pipeline stage currency deals value weightedValue }
        dealVelocity { stages { pipeline stage stays averageDays } outcomes { pipeline won lost winRate } }
        spendByMonth { period category currency spent amount allocated budgets }
      } }`,
      { p: { from: '2023-01', to: '2024-12' } },
    );
    assert.equal(r.errors, undefined, JSON.stringify(r.errors));
    const a = r.data.analytics;
    const sortBy = <T>(xs: T[], key: (x: T) => string) => [...xs].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
    assert.deepEqual(
      sortBy(a.leadFunnel, (x: { period: string; source: string }) => `${x.period}|${x.source}`).map((x: Record<string, unknown>) => [x.period, x.source, x.captured, x.qualified, x.converted]),
      expectedFunnel(h.events, { tenantId: A, granularity: 'quarter' }).map((x) => [x.period, x.source, Number(x.captured), Number(x.qualified), Number(x.converted)]),
    );
    const pipe = expectedPipeline(h.events, { tenantId: A, months: monthsBetween('2023-01', '2024-12') });
    assert.ok(pipe.length > 0);
    assert.deepEqual(
      sortBy(a.pipelineByStage, (x: Record<string, string>) => `${x.period}|${x.pipeline}|${x.stage}|${x.currency}`).map((x: Record<string, unknown>) => [x.period, x.pipeline, x.stage, x.currency, x.deals, String(x.value), String(x.weightedValue)]),
      pipe.map((x) => [x.period, x.pipeline, x.stage, x.currency, Number(x.deals), x.value_minor, x.weighted_minor]),
    );
    assert.deepEqual(
      a.dealVelocity.stages.map((s: Record<string, unknown>) => [s.pipeline, s.stage, s.stays, Math.round(Number(s.averageDays) * 1e6)]),
      expectedStays(h.events, { tenantId: A }).map((s) => [s.pipeline, s.stage, Number(s.stays), Math.round((s.avg_ms / 86_400_000) * 1e6)]),
    );
    assert.deepEqual(
      a.dealVelocity.outcomes.map((o: Record<string, unknown>) => [o.pipeline, o.won, o.lost]),
      expectedOutcomes(h.events, { tenantId: A }).map((o) => [o.pipeline, Number(o.won), Number(o.lost)]),
    );
    assert.deepEqual(
      sortBy(a.spendByMonth, (x: Record<string, string>) => `${x.period}|${x.category}|${x.currency}`).map((x: Record<string, unknown>) => [x.period, x.category, String(x.spent), String(x.amount), String(x.allocated), x.budgets]),
      expectedSpend(h.events, { tenantId: A }).map((x) => [x.period, x.category, x.spent_minor, x.amount_minor, x.allocated_minor, Number(x.budgets)]),
    );
  });

  it('the tenant is the token tenant: B sees its own figures, an unknown tenant none', async () => {
    const q = `{ analytics { leadFunnel(granularity: ALL) { captured } } }`;
    const [ra, rb, rz] = await Promise.all([gql(api, A, q), gql(api, B, q), gql(api, `${A}-nobody`, q)]);
    assert.equal(ra.data.analytics.leadFunnel.reduce((s: number, r: { captured: number }) => s + r.captured, 0), 50);
    assert.equal(rb.data.analytics.leadFunnel.reduce((s: number, r: { captured: number }) => s + r.captured, 0), 70);
    assert.deepEqual(rz.data.analytics.leadFunnel, []);
  });

  it('X-Consistent-With waits for the analytics model: a ClickHouse projector behind the position answers stale, never fresh', async () => {
    // The gate's one question is which models to wait for; this one vouches for every model except the
    // analytics projector, which is behind (as when ClickHouse is slower than PostgreSQL).
    const asked: string[][] = [];
    const gate: ConsistencyGate = {
      maxWaitMs: 50,
      knows: () => true,
      models: ['contacts', 'analytics_events'],
      waitFor: async (position, models) => {
        asked.push([...models]);
        return models.includes('analytics_events')
          ? { stale: true, requested: position, waitedMs: 50, reached: { analytics_events: position - 1n } }
          : { stale: false, requested: position, waitedMs: 0 };
      },
    };
    const gated = await createQueryApi({ readSql: sql, verifier: createTokenVerifier({ keys: { kind: 'secret', secret: SECRET }, issuer: ISSUER, audience: AUDIENCE }), logger: silentLogger, limits: DEFAULT_LIMITS, areas: [commonArea, analyticsArea], services: { analytics: engine }, consistency: gate });
    try {
      const res = await gated.app.inject({
        method: 'POST',
        url: '/graphql',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await token(A)}`, 'x-consistent-with': '42' },
        payload: JSON.stringify({ query: `{ analytics { leadFunnel(granularity: ALL) { captured } } }` }),
      });
      const body = res.json() as { extensions?: { consistency?: { stale: boolean } } };
      assert.deepEqual(asked, [['analytics_events']], 'the analytics field waits for its own model');
      assert.equal(body.extensions?.consistency?.stale, true, JSON.stringify(body));
    } finally {
      await gated.stop();
    }
  });

  it('refuses bad arguments with QUERY_ERR_INVALID_ARGUMENT before any SQL; no engine → ANALYTICS_ERR_NOT_CONFIGURED', async () => {
    for (const [query, variables] of [
      [`{ analytics { leadFunnel(period: { from: "2024-13" }) { period } } }`, undefined],
      [`{ analytics { leadFunnel(period: { from: "0000-01" }) { period } } }`, undefined],
      [`{ analytics { leadFunnel(period: { from: "2024-05", to: "2024-01" }) { period } } }`, undefined],
      [`{ analytics { leadFunnel(period: { from: "2024-01' OR '1'='1" }) { period } } }`, undefined],
      [`{ analytics { pipelineByStage(period: { from: "2024-01" }) { period } } }`, undefined],
      [`{ analytics { pipelineByStage(period: { from: "0001-01", to: "9999-12" }) { period } } }`, undefined],
      [`query ($s: [String!]) { analytics { leadFunnel(sources: $s) { period } } }`, { s: ['web\u0000'] }],
      [`query ($s: [String!]) { analytics { spendByMonth(categories: $s) { period } } }`, { s: ['x\ud800'] }],
    ] as const) {
      const r = await gql(api, A, query, variables as Record<string, unknown> | undefined);
      assert.equal(r.errors?.[0]?.extensions.code, 'QUERY_ERR_INVALID_ARGUMENT', query);
    }
    const r = await gql(noEngine, A, `{ analytics { leadFunnel { period } } }`);
    assert.equal(r.errors?.[0]?.extensions.code, 'ANALYTICS_ERR_NOT_CONFIGURED');
  });
});

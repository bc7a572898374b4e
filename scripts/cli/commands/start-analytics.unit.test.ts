import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { AnalyticsEnv } from '../../../platform/analytics/config.js';
import { parseEnv } from '../../../platform/config/env.js';
import { openPglite, pgliteClient, type SqlClient } from '../../../platform/sql/client.js';
import { buildScenario, History } from '../../../projections/clickhouse/testing.js';
import { leadFunnelSql } from '../../../schemas/read-models/clickhouse/aggregates.js';
import { z } from 'zod';
import { openAnalyticsWiring } from './start-analytics.js';

const silent = pino({ level: 'silent' });

describe("npm start's analytics wiring", () => {
  it('ANALYTICS=off runs no engine; bad variables are named', async () => {
    // No database is touched when analytics is off: a client that fails on use proves it.
    const untouched = new Proxy({}, { get: () => () => Promise.reject(new Error('the read database was used')) }) as SqlClient;
    const settings = parseEnv(z.object(AnalyticsEnv), { ANALYTICS: 'off' });
    assert.equal(await openAnalyticsWiring({ readSql: untouched, dataDir: '/nonexistent', settings, log: silent }), undefined);
    assert.throws(() => parseEnv(z.object(AnalyticsEnv), { CLICKHOUSE_URL: 'clickhouse:8123', CLICKHOUSE_DATABASE: 'a-b', ANALYTICS: 'maybe' }), (e: Error) =>
      ['CLICKHOUSE_URL', 'CLICKHOUSE_DATABASE', 'ANALYTICS'].every((v) => e.message.includes(v)),
    );
  });

  it('embedded: chDB in a child process under DATA_DIR/analytics; the target projects, the engine answers, close ends the child', async () => {
    const sql = pgliteClient(await openPglite());
    const dataDir = await mkdtemp(join(tmpdir(), 'annals-start-analytics-'));
    const settings = parseEnv(z.object(AnalyticsEnv), {});
    const wiring = (await openAnalyticsWiring({ readSql: sql, dataDir, settings, log: silent }))!;
    try {
      assert.equal(wiring.adapter, 'chdb');
      assert.deepEqual(wiring.models, ['analytics_events']);
      const pid = (wiring.engine as unknown as { pid: () => number }).pid();
      assert.ok(pid !== process.pid && pid > 0, 'the engine runs in another process');
      const reg = await wiring.target.register();
      const h = new History();
      buildScenario(h, { tenantId: 'w', seed: 5, leads: 10, deals: 5, budgets: 2 });
      await wiring.target.apply({ generation: reg, items: h.events.map((event) => ({ position: event.position, event })) });
      const rows = await wiring.engine.query<{ captured: string }>(leadFunnelSql({ tenantId: 'w', granularity: 'all' }));
      assert.equal(rows.reduce((s, r) => s + Number(r.captured), 0), 10);
      await wiring.close();
      assert.throws(() => process.kill(pid, 0), 'the child has exited');
    } finally {
      await wiring.close();
      await sql.close();
    }
  });
});

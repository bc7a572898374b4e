import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { eventsTable } from '../../../schemas/read-models/clickhouse/events.js';
import { str } from '../../../schemas/read-models/clickhouse/sql.js';
import { analystQuestionsSuite, readQuestions } from './analyst-questions.testing.js';
import { analyticsEventsModel } from './model.js';
import { clickhouseServerEngine } from '../../../platform/analytics/server.js';
import { requireEnv } from '../../../platform/testing/require-env.js';
import { throwawayServerEngine } from '../testing.js';

// ClickHouse 18.16 (annals stack): a fresh database per run, dropped after.
analystQuestionsSuite('ClickHouse server', () => throwawayServerEngine('annals_q'));

// The analyst user of infra/compose (clickhouse/users.xml) is read-only through its profile's `readonly`
// setting. 18.16 has no SQL users, so the same setting is applied per request: every question of the
// guide still answers, and every write is refused by the server.

describe('infra/compose analyst user: read-only profile (ClickHouse server)', () => {
  const xml = readFileSync(new URL('../../../infra/compose/clickhouse/users.xml', import.meta.url), 'utf8');
  const readonly = /<annals_readonly>[\s\S]*?<readonly>(\d)<\/readonly>/.exec(xml)?.[1];
  const database = `annals_ro_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  let writer: Awaited<ReturnType<typeof clickhouseServerEngine>>;
  let analyst: ClickHouseClient;

  before(async () => {
    writer = await clickhouseServerEngine({ url: requireEnv('CLICKHOUSE_URL'), database });
    const model = analyticsEventsModel(writer);
    await model.createGeneration(1);
    await model.swap(1, undefined);
    analyst = createClient({ url: requireEnv('CLICKHOUSE_URL'), database, compression: { request: false, response: false }, clickhouse_settings: { readonly: readonly as '2' } });
  });
  after(async () => {
    await analyst?.close();
    await writer?.dropDatabase();
    await writer?.close();
  });

  it('the profile is readonly = 2, limited to the annals database, the password from the environment', () => {
    assert.equal(readonly, '2');
    assert.match(xml, /<allow_databases>\s*<database>annals<\/database>\s*<\/allow_databases>/);
    assert.match(xml, /<password from_env="CLICKHOUSE_ANALYST_PASSWORD"\/>/);
  });

  it('every question of the guide runs; INSERT, DROP, CREATE, ALTER, OPTIMIZE are refused (READONLY)', async () => {
    for (const q of readQuestions()) {
      const rs = await analyst.query({ query: q.sql.replaceAll(`'acme'`, str('t')), format: 'JSONEachRow' });
      await rs.json();
    }
    for (const statement of [
      `INSERT INTO ${eventsTable(1)} (tenant_id, position) VALUES ('t', 1)`,
      `DROP TABLE ${eventsTable(1)}`,
      `CREATE TABLE x (a UInt8) ENGINE = Memory`,
      `ALTER TABLE ${eventsTable(1)} DELETE WHERE 1`,
      `OPTIMIZE TABLE ${eventsTable(1)} FINAL`,
    ]) {
      await assert.rejects(analyst.command({ query: statement }), (e: Error) => /readonly/i.test(e.message), statement);
    }
  });
});

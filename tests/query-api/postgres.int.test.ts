import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { requireEnv } from '../../platform/testing/require-env.js';
import { pgClient, type SqlClient } from '../../platform/sql/client.js';
import { fixtureHistory, ids } from './fixture.js';
import { openReadModels, openReadModelsOn, openTestApi, type ReadModels, type TestApi } from './testing.js';

/**
 * The query API on the PostgreSQL server (READ_DB_URL), answering exactly what it answers on PGlite for
 * the same history: the two drivers disagree on int8 (string vs number), numeric and date (pg makes a
 * local-midnight Date of a date), and a reader that trusts one driver's types breaks on the other.
 * A database of its own, created for the run and dropped afterwards.
 */
const QUERIES = [
  `{ contact(id: "${ids.alice}") { id firstName email tags customFields createdAt revision position deals { name value { minor currency } expectedCloseDate weightedValueMinor stageHistory { toStage at probability } } timeline(first: 50) { type details occurredAt position } consents { purpose active grantedAt } } }`,
  `{ deals(first: 50) { totalCount edges { cursor node { id value { minor } expectedCloseDate contact { id } } } pageInfo { hasNextPage endCursor } } }`,
  `{ deals(first: 2, orderBy: { field: VALUE, direction: ASC }, filter: { valueMin: 250000 }) { edges { cursor node { id } } } }`,
  `{ budgets(first: 10) { nodes { periodStart periodEnd amount { minor currency } remaining { minor } thresholdsReached allocations { campaign amount { minor } } spend { spentAt amount { minor } } } } }`,
  `{ pipeline(pipeline: "default", status: [OPEN, WON, LOST]) { count stages { stage probability count value { minor currency } weightedValue { minor currency } } } }`,
  `{ leads(first: 10) { nodes { id status score inactive bant { budget { minor currency } } capturedAt } } }`,
  `{ contacts(first: 3, orderBy: { field: LAST_INTERACTION_AT, direction: DESC }) { totalCount edges { cursor node { id lastInteractionAt } } } }`,
];

describe('query API on the PostgreSQL server answers as on PGlite', () => {
  const server = requireEnv('READ_DB_URL');
  const dbName = `annals_query_it_${process.pid}_${Date.now()}`;
  let admin: pg.Client;
  let serverSql: SqlClient;
  let onServer: ReadModels;
  let onPglite: ReadModels;
  let apiServer: TestApi;
  let apiPglite: TestApi;

  before(async () => {
    admin = new pg.Client({ connectionString: server });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    const url = new URL(server);
    url.pathname = `/${dbName}`;
    serverSql = pgClient(url.toString(), { max: 4 });
    const history = fixtureHistory(Date.parse('2026-01-01T00:00:00Z')).events;
    onServer = await openReadModelsOn(serverSql);
    await onServer.apply(history);
    onPglite = await openReadModels();
    await onPglite.apply(history);
    apiServer = await openTestApi(onServer.sql);
    apiPglite = await openTestApi(onPglite.sql);
  });
  after(async () => {
    await apiServer?.close();
    await apiPglite?.close();
    await onPglite?.close();
    await serverSql?.close();
    await admin?.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    await admin?.end();
  });

  for (const [i, query] of QUERIES.entries()) {
    it(`query ${i + 1}: the same JSON from both drivers`, { timeout: 30_000 }, async () => {
      const [a, b] = await Promise.all([apiServer.gql(query), apiPglite.gql(query)]);
      assert.equal(a.body.errors, undefined, JSON.stringify(a.body.errors));
      assert.deepEqual(a.body, b.body);
      assert.equal(a.status, 200);
    });
  }

  it('a cursor issued on one page continues on the server exactly as on PGlite', { timeout: 30_000 }, async () => {
    const q = `query($a: String) { contacts(first: 2, after: $a) { edges { cursor node { id } } pageInfo { endCursor hasNextPage } } }`;
    let after: string | null = null;
    const walk: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await apiServer.gql(q, { variables: { a: after } });
      const c = r.body.data.contacts;
      walk.push(...c.edges.map((e: { node: { id: string } }) => e.node.id));
      if (!c.pageInfo.hasNextPage) break;
      after = c.pageInfo.endCursor;
    }
    assert.equal(new Set(walk).size, 7);
  });
});

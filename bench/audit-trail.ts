/**
 * `npm run bench:audit` — GraphQL `auditTrail(first: 50)` (query-api/graphql/audit over platform/audit's
 * history reader: jose auth, mercurius, limits, the error formatter, the role guard, the tenant-scoped
 * stream reads, decryption through the GDPR codec, the deciders' fold and the per-event diff) on the
 * PostgreSQL server, next to two bare fastify routes in the same run:
 * - `bare-same-json`: the SAME JSON from the same history reader (same reads, decryption, fold, diff), without
 *   auth, GraphQL parsing/validation/execution or the error formatter: what the GraphQL layer costs;
 * - `bare-raw-read`: the two stream reads (contact + consent stream) as stored bytes, first 50 records as JSON:
 *   what the history logic itself (decrypt, parse, fold, diff) costs on top of the reads.
 * Each at 16 and 64 clients (closed loop, keep-alive, autocannon in its own process: bench/load-client.ts);
 * systems interleave per round and the median over BENCH_ROUNDS (2) is reported.
 *
 * Data: a database of its own (`annals_bench_audit`, recreated): an encrypted event store with
 * BENCH_ENTITIES (50) contacts of BENCH_EVENTS_PER_ENTITY (80) events each (a create, updates of company,
 * title, tags and phone) plus a consent grant; every request asks for one of them (the same one per run,
 * the event store's cache warm, as a page an auditor re-reads).
 *
 * Env: EVENTSTORE_URL or ANNALS_BENCH_PG_URL (else `annals stack env`), BENCH_ROUNDS, BENCH_QUICK=1.
 * Writes bench/results/audit-trail.json and prints a markdown table.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import Fastify from 'fastify';
import pg from 'pg';
import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { createHistoryReader, type AuditEntry } from '../platform/audit/history.js';
import { signDevToken } from '../platform/auth/sign.js';
import { createTokenVerifier } from '../platform/auth/verify.js';
import { createEventStore } from '../platform/event-store/event-store.js';
import { postgresEventStore } from '../platform/event-store/postgres/adapter.js';
import { createPiiCodec } from '../platform/pii/codec.js';
import { sqlKeyStore } from '../platform/pii/key-store.js';
import { parseMasterKey } from '../platform/pii/master-key.js';
import { pgClient } from '../platform/sql/client.js';
import { DEFAULT_LIMITS } from '../query-api/config.js';
import { createQueryApi } from '../query-api/service.js';
import { auditFolds } from '../write-side/audit-folds.js';
import { runLoad, type LoadResult } from './lib/load.js';
import { resolveServerUrl } from './lib/setup.js';

const here = dirname(fileURLToPath(import.meta.url));
const DB = 'annals_bench_audit';
const TENANT = 'tenant-bench';
const AUTH = { issuer: 'annals-bench', audience: 'annals-bench-api' };
const quick = process.env.BENCH_QUICK === '1';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 2));
const ENTITIES = Number(process.env.BENCH_ENTITIES ?? 50);
const EVENTS = Number(process.env.BENCH_EVENTS_PER_ENTITY ?? 80);
const CLIENTS = quick ? [16] : [16, 64];

export const AUDIT_QUERY = `query Trail($id: ID!) { auditTrail(entityId: $id, first: 50) {
  edges { cursor node { type occurredAt position streamId revision actor { userId roles } correlationId causationId
    changes { field before after erased } data erased erasedFields } }
  pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;

/** The JSON the GraphQL answer holds, built directly from the reader's page (what bare-same-json returns). */
function pageJson(page: Awaited<ReturnType<ReturnType<typeof createHistoryReader>['auditPage']>>) {
  const node = (e: AuditEntry) => ({
    type: e.type,
    occurredAt: new Date(e.occurredAt).toISOString(),
    position: e.position.toString(),
    streamId: e.streamId,
    revision: Number(e.streamRevision),
    actor: { userId: e.actor.userId, roles: e.actor.roles },
    correlationId: e.correlationId,
    causationId: e.causationId,
    changes: e.changes.map((c) => ({ field: c.field, before: c.before, after: c.after, erased: c.erased })),
    data: e.data,
    erased: e.erased,
    erasedFields: e.erasedFields,
  });
  return {
    data: {
      auditTrail: {
        edges: page.entries.map((e) => ({ cursor: page.cursorOf(e), node: node(e) })),
        pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: page.hasPreviousPage, startCursor: page.startCursor, endCursor: page.endCursor },
      },
    },
  };
}

async function main(): Promise<void> {
  const server = resolveServerUrl();
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DB}`);
  await admin.end();
  const url = new URL(server);
  url.pathname = `/${DB}`;
  const sql = pgClient(url.toString(), { max: 16, applicationName: 'annals-bench-audit' });
  const keyStore = await sqlKeyStore(sql, { masterKey: parseMasterKey(randomBytes(32).toString('base64')) });
  const store = createEventStore(await postgresEventStore(sql), { codec: createPiiCodec({ keyStore }) });

  // ── data ──
  const ids: string[] = [];
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  for (let n = 0; n < ENTITIES; n++) {
    const id = uuidv7();
    ids.push(id);
    const meta = (i: number) => ({ tenantId: TENANT, actor: { userId: `u-${i % 7}`, roles: ['sales' as const] }, correlationId: `c-${n}-${i}`, causationId: `c-${n}-${i}`, occurredAt: new Date(t0 + i * 60_000).toISOString(), subjectId: id });
    const events = [{ type: 'ContactCreated', data: { contactId: id, firstName: 'Margaret', lastName: 'Oyelaran-Whitfield', email: `m${n}@northwind.example`, company: 'Northwind', customFields: { region: 'EMEA' }, tags: ['lead'] }, metadata: meta(0) }];
    for (let i = 1; i < EVENTS; i++) {
      const change = [{ company: `Northwind ${i}` }, { title: `Head of logistics ${i}` }, { tags: ['lead', `t${i}`] }, { phone: `+44 20 7946 ${String(i).padStart(4, '0')}` }][i % 4]!;
      events.push({ type: 'ContactUpdated', data: { contactId: id, ...change } as never, metadata: meta(i) });
    }
    for (let i = 0; i < events.length; i += 20) await store.append(`contact-${id}`, events.slice(i, i + 20));
    await store.append(`consent-${id}`, [
      { type: 'ConsentGranted', data: { subjectId: id, subjectType: 'contact', purpose: 'marketing_email', lawfulBasis: 'consent', source: 'web form', noticeVersion: 'v3', grantedAt: new Date(t0).toISOString() }, metadata: meta(EVENTS) },
    ]);
  }
  const id = ids[Math.floor(ids.length / 2)]!;
  const reader = createHistoryReader({ store, folds: auditFolds });
  const silent = pino({ level: 'silent' });
  const secret = randomBytes(32).toString('hex');

  // ── the systems ──
  const ours = await createQueryApi({
    readSql: sql,
    verifier: createTokenVerifier({ keys: { kind: 'secret', secret }, ...AUTH }),
    logger: silent,
    // The per-user rate limit would refuse a closed-loop load from one token: lifted for the measurement.
    limits: { ...DEFAULT_LIMITS, rateLimit: { maxPerWindow: 100_000_000, windowMs: 60_000 } },
    services: { history: reader },
  });
  const bareSame = Fastify();
  bareSame.post('/graphql', async () => pageJson(await reader.auditPage(id, { first: 50 }, { tenantId: TENANT })));
  const bareRaw = Fastify();
  bareRaw.post('/graphql', async () => {
    const [contact, consent] = await Promise.all([store.readStreamRaw(`contact-${id}`), store.readStreamRaw(`consent-${id}`)]);
    const records = [...contact, ...consent].sort((a, b) => (a.position < b.position ? -1 : 1)).slice(0, 50);
    return { data: records.map((r) => ({ type: r.type, position: r.position.toString(), streamId: r.streamId, revision: Number(r.streamRevision), metadata: r.metadata, data: r.data })) };
  });
  const urls = {
    ours: await ours.app.listen({ port: 0, host: '127.0.0.1' }),
    'bare-same-json': await bareSame.listen({ port: 0, host: '127.0.0.1' }),
    'bare-raw-read': await bareRaw.listen({ port: 0, host: '127.0.0.1' }),
  };
  const token = await signDevToken({ secret, ...AUTH, tenant: TENANT, sub: 'auditor-1', roles: ['auditor'], ttlSeconds: 3600 });

  // The same JSON, checked once before measuring.
  const check = await ours.app.inject({ method: 'POST', url: '/graphql', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: JSON.stringify({ query: AUDIT_QUERY, variables: { id } }) });
  const bare = await bareSame.inject({ method: 'POST', url: '/graphql', payload: {} });
  if (!isDeepStrictEqual(check.json(), bare.json())) throw new Error(`bare-same-json differs from the GraphQL answer:\n${check.body.slice(0, 400)}\n${bare.body.slice(0, 400)}`);
  if ((check.json() as { data: { auditTrail: { edges: unknown[] } } }).data.auditTrail.edges.length !== 50) throw new Error('expected a full page of 50');

  const results: { system: string; clients: number; round: number; r: LoadResult }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const clients of CLIENTS) {
      const order = round % 2 === 0 ? (['bare-raw-read', 'bare-same-json', 'ours'] as const) : (['ours', 'bare-same-json', 'bare-raw-read'] as const);
      for (const system of order) {
        const amount = quick ? 500 : clients * 60;
        const r = await runLoad({ url: urls[system], path: '/graphql', token, body: { query: AUDIT_QUERY, variables: { id } }, connections: clients, warmup: Math.min(200, amount / 4), amount });
        results.push({ system, clients, round, r });
        process.stderr.write(`round ${round + 1} ${system} @${clients}: p50 ${r.p50Ms} ms, p95 ${r.p95Ms} ms, p99 ${r.p99Ms} ms, ${r.commandsPerSec.toFixed(0)} req/s\n`);
      }
    }
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  };
  const rows = CLIENTS.flatMap((clients) =>
    (['ours', 'bare-same-json', 'bare-raw-read'] as const).map((system) => {
      const rs = results.filter((x) => x.system === system && x.clients === clients).map((x) => x.r);
      return { system, clients, p50Ms: median(rs.map((r) => r.p50Ms)), p95Ms: median(rs.map((r) => r.p95Ms)), p99Ms: median(rs.map((r) => r.p99Ms)), rps: Math.round(median(rs.map((r) => r.commandsPerSec))) };
    }),
  );
  const lines = ['| auditTrail(first: 50) | clients | p50 ms | p95 ms | p99 ms | req/s | p95 vs bare-same-json |', '|---|---|---|---|---|---|---|'];
  for (const row of rows) {
    const base = rows.find((r) => r.system === 'bare-same-json' && r.clients === row.clients)!;
    lines.push(`| ${row.system} | ${row.clients} | ${row.p50Ms.toFixed(1)} | ${row.p95Ms.toFixed(1)} | ${row.p99Ms.toFixed(1)} | ${row.rps} | ${(row.p95Ms / base.p95Ms).toFixed(2)}× |`);
  }
  const table = lines.join('\n');
  process.stdout.write(`${table}\n\n${ENTITIES} contacts × ${EVENTS} events (+1 consent), encrypted; rounds ${ROUNDS}\n`);
  await mkdir(join(here, 'results'), { recursive: true });
  await writeFile(join(here, 'results', 'audit-trail.json'), JSON.stringify({ at: new Date().toISOString(), entities: ENTITIES, eventsPerEntity: EVENTS, rounds: ROUNDS, rows, results }, null, 2));
  await ours.stop();
  await bareSame.close();
  await bareRaw.close();
  await store.close();
}

await main();

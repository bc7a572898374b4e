/**
 * `npm run bench:search` — issue 12 §2-3 benchmarks of the search read model.
 *
 * 1. SEARCH LATENCY over N contacts (`BENCH_SEARCH_CONTACTS`, default 1 000 000) on each adapter of the
 *    search port: Elasticsearch (the `annals stack` server) and the embedded one (PGlite: the search table,
 *    its pg_trgm/tsvector indexes and the PostgreSQL adapter's query). The documents are generated (names,
 *    companies, emails from fixed lists with a seeded PRNG) and loaded with the store's own bulk path (raw
 *    `_bulk`; multi-row INSERT, indexes built after the load), since what is measured is the query. Then
 *    `BENCH_QUERIES` (default 300) queries, one at a time after a warm-up: a mix of two-typo full names
 *    ("Jonh Smiht"), 3-letter prefixes ("smi"), company words ("acme") and email prefixes, each built from a
 *    document that exists. Reported: p50, p95, p99, max (ms), and how often the source document was in the
 *    top 10 (a recall sanity check: a fast query that finds nothing is not a result). Target p95 < 100 ms.
 *
 * 2. PROJECTOR THROUGHPUT into Elasticsearch next to a raw `_bulk` of the same documents, in the same run:
 *    `BENCH_PROJECTOR_EVENTS` events (default 200 000: 80% ContactCreated, 20% ContactUpdated of earlier
 *    contacts) through `elasticsearchModel.write` in batches of `BENCH_BATCH` (default 2 000; what one
 *    runtime batch is), i.e. mget + fold + versioned bulk with the retry bookkeeping; the raw side bulk-indexes
 *    exactly the documents each batch produced (same batches, same external versions), with no read and no
 *    fold. Target: projector within 3× of raw.
 *
 * `BENCH_TARGET` = es | embedded | both (default both). Env: ELASTICSEARCH_URL
 * (`eval "$(node scripts/cli/annals.mjs stack env)"`). Indices are created under a fresh prefix and deleted
 * at the end; PGlite runs in a temporary data directory, removed at the end, unless BENCH_KEEP=1: then
 * the embedded dataset is kept in ~/.cache/annals/bench/search-embedded-<N>-v<generator>/ and the next
 * run with BENCH_KEEP=1 reuses it (loading 1M takes minutes; a rerun only measures). Delete that
 * directory to reload. Writes bench/results/search.json
 * (search-es.json / search-embedded.json when BENCH_TARGET names one).
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@elastic/elasticsearch';
import { openElasticsearch } from '../platform/elasticsearch/client.js';
import { openPglite, pgliteClient, type SqlClient } from '../platform/sql/client.js';
import { currentVersion, parseEvent, type EventEnvelope } from '../schemas/events/registry.js';
import { aliasOf, documentIdOf, indexOf, searchIndexMappings, searchIndexSettings } from '../schemas/read-models/elasticsearch/indices.js';
import { searchKinds, type SearchDocument } from '../schemas/read-models/search/documents.js';
import { searchDocumentsDdl, searchDocumentsView, searchTermsDdl, searchTermsFromDocuments, searchTermsView } from '../schemas/read-models/search/postgres.js';
import { elasticsearchModel } from '../projections/elasticsearch/model.js';
import { changesOf, fold } from '../projections/search/documents.js';
import { elasticsearchSearch } from '../query-api/search/elasticsearch.js';
import type { SearchPort } from '../query-api/search/port.js';
import { postgresSearch } from '../query-api/search/postgres.js';

const N = Number(process.env.BENCH_SEARCH_CONTACTS ?? 1_000_000);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 300);
const EVENTS = Number(process.env.BENCH_PROJECTOR_EVENTS ?? 200_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 2_000);
const TARGET = (process.env.BENCH_TARGET ?? 'both') as 'es' | 'embedded' | 'both';
if (!['es', 'embedded', 'both'].includes(TARGET)) throw new Error('BENCH_TARGET must be es, embedded or both');
const TENANT = 'bench-tenant';
/** BENCH_KEEP=1: the embedded dataset stays in ~/.cache/annals/bench (one directory per N), reused by the next run. */
const KEEP = process.env.BENCH_KEEP === '1';
/** Bump when documents() changes: a kept dataset of another generator version is loaded anew. */
const GENERATOR_VERSION = 1;
const say = (s: string) => process.stdout.write(`${s}\n`);

// ── deterministic data ─────────────────────────────────────────────────────────────────────────────
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const FIRST = 'James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Nancy Daniel Lisa Matthew Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Dorothy Kevin Carol Brian Amanda George Melissa Edward Deborah Ronald Stephanie Timothy Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob Kathleen Gary Amy Nicholas Shirley Eric Angela Jonathan Helen Stephen Anna Larry Brenda Justin Pamela Scott Nicole Brandon Emma Benjamin Samantha Samuel Katherine Gregory Christine Frank Debra Alexander Rachel Raymond Catherine Patrick Carolyn Jack Janet Dennis Ruth Jerry Maria Tyler Heather Aaron Diane Jose Virginia Adam Julie Henry Joyce Nathan Victoria Douglas Olivia Zachary Kelly Peter Christina Kyle Lauren Walter Joan Ethan Evelyn Jeremy Judith Harold Megan Keith Cheryl Christian Andrea Roger Hannah Noah Martha Gerald Jacqueline Carl Frances Terry Gloria Sean Ann Austin Teresa Arthur Kathryn Lawrence Sara Jesse Janice Dylan Jean Bryan Alice Joe Madison Jordan Doris Billy Abigail Bruce Julia Albert Judy Willie Grace Gabriel Denise Logan Amber Alan Marilyn Juan Beverly Wayne Danielle Roy Theresa Ralph Sophia Randy Marie Eugene Diana Vincent Brittany Russell Natalie Elijah Isabella Louis Charlotte Bobby Rose Philip Alexis Johnny Kayla'.split(' ');
const LAST = 'Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry Perkins Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence Sandoval'.split(' ');
const CO_A = 'Acme Globex Initech Umbrella Hooli Cyberdyne Soylent Stark Wayne Wonka Tyrell Aperture Massive Vandelay Gringotts Oscorp Dunder Prestige Monarch Vehement Pied Wernham Kramerica Sterling Bluth Gekko Nakatomi Weyland Zorg Virtucon Ollivander Duff Krusty Spacely Cogswell Planet Rich Gadget Primatech Sirius Yoyodyne Xanatos Lacuna Genco Ajax Atlas Nimbus Zenith Apex Vertex Quantum Nova Orion Helix Titan Polar Summit Harbor Crescent Falcon Granite Ember Cobalt Juniper Maple Cedar Aspen Willow Birch'.split(' ');
const CO_B = 'Corporation Industries Systems Labs Holdings Group Partners Logistics Foods Energy Capital Dynamics Solutions Media Health Robotics Analytics Ventures Works Trading'.split(' ');

function contactDoc(i: number, rnd: () => number): SearchDocument {
  const firstName = FIRST[Math.floor(rnd() * FIRST.length)]!;
  const lastName = LAST[Math.floor(rnd() * LAST.length)]!;
  const a = CO_A[Math.floor(rnd() * CO_A.length)]!;
  const company = `${a} ${CO_B[Math.floor(rnd() * CO_B.length)]!}${rnd() < 0.3 ? ` ${Math.floor(rnd() * 900) + 100}` : ''}`;
  const email = `${firstName.toLowerCase()}.${lastName.toLowerCase()}${i}@${a.toLowerCase()}.example`;
  return {
    tenantId: TENANT,
    kind: 'contact',
    id: `00000000-0000-7000-8000-${i.toString().padStart(12, '0')}`,
    state: 'active',
    status: 'active',
    firstName,
    lastName,
    name: null,
    email,
    company,
    title: null,
    contactId: null,
    mergedInto: null,
    position: i + 1,
    updatedAt: '2026-01-01T00:00:00.000Z',
  };
}

function* documents(n: number): Generator<SearchDocument> {
  const rnd = prng(42);
  for (let i = 0; i < n; i++) yield contactDoc(i, rnd);
}

/** Transposes two adjacent inner letters: "John" → "Jonh" (one Damerau edit). */
const typo = (w: string, r: number) => {
  if (w.length < 4) return w;
  const i = 1 + Math.floor(r * (w.length - 3));
  return w.slice(0, i) + w[i + 1] + w[i] + w.slice(i + 2);
};

interface Query {
  readonly kind: 'typo-name' | 'prefix' | 'company' | 'email-prefix';
  readonly text: string;
  readonly id: string;
  readonly source: Judged;
}
function queries(n: number, total: number): Query[] {
  const rnd = prng(7);
  const picks = Array.from({ length: n }, () => Math.floor(rnd() * total));
  // One pass over the (sequential) generator keeps only the documents the queries are built from.
  const wanted = new Set(picks);
  const docs = new Map<number, SearchDocument>();
  let i = 0;
  for (const d of documents(total)) {
    if (wanted.has(i)) docs.set(i, d);
    i++;
  }
  const kinds: Query['kind'][] = ['typo-name', 'prefix', 'company', 'email-prefix'];
  return picks.map((at, q) => {
    const d = docs.get(at)!;
    const kind = kinds[q % kinds.length]!;
    const text =
      kind === 'typo-name'
        ? `${typo(d.firstName!, rnd())} ${typo(d.lastName!, rnd())}`
        : kind === 'prefix'
          ? d.lastName!.slice(0, 3).toLowerCase()
          : kind === 'company'
            ? d.company!.split(' ')[0]!.toLowerCase()
            : d.email!.slice(0, d.email!.indexOf('@') + 3);
    return { kind, text, id: d.id, source: d };
  });
}

// ── measuring ─────────────────────────────────────────────────────────────────────────────────────
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const round = (x: number) => Math.round(x * 10) / 10;
interface Figures {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  n: number;
  /** Recall@10 of the source: share of queries whose source document was among the first 10 hits (%). */
  top10: number;
  /** Share of queries whose first hit is a right answer (%): same full name / prefix / company word / email prefix as asked. */
  relevantFirst: number;
  /** Share of the first 10 hits that are right answers (%), over all queries. */
  relevantTop10: number;
}
interface Latency extends Figures {
  byKind: Record<string, Figures>;
}

/** The fields a hit is judged on. */
type Judged = Pick<SearchDocument, 'firstName' | 'lastName' | 'company' | 'email'>;
/** Is `d` a right answer to `q`? (Many documents are: ~20 share each full name at 1M, thousands a prefix.) */
function relevant(q: Query, d: Judged | undefined): boolean {
  if (!d) return false;
  const words = `${d.firstName ?? ''} ${d.lastName ?? ''} ${d.company ?? ''}`.toLowerCase().split(' ');
  switch (q.kind) {
    case 'typo-name':
      return d.firstName === q.source.firstName && d.lastName === q.source.lastName;
    case 'prefix':
      return words.some((w) => w.startsWith(q.text));
    case 'company':
      return words.includes(q.text);
    case 'email-prefix':
      return (d.email ?? '').toLowerCase().startsWith(q.text.toLowerCase());
  }
}

function figures(rows: readonly { ms: number; found: boolean; first: boolean; relevant: number; hits: number }[]): Figures {
  const s = rows.map((r) => r.ms).sort((a, b) => a - b);
  const share = (n: number, of: number) => round((n / Math.max(1, of)) * 100);
  return {
    p50: round(pct(s, 50)),
    p95: round(pct(s, 95)),
    p99: round(pct(s, 99)),
    max: round(s[s.length - 1]!),
    n: s.length,
    top10: share(rows.filter((r) => r.found).length, rows.length),
    relevantFirst: share(rows.filter((r) => r.first).length, rows.length),
    relevantTop10: share(rows.reduce((a, r) => a + r.relevant, 0), rows.reduce((a, r) => a + r.hits, 0)),
  };
}

/** Runs the queries one at a time (timed), then judges the hits (untimed) with `load`, which reads documents by id. */
async function measure(port: SearchPort, qs: readonly Query[], load: (ids: string[]) => Promise<Map<string, Judged>>): Promise<Latency> {
  for (const q of qs.slice(0, 30)) await port.search({ tenantId: TENANT, text: q.text, first: 10 });
  const runs: { q: Query; ms: number; ids: string[] }[] = [];
  for (const q of qs) {
    const t0 = performance.now();
    const hits = await port.search({ tenantId: TENANT, text: q.text, first: 10 });
    runs.push({ q, ms: performance.now() - t0, ids: hits.map((h) => h.id) });
  }
  const docs = await load([...new Set(runs.flatMap((r) => r.ids))]);
  const rows = runs.map((r) => ({
    kind: r.q.kind,
    ms: r.ms,
    found: r.ids.includes(r.q.id),
    first: relevant(r.q, docs.get(r.ids[0] ?? '')),
    relevant: r.ids.filter((id) => relevant(r.q, docs.get(id))).length,
    hits: r.ids.length,
  }));
  const kinds = [...new Set(rows.map((r) => r.kind))];
  return { ...figures(rows), byKind: Object.fromEntries(kinds.map((k) => [k, figures(rows.filter((r) => r.kind === k))])) };
}

function report(name: string, l: Latency): void {
  const line = (f: Figures) => `p50 ${f.p50} ms, p95 ${f.p95} ms, p99 ${f.p99} ms; source in top 10 ${f.top10}%, right first hit ${f.relevantFirst}%, right in top 10 ${f.relevantTop10}%`;
  say(`  ${name}: search ${line(l)}`);
  for (const [k, f] of Object.entries(l.byKind)) say(`    ${k.padEnd(12)} ${line(f)}`);
}

// ── Elasticsearch ─────────────────────────────────────────────────────────────────────────────────
async function createIndices(client: Client, prefix: string, bulkLoad: boolean): Promise<void> {
  for (const kind of searchKinds) {
    await client.indices.create({
      index: indexOf(kind, 1, prefix),
      settings: { ...searchIndexSettings, ...(bulkLoad ? { refresh_interval: '-1' } : {}) },
      mappings: searchIndexMappings as never,
      aliases: { [aliasOf(kind, prefix)]: {} },
    });
  }
}

async function esSearchBench(client: Client): Promise<Record<string, unknown>> {
  const prefix = `bench_${randomUUID().slice(0, 8)}_`;
  try {
    await createIndices(client, prefix, true);
    const t0 = performance.now();
    let batch: SearchDocument[] = [];
    let loaded = 0;
    const inflight = new Set<Promise<void>>();
    const flush = async (docs: SearchDocument[]) => {
      const r = await client.bulk({ operations: docs.flatMap((d) => [{ index: { _index: indexOf('contact', 1, prefix), _id: documentIdOf(d.tenantId, d.id), version: d.position, version_type: 'external' as const } }, d]) });
      if (r.errors) throw new Error(`bulk load failed: ${JSON.stringify(r.items.find((i) => i.index?.error)?.index?.error)}`);
      loaded += docs.length;
      if (loaded % 100_000 < docs.length) say(`  es: ${loaded} loaded (${Math.round(loaded / ((performance.now() - t0) / 1000))}/s)`);
    };
    for (const d of documents(N)) {
      batch.push(d);
      if (batch.length === 5_000) {
        const p: Promise<void> = flush(batch).finally(() => inflight.delete(p));
        inflight.add(p);
        batch = [];
        if (inflight.size >= 2) await Promise.race(inflight);
      }
    }
    if (batch.length > 0) await flush(batch);
    await Promise.all(inflight);
    await client.indices.putSettings({ index: indexOf('contact', 1, prefix), settings: { refresh_interval: '1s' } });
    await client.indices.refresh({ index: indexOf('contact', 1, prefix) });
    await client.indices.forcemerge({ index: indexOf('contact', 1, prefix), max_num_segments: 1 }).catch(() => undefined);
    const loadSeconds = (performance.now() - t0) / 1000;
    say(`  es: ${N} documents loaded in ${loadSeconds.toFixed(1)} s`);
    const load = async (ids: string[]) => {
      const r = await client.mget<SearchDocument>({ index: indexOf('contact', 1, prefix), ids: ids.map((id) => documentIdOf(TENANT, id)) });
      return new Map(r.docs.flatMap((d) => ('_source' in d && d._source ? [[d._source.id, d._source] as const] : [])));
    };
    const latency = await measure(elasticsearchSearch(client, { prefix }), queries(QUERIES, N), load);
    report('es', latency);
    return { contacts: N, loadSeconds: Math.round(loadSeconds), ...latency };
  } finally {
    await client.indices.delete({ index: `${prefix}*`, ignore_unavailable: true, allow_no_indices: true }).catch(() => undefined);
  }
}

// ── embedded (PGlite) ─────────────────────────────────────────────────────────────────────────────
/**
 * The embedded dataset: a PGlite directory holding the documents table `search_documents_g1` of N contacts.
 * With BENCH_KEEP=1 it lives in ~/.cache/annals/bench/search-embedded-<N>-v<generator> and is reused when
 * complete (the marker file is written after the load); the current DDL's indexes and term dictionary
 * are then added if missing (IF NOT EXISTS), so a dataset loaded by an older adapter serves a newer one.
 */
async function embeddedSearchBench(): Promise<Record<string, unknown>> {
  const dir = KEEP ? join(homedir(), '.cache', 'annals', 'bench', `search-embedded-${N}-v${GENERATOR_VERSION}`) : await mkdtemp(join(tmpdir(), 'annals-bench-search-'));
  const marker = join(dir, 'loaded');
  const reuse = KEEP && existsSync(marker);
  if (KEEP && !reuse) await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  let sql: SqlClient | undefined;
  try {
    sql = pgliteClient(await openPglite(join(dir, 'read')));
    const table = `${searchDocumentsView.name}_g1`;
    const ddl = searchDocumentsDdl(table, (s) => `${table}_${s}`);
    const indexes = ddl.split('\n').filter((l) => l.startsWith('CREATE INDEX')).map((l) => l.replace('CREATE INDEX ', 'CREATE INDEX IF NOT EXISTS '));
    let loadSeconds: number | undefined;
    if (!reuse) {
      // Load without the secondary indexes, then build them (as a restore would): the fastest honest load.
      await sql.exec(ddl.split('\n').filter((l) => !l.startsWith('CREATE INDEX')).join('\n'));
      await sql.exec(`CREATE VIEW ${searchDocumentsView.name} AS SELECT * FROM ${table}`);
      const t0 = performance.now();
      let batch: SearchDocument[] = [];
      let loaded = 0;
      const flush = async (docs: SearchDocument[]) => {
        await sql!.query(
          `INSERT INTO ${table} (tenant_id, kind, id, doc, position) SELECT d->>'tenantId', d->>'kind', d->>'id', d, (d->>'position')::bigint FROM jsonb_array_elements($1::jsonb) AS d`,
          [JSON.stringify(docs)],
        );
        loaded += docs.length;
        if (loaded % 100_000 < docs.length) say(`  embedded: ${loaded} loaded (${Math.round(loaded / ((performance.now() - t0) / 1000))}/s)`);
      };
      for (const d of documents(N)) {
        batch.push(d);
        if (batch.length === 5_000) {
          await flush(batch);
          batch = [];
        }
      }
      if (batch.length > 0) await flush(batch);
      loadSeconds = (performance.now() - t0) / 1000;
      say(`  embedded: ${N} documents loaded in ${loadSeconds.toFixed(1)} s`);
    } else say(`  embedded: reusing the ${N} documents kept in ${dir}`);
    const tIndex = performance.now();
    for (const line of indexes) await sql.exec(line);
    const created = await ensureDictionary(sql, table);
    // A fresh load is vacuumed once, as a restored database is: hint bits and the visibility map set, GIN
    // pending lists merged. Otherwise the first queries would pay for setting hint bits page by page (and
    // write the pages back), which measures the load, not the search. A reused dataset has had it.
    if (!reuse) await sql.exec(`VACUUM ANALYZE`);
    else if (created) await sql.exec(`ANALYZE`);
    if (KEEP && !reuse) await writeFile(marker, `${new Date().toISOString()}\n`);
    const indexSeconds = (performance.now() - tIndex) / 1000;
    say(`  embedded: indexes (and derived tables) ready in ${indexSeconds.toFixed(1)} s`);
    const load = async (ids: string[]) => {
      const { rows } = await sql!.query<{ doc: SearchDocument }>(`SELECT doc FROM ${table} WHERE tenant_id = $1 AND kind = 'contact' AND id = ANY($2::text[])`, [TENANT, ids]);
      return new Map(rows.map((r) => [r.doc.id, r.doc] as const));
    };
    const latency = await measure(postgresSearch(sql), queries(QUERIES, N), load);
    report('embedded', latency);
    return { contacts: N, ...(loadSeconds !== undefined ? { loadSeconds: Math.round(loadSeconds) } : { reused: dir }), indexSeconds: Math.round(indexSeconds), ...latency };
  } finally {
    await sql?.close();
    if (!KEEP) await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The term dictionary of the loaded documents, if missing: created and then filled in one GROUP BY (the
 * bulk-load equivalent of what its trigger does document by document), as a restore would.
 */
async function ensureDictionary(sql: SqlClient, docs: string): Promise<boolean> {
  const terms = `${searchTermsView.name}_g1`;
  const { rows } = await sql.query<{ t: string | null }>(`SELECT to_regclass($1)::text AS t`, [terms]);
  if (rows[0]?.t) return false;
  await sql.exec(`${searchTermsDdl(docs, terms, (s) => `${docs}_${s}`)}
    CREATE VIEW ${searchTermsView.name} AS SELECT * FROM ${terms};
    INSERT INTO ${terms} (tenant_id, term, refs) ${searchTermsFromDocuments(docs)};`);
  return true;
}

// ── projector vs raw bulk ─────────────────────────────────────────────────────────────────────────
function projectorEvents(n: number): EventEnvelope[] {
  const rnd = prng(99);
  const out: EventEnvelope[] = [];
  const revisions = new Map<string, bigint>();
  let created = 0;
  for (let p = 1; p <= n; p++) {
    const update = created > 10 && rnd() < 0.2;
    const i = update ? Math.floor(rnd() * created) : created++;
    const d = contactDoc(i, rnd);
    const streamId = `contact-${d.id}`;
    const revision = (revisions.get(streamId) ?? -1n) + 1n;
    revisions.set(streamId, revision);
    const type = update ? 'ContactUpdated' : 'ContactCreated';
    const data = update
      ? { contactId: d.id, company: d.company, title: 'Director' }
      : { contactId: d.id, firstName: d.firstName, lastName: d.lastName, email: d.email, company: d.company, customFields: {}, tags: [] };
    out.push(
      parseEvent({
        eventId: `00000000-0000-7000-9000-${p.toString().padStart(12, '0')}`,
        type,
        schemaVersion: currentVersion(type)!,
        streamId,
        streamRevision: revision,
        position: BigInt(p),
        data,
        metadata: { tenantId: TENANT, actor: { userId: 'bench', roles: ['sales'] }, correlationId: `c${p}`, causationId: `c${p}`, occurredAt: '2026-01-01T00:00:00.000Z' },
      }),
    );
  }
  return out;
}

async function projectorBench(client: Client): Promise<Record<string, unknown>> {
  const events = projectorEvents(EVENTS);
  const batches: EventEnvelope[][] = [];
  for (let i = 0; i < events.length; i += BATCH) batches.push(events.slice(i, i + BATCH));
  // The documents each batch writes (what the projector's bulk carries), computed ahead for the raw side.
  const state = new Map<string, SearchDocument>();
  const rawBatches = batches.map((b) => {
    const touched = new Map<string, SearchDocument>();
    for (const e of b) {
      for (const c of changesOf(e)) {
        const next = fold(state.get(c.key.id), c);
        if (next && next !== state.get(c.key.id)) {
          state.set(c.key.id, next);
          touched.set(c.key.id, next);
        }
      }
    }
    return [...touched.values()];
  });
  const docs = rawBatches.reduce((s, b) => s + b.length, 0);
  const runProjector = async () => {
    const prefix = `bench_${randomUUID().slice(0, 8)}_`;
    const model = elasticsearchModel({ client, prefix });
    await model.createGeneration(1);
    await model.swap(1, undefined);
    const t0 = performance.now();
    for (const b of batches) await model.write(1, b);
    const s = (performance.now() - t0) / 1000;
    await client.indices.delete({ index: `${prefix}*`, ignore_unavailable: true, allow_no_indices: true });
    return s;
  };
  const runRaw = async () => {
    const prefix = `bench_${randomUUID().slice(0, 8)}_`;
    await createIndices(client, prefix, false);
    const t0 = performance.now();
    for (const b of rawBatches) {
      const r = await client.bulk({ operations: b.flatMap((d) => [{ index: { _index: indexOf('contact', 1, prefix), _id: documentIdOf(d.tenantId, d.id), version: d.position, version_type: 'external' as const } }, d]) });
      if (r.errors) throw new Error('raw bulk failed');
    }
    const s = (performance.now() - t0) / 1000;
    await client.indices.delete({ index: `${prefix}*`, ignore_unavailable: true, allow_no_indices: true });
    return s;
  };
  // Interleaved rounds (raw, projector, projector, raw): machine drift cancels in the paired ratio.
  const rounds: { projector: number; raw: number }[] = [];
  for (let r = 0; r < 2; r++) {
    const a = r % 2 === 0 ? await runRaw() : await runProjector();
    const b = r % 2 === 0 ? await runProjector() : await runRaw();
    rounds.push(r % 2 === 0 ? { raw: a, projector: b } : { projector: a, raw: b });
    say(`  projector round ${r + 1}: projector ${(EVENTS / rounds[r]!.projector).toFixed(0)} events/s, raw _bulk ${(docs / rounds[r]!.raw).toFixed(0)} docs/s`);
  }
  const ratios = rounds.map((r) => r.projector / r.raw).sort((a, b) => a - b);
  const best = (k: 'projector' | 'raw') => Math.min(...rounds.map((r) => r[k]));
  return {
    events: EVENTS,
    documentsWritten: docs,
    batch: BATCH,
    projectorEventsPerSecond: Math.round(EVENTS / best('projector')),
    rawDocumentsPerSecond: Math.round(docs / best('raw')),
    projectorSecondsPerRawSecond: Math.round(ratios[Math.floor(ratios.length / 2)]! * 100) / 100,
    rounds,
  };
}

async function main(): Promise<void> {
  const result: Record<string, unknown> = { at: new Date().toISOString(), contacts: N, queries: QUERIES };
  if (TARGET !== 'embedded') {
    const url = process.env.ELASTICSEARCH_URL;
    if (!url) throw new Error('ELASTICSEARCH_URL is not set: run `eval "$(node scripts/cli/annals.mjs stack env)"` first (or BENCH_TARGET=embedded)');
    const client = openElasticsearch(url, { requestTimeoutMs: 120_000 });
    try {
      say(`search latency, Elasticsearch, ${N} contacts`);
      result.elasticsearch = await esSearchBench(client);
      if (EVENTS > 0) {
        say(`projector throughput into Elasticsearch, ${EVENTS} events, batches of ${BATCH}`);
        result.projector = await projectorBench(client);
      }
    } finally {
      await client.close();
    }
  }
  if (TARGET !== 'es') {
    say(`search latency, embedded (PGlite), ${N} contacts`);
    result.embedded = await embeddedSearchBench();
  }
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', `search${TARGET === 'both' ? '' : `-${TARGET}`}.json`);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
  say(`wrote ${out}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:search: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

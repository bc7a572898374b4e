import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@elastic/elasticsearch';
import { openElasticsearch } from '../../platform/elasticsearch/client.js';
import { hashMatcher, valueHash } from '../../platform/pii/scanner.js';
import { requireEnv } from '../../platform/testing/require-env.js';
import type { EventEnvelope } from '../../schemas/events/registry.js';
import { aliasOf, documentIdOf, indexOf } from '../../schemas/read-models/elasticsearch/indices.js';
import { searchKinds, type SearchDocument } from '../../schemas/read-models/search/documents.js';
import { ProjectionEventError } from '../kernel/errors.js';
import { changesOf } from '../search/documents.js';
import { foldAll, History, searchHistory, searchIds, twoTenantSearchHistory } from '../search/testing.js';
import { ElasticsearchBackpressureError, elasticsearchModel } from './model.js';

/**
 * The Elasticsearch search model against the real server: documents equal the pure projector's fold,
 * external versions = positions, duplicates and late out-of-order deliveries write nothing, bulk items
 * refused with 429 are retried alone, a refused item names its event, blue-green swap, erasure + scanner.
 */
type Stored = { doc: SearchDocument; version: number; seqNo: number };

async function stored(client: Client, prefix: string, generation: number | 'alias' = 'alias'): Promise<Map<string, Stored>> {
  const index = searchKinds.map((k) => (generation === 'alias' ? aliasOf(k, prefix) : indexOf(k, generation, prefix))).join(',');
  await client.indices.refresh({ index });
  const r = await client.search<SearchDocument>({ index, size: 1_000, version: true, seq_no_primary_term: true, query: { match_all: {} } });
  return new Map(r.hits.hits.map((h) => [`${h._source!.tenantId}/${h._source!.kind}/${h._source!.id}`, { doc: h._source!, version: h._version!, seqNo: h._seq_no! }]));
}

const docsOf = (m: Map<string, Stored>) => new Map([...m].map(([k, v]) => [k, v.doc]));

describe('Elasticsearch search model', () => {
  let client: Client;
  const prefixes: string[] = [];
  const fresh = () => {
    const p = `t${randomUUID().slice(0, 8)}_`;
    prefixes.push(p);
    return p;
  };
  before(() => {
    client = openElasticsearch(requireEnv('ELASTICSEARCH_URL'));
  });
  after(async () => {
    for (const p of prefixes) await client.indices.delete({ index: `${p}*`, ignore_unavailable: true, allow_no_indices: true }).catch(() => undefined);
    await client.close();
  });

  const { events } = twoTenantSearchHistory();
  const expected = foldAll(events);

  it('holds the pure projector\'s documents, each at external version = its position; a second createGeneration is a no-op', async () => {
    const model = elasticsearchModel({ client, prefix: fresh() });
    await model.createGeneration(1);
    await model.createGeneration(1);
    await model.swap(1, undefined);
    await model.write(1, events);
    const s = await stored(client, model.prefix);
    assert.deepEqual(docsOf(s), expected);
    for (const v of s.values()) assert.equal(v.version, v.doc.position);
  });

  it('duplicates and late, out-of-order redeliveries write nothing (same documents, versions and sequence numbers)', async () => {
    const model = elasticsearchModel({ client, prefix: fresh() });
    await model.createGeneration(1);
    await model.swap(1, undefined);
    await model.write(1, events);
    const before = await stored(client, model.prefix);
    await model.write(1, events);
    await model.write(1, events.slice().reverse());
    for (let i = 0; i < events.length; i += 4) await model.write(1, [events[i]!]);
    // Split across batches: a prefix again, then everything again.
    await model.write(1, events.slice(0, 10));
    await model.write(1, events);
    assert.deepEqual(await stored(client, model.prefix), before);
  });

  it('a writer folding from a stale read (a concurrent member, a crash-restarted batch) never overwrites newer data: external versions refuse it', async () => {
    const prefix = fresh();
    const model = elasticsearchModel({ client, prefix });
    await model.createGeneration(1);
    await model.swap(1, undefined);
    await model.write(1, events);
    const before = await stored(client, prefix);
    // This member's reads see nothing yet (as if it read before the other member wrote): it folds the old
    // events into "new" documents and writes them, each at its old position.
    const stale = new Proxy(client, {
      get(target, prop, receiver) {
        if (prop !== 'mget') return Reflect.get(target, prop, receiver);
        return async (params: { docs: unknown[] }) => ({ docs: params.docs.map(() => ({ found: false })) });
      },
    });
    await elasticsearchModel({ client: stale, prefix }).write(1, events.slice(0, 12));
    assert.deepEqual(await stored(client, prefix), before);
  });

  it('a late erasure older than the document (delivered after a newer event) still redacts it, keeping its version', async () => {
    const prefix = fresh();
    const model = elasticsearchModel({ client, prefix });
    await model.createGeneration(1);
    await model.swap(1, undefined);
    const h = new History();
    const id = searchIds.erased;
    const o = { tenantId: 'tenant-late' };
    const created = h.append(`contact-${id}`, 'ContactCreated', { contactId: id, firstName: 'Ellen', lastName: 'Ripley', email: 'ripley@weyland.example', company: 'Weyland-Yutani', customFields: {}, tags: [] }, o);
    const erasure = h.append(`consent-${id}`, 'SubjectErased', { subjectId: id, subjectType: 'contact', erasedAt: h.now }, o);
    const updated = h.append(`contact-${id}`, 'ContactUpdated', { contactId: id, title: 'Warrant Officer' }, o);
    await model.write(1, [created, updated]);
    await model.write(1, [erasure]); // older than the stored document: written at its version (external_gte)
    const doc = [...(await stored(client, prefix)).values()].find((d) => d.doc.id === id)!;
    assert.equal(doc.version, Number(updated.position));
    assert.equal(doc.doc.state, 'erased');
    for (const field of ['firstName', 'lastName', 'name', 'email'] as const) assert.equal(doc.doc[field], null, field);
  });

  it('a batch split anywhere gives the same documents as one batch', async () => {
    const model = elasticsearchModel({ client, prefix: fresh() });
    await model.createGeneration(1);
    await model.swap(1, undefined);
    for (let i = 0; i < events.length; i += 7) await model.write(1, events.slice(i, i + 7));
    assert.deepEqual(docsOf(await stored(client, model.prefix)), expected);
  });

  it('a batch of several slices (3,000 documents, two writes, side by side) holds the pure fold of every event', async () => {
    const model = elasticsearchModel({ client, prefix: fresh() });
    await model.createGeneration(1);
    await model.swap(1, undefined);
    const h = new History();
    const o = { tenantId: 'tenant-slices' };
    const ids = Array.from({ length: 3_000 }, (_, i) => `0190a0b0-0000-7000-8000-${(0x5000 + i).toString(16).padStart(12, '0')}`);
    for (const [i, id] of ids.entries()) {
      h.append(`contact-${id}`, 'ContactCreated', { contactId: id, firstName: `First${i}`, lastName: `Last${i}`, email: `c${i}@slices.example`, company: 'Slices', customFields: {}, tags: [] }, o);
      if (i % 3 === 0) h.append(`contact-${id}`, 'ContactUpdated', { contactId: id, company: `Renamed ${i}` }, o);
    }
    // Second write: documents of every slice that now exist, changed again, and one erased.
    for (const [i, id] of ids.entries()) if (i % 500 === 7) h.append(`contact-${id}`, 'ContactUpdated', { contactId: id, title: `Title ${i}` }, o);
    h.append(`contact-${ids[2_999]!}`, 'ContactErased', { contactId: ids[2_999]! }, o);
    const first = h.events.findIndex((e) => e.type === 'ContactUpdated' && 'title' in (e.data as object));
    await model.write(1, h.events.slice(0, first));
    await model.write(1, h.events.slice(first));
    const want = foldAll(h.events);
    const have = new Map<string, SearchDocument>();
    const index = aliasOf('contact', model.prefix);
    await client.indices.refresh({ index });
    let page = await client.search<SearchDocument>({ index, size: 5_000, scroll: '1m', query: { match_all: {} } });
    while (page.hits.hits.length > 0) {
      for (const hit of page.hits.hits) have.set(`${hit._source!.tenantId}/${hit._source!.kind}/${hit._source!.id}`, hit._source!);
      page = await client.scroll<SearchDocument>({ scroll_id: page._scroll_id!, scroll: '1m' });
    }
    assert.equal(have.size, 3_000);
    assert.deepEqual(have, want);
  });

  /** A client whose `_mget` calls are counted by document (every other call goes through as it is). */
  const countingReads = () => {
    const read: string[] = [];
    const counting = new Proxy(client, {
      get(target, prop, receiver) {
        if (prop === 'mget') {
          return (params: { docs: Array<{ _id: string }> }, ...rest: unknown[]) => {
            read.push(...params.docs.map((d) => d._id));
            return (target.mget as (...a: unknown[]) => unknown).call(target, params, ...rest);
          };
        }
        return Reflect.get(target, prop, receiver);
      },
    });
    return { counting, read };
  };
  /** The `_id`s of the documents `events` touch. */
  const docIds = (events: readonly EventEnvelope[]) => new Set(events.flatMap((e) => changesOf(e).map((c) => documentIdOf(c.key.tenantId, c.key.id))));
  /** Positions after which each piece starts, as a rebuild's fills chain them. */
  const fills = (pieces: EventEnvelope[][]) =>
    pieces.map((piece, i) => ({ piece, fill: { after: i === 0 ? undefined : pieces[i - 1]!.at(-1)!.position, through: piece.at(-1)!.position } }));

  it('a fill chain into a generation it created reads exactly the documents it wrote before, and holds the pure fold (every split, hostile values included)', async () => {
    const h = new History();
    searchHistory(h, 'tenant-a');
    searchHistory(h, 'tenant-b');
    const o = { tenantId: 'tenant-a' };
    const id = '0190a0b0-0000-7000-8000-00000000f00d';
    h.append(`contact-${id}`, 'ContactCreated', { contactId: id, firstName: 'N\u00fcl \ud83d\ude00', lastName: '\u202eRTL', email: 'x@hostile.example', company: 'Zero\u200bWidth', customFields: {}, tags: [] }, o);
    h.append(`contact-${id}`, 'ContactUpdated', { contactId: id, title: 'T'.repeat(200) }, o);
    const all = h.events;
    const existing = (events: readonly EventEnvelope[]) => new Set([...foldAll(events).values()].map((d) => documentIdOf(d.tenantId, d.id)));
    for (const size of [1, 5, 13, all.length]) {
      const { counting, read } = countingReads();
      // 2^20 bits for ~30 documents: no false positive, so the reads can be predicted exactly.
      const model = elasticsearchModel({ client: counting as Client, prefix: fresh(), filterBits: 20 });
      await model.createGeneration(1);
      const pieces: EventEnvelope[][] = [];
      for (let i = 0; i < all.length; i += size) pieces.push(all.slice(i, i + size));
      let done = 0;
      let reads = 0;
      for (const { piece, fill } of fills(pieces)) {
        const before = existing(all.slice(0, done));
        const mustRead = [...docIds(piece)].filter((d) => before.has(d)).sort();
        const from = read.length;
        await model.write(1, piece, { fill });
        assert.deepEqual(read.slice(from).sort(), mustRead, `pieces of ${size}, after event ${done}`);
        done += piece.length;
        reads += mustRead.length;
      }
      await model.swap(1, undefined);
      assert.deepEqual(docsOf(await stored(client, model.prefix)), foldAll(all), `pieces of ${size}`);
      if (size === all.length) assert.equal(reads, 0, 'one fill of an empty generation reads nothing');
      else assert.ok(reads > 0, `pieces of ${size}: documents an earlier fill wrote are read`);
    }
  });

  it('the read comes back as soon as the chain breaks: a write that is not the next fill, an index that was there before, a swap', async () => {
    const { events: all } = twoTenantSearchHistory();
    const half = Math.floor(all.length / 2);
    const [first, second] = [all.slice(0, half), all.slice(half)];
    const { counting, read } = countingReads();
    let model = elasticsearchModel({ client: counting as Client, prefix: fresh(), filterBits: 12 });
    await model.createGeneration(1);
    await model.write(1, first, { fill: { after: undefined, through: first.at(-1)!.position } });
    assert.deepEqual(read, []);
    // Not the next fill (after ≠ where this instance left it): read everything from now on, even a good fill later.
    await model.write(1, second, { fill: { after: first.at(-2)!.position, through: second.at(-1)!.position } });
    const readAfterBreak = read.length;
    assert.deepEqual(new Set(read), docIds(second), 'every document of the batch is read');
    await model.write(1, second, { fill: { after: second.at(-1)!.position, through: second.at(-1)!.position + 1n } });
    assert.ok(read.length > readAfterBreak, 'still reading after the chain broke');
    await model.swap(1, undefined);
    assert.deepEqual(docsOf(await stored(client, model.prefix)), foldAll(all));

    // An index that existed before createGeneration (left by another attempt): read as always.
    const prefix = fresh();
    const other = elasticsearchModel({ client, prefix });
    await other.createGeneration(1);
    await other.write(1, first);
    const spy = countingReads();
    model = elasticsearchModel({ client: spy.counting as Client, prefix, filterBits: 12 });
    await model.createGeneration(1);
    await model.write(1, all, { fill: { after: undefined, through: all.at(-1)!.position } });
    assert.ok(spy.read.length > 0, 'an index it did not create is read');
    await model.swap(1, undefined);
    assert.deepEqual(docsOf(await stored(client, prefix)), foldAll(all));

    // After the swap the generation is live (the consumer writes it too): read again.
    const third = countingReads();
    model = elasticsearchModel({ client: third.counting as Client, prefix: fresh(), filterBits: 12 });
    await model.createGeneration(1);
    await model.swap(1, undefined);
    await model.write(1, second, { fill: { after: undefined, through: second.at(-1)!.position } });
    assert.ok(third.read.length > 0, 'a swapped generation is read');
  });

  it('bulk items refused with 429 are retried alone until written; still refused after every retry → a transient error', async () => {
    const prefix = fresh();
    const sent: number[] = [];
    let refuse = 2; // the first two bulk calls refuse every other item
    const flaky = new Proxy(client, {
      get(target, prop, receiver) {
        if (prop !== 'bulk') return Reflect.get(target, prop, receiver);
        return async (params: { operations: unknown[] }) => {
          sent.push(params.operations.length / 2);
          if (refuse-- <= 0) return target.bulk(params as never);
          // Send the even items for real, answer 429 for the odd ones without sending them.
          const ops = params.operations;
          const even = ops.filter((_, i) => Math.floor(i / 2) % 2 === 0);
          const r = await target.bulk({ operations: even } as never);
          const items = [];
          for (let k = 0, e = 0; k < ops.length / 2; k++) items.push(k % 2 === 0 ? r.items[e++]! : { index: { _index: 'x', status: 429, error: { type: 'es_rejected_execution_exception', reason: 'queue full' } } });
          return { ...r, errors: true, items };
        };
      },
    });
    const model = elasticsearchModel({ client: flaky, prefix, sleep: async () => undefined });
    await model.createGeneration(1);
    await model.swap(1, undefined);
    await model.write(1, events);
    assert.deepEqual(docsOf(await stored(client, prefix)), expected);
    assert.equal(sent.length, 3);
    assert.equal(sent[1], Math.floor(sent[0]! / 2), 'the retry carries only the refused items');
    assert.equal(sent[2], Math.floor(sent[1]! / 2));

    const always = new Proxy(client, {
      get(target, prop, receiver) {
        if (prop !== 'bulk') return Reflect.get(target, prop, receiver);
        return async (params: { operations: unknown[] }) => ({ errors: true, took: 1, items: params.operations.filter((_, i) => i % 2 === 0).map(() => ({ index: { _index: 'x', status: 429 } })) });
      },
    });
    const stuck = elasticsearchModel({ client: always, prefix: fresh(), sleep: async () => undefined, itemRetries: 2 });
    await stuck.createGeneration(1);
    await assert.rejects(stuck.write(1, events), (e: unknown) => e instanceof ElasticsearchBackpressureError && stuck.isTransient!(e));
  });

  it('an item refused for good (a 400) fails as that event, deterministically', async () => {
    const bad = new Proxy(client, {
      get(target, prop, receiver) {
        if (prop !== 'bulk') return Reflect.get(target, prop, receiver);
        return async (params: { operations: { index?: { _id: string } }[] }) => ({
          errors: true,
          took: 1,
          items: params.operations.filter((_, i) => i % 2 === 0).map((o) => ({ index: { _index: 'x', _id: o.index!._id, status: o.index!._id.includes(searchIds.jane) ? 400 : 201, error: { type: 'mapper_parsing_exception', reason: 'bad' } } })),
        });
      },
    });
    const model = elasticsearchModel({ client: bad, prefix: fresh() });
    await model.createGeneration(1);
    const h = new History();
    searchHistory(h, 'tenant-x');
    await assert.rejects(model.write(1, h.events), (e: unknown) => {
      assert.ok(e instanceof ProjectionEventError, String(e));
      assert.equal(e.deterministic, true);
      const event = h.events[e.index]!;
      assert.ok(event.streamId.includes(searchIds.jane), `blames ${event.type} on ${event.streamId}`);
      assert.equal(e.code, 'PROJECTION_ERR_EVENT(400)');
      return true;
    });
  });

  it('an item the real server refuses (a write block: 403) fails as that event, with the server\'s reason (the trimmed bulk answer keeps it)', async () => {
    const prefix = fresh();
    const model = elasticsearchModel({ client, prefix });
    await model.createGeneration(1);
    const h = new History();
    searchHistory(h, 'tenant-x');
    const contacts = indexOf('contact', 1, prefix);
    await client.indices.putSettings({ index: contacts, settings: { 'index.blocks.write': true } });
    try {
      await assert.rejects(model.write(1, h.events), (e: unknown) => {
        assert.ok(e instanceof ProjectionEventError, String(e));
        assert.equal(e.code, 'PROJECTION_ERR_EVENT(403)');
        assert.match(String(e.cause ?? e.message), /cluster_block_exception/);
        assert.ok(h.events[e.index]!.type.startsWith('Contact'), `blames ${h.events[e.index]!.type}`);
        return true;
      });
    } finally {
      await client.indices.putSettings({ index: contacts, settings: { 'index.blocks.write': false } });
    }
  });

  it('blue-green: a new generation is filled beside the live one and the three aliases move in one step; the old one drops', async () => {
    const prefix = fresh();
    const model = elasticsearchModel({ client, prefix });
    await model.createGeneration(1);
    await model.swap(1, undefined);
    await model.write(1, events.slice(0, 12));
    await model.createGeneration(2);
    await model.write(2, events);
    assert.notDeepEqual(docsOf(await stored(client, prefix)), expected, 'readers still see generation 1');
    await model.swap(2, 1);
    assert.deepEqual(docsOf(await stored(client, prefix)), expected);
    for (const kind of searchKinds) {
      const aliases = await client.indices.getAlias({ name: aliasOf(kind, prefix) });
      assert.deepEqual(Object.keys(aliases), [indexOf(kind, 2, prefix)]);
    }
    await model.dropGeneration(1);
    await model.dropGeneration(1);
    assert.equal(await client.indices.exists({ index: indexOf('contact', 1, prefix) }), false);
  });

  it('erasure: the erasure events leave no personal value (the scanner proves it, and finds them before); redactSubject is the direct path, tenant-scoped', async () => {
    const prefix = fresh();
    const model = elasticsearchModel({ client, prefix });
    await model.createGeneration(1);
    await model.swap(1, undefined);
    const key = 'k';
    const salt = 's';
    const matcherOf = (values: string[]) => hashMatcher(key, salt, values.map((v) => valueHash(key, salt, v)));
    const ripley = matcherOf(['Ellen', 'Ripley', 'ripley@weyland.example']);
    const erasureAt = events.findIndex((e) => e.type === 'ContactErased');
    const beforeErasure = events.slice(0, erasureAt).filter((e) => e.tenantId === 'tenant-a');
    await model.write(1, beforeErasure);
    const found = await model.scanner.scan({ tenantId: 'tenant-a', subjectIds: [searchIds.erased], matcher: ripley });
    assert.equal(found.found, 3, JSON.stringify(found));
    assert.equal(found.store, 'elasticsearch:search_es');
    await model.write(1, events);
    const after = await model.scanner.scan({ tenantId: 'tenant-a', subjectIds: [searchIds.erased], matcher: ripley });
    assert.deepEqual([after.found, after.incomplete, after.examined > 0], [0, undefined, true]);

    // The direct path: John (not erased by events) in tenant-a only; tenant-b's John (same id) is untouched.
    // (Not "Smith": the duplicate merged into John is another subject named Smith, whose document mentions John.)
    const john = matcherOf(['John', 'john@globex.example']);
    assert.equal((await model.scanner.scan({ tenantId: 'tenant-a', subjectIds: [searchIds.john], matcher: john })).found, 2);
    const versionBefore = (await stored(client, prefix)).get(`tenant-a/contact/${searchIds.john}`)!.version;
    assert.equal((await model.redactSubject('tenant-a', [searchIds.john])).redacted, 1);
    assert.equal((await model.redactSubject('tenant-a', [searchIds.john])).redacted, 0, 'idempotent');
    assert.equal((await model.scanner.scan({ tenantId: 'tenant-a', subjectIds: [searchIds.john], matcher: john })).found, 0);
    assert.equal((await model.scanner.scan({ tenantId: 'tenant-b', subjectIds: [searchIds.john], matcher: john })).found, 2, 'another tenant is untouched');
    const s = await stored(client, prefix);
    assert.equal(s.get(`tenant-a/contact/${searchIds.john}`)!.version, versionBefore, 'the version does not move: a newer event still wins');
    assert.equal(s.get(`tenant-a/contact/${searchIds.john}`)!.doc.state, 'erased');
    // A redelivery of John's events (decrypted after erasure or not) cannot bring a value back.
    await model.write(1, events.filter((e): e is EventEnvelope => e.tenantId === 'tenant-a'));
    assert.equal((await model.scanner.scan({ tenantId: 'tenant-a', subjectIds: [searchIds.john], matcher: john })).found, 0);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EventEnvelope } from '../../schemas/events/registry.js';
import type { ReadModelTarget } from '../../projections/kernel/target.js';
import { History, searchHistory, searchIds, searchIdsFrom } from '../../projections/search/testing.js';
import type { SearchHit, SearchPort } from '../../query-api/search/port.js';

/**
 * The search pipeline, end to end, for each store: events → the store-neutral runtime's target (the real
 * projector, its revision guard and checkpoint) → the store → the search port. The same script runs on the
 * embedded adapter (unit) and on Elasticsearch (int): updates, merges and erasure are reflected in search;
 * duplicate and out-of-order deliveries change no answer; another tenant with the same ids never shows.
 * Lives in tests/ because it joins projections/ and query-api/, which never import each other.
 */
export interface SearchPipeline {
  readonly target: ReadModelTarget;
  readonly port: SearchPort;
  /** Makes what was applied searchable (Elasticsearch: refresh; PostgreSQL: nothing). */
  visible(): Promise<void>;
  close(): Promise<void>;
}

export function searchPipelineSuite(name: string, open: () => Promise<SearchPipeline>): void {
  describe(`search pipeline: ${name}`, () => {
    let p: SearchPipeline;
    before(async () => {
      p = await open();
      await p.target.register();
    });
    after(() => p?.close());

    const h = new History();
    searchHistory(h, 'tenant-a');
    // The other tenant: the same people and companies, better matches for nothing but its own ids.
    const theirs = searchIdsFrom(100);
    searchHistory(h, 'tenant-b', theirs);
    const all = h.events;
    const mergeAt = all.findIndex((e) => e.type === 'ContactUpdated');
    const apply = async (events: readonly EventEnvelope[]) => {
      const live = await p.target.live();
      assert.ok(live, 'registered');
      await p.target.apply({ generation: live, items: events.map((event) => ({ position: event.position, event })) });
      await p.visible();
    };
    const search = async (text: string, tenantId = 'tenant-a'): Promise<SearchHit[]> => p.port.search({ tenantId, text });
    const ids = (hits: SearchHit[]) => hits.map((x) => x.id);

    it('a created contact is found; its later update, merge and erasure are reflected in search', async () => {
      const tenantA = all.filter((e) => e.tenantId === 'tenant-a');
      const firstPart = tenantA.slice(0, tenantA.findIndex((e) => e.type === 'ContactUpdated'));
      assert.ok(mergeAt > 0 && firstPart.length > 0);
      await apply(firstPart);
      assert.equal((await search('John Smyth'))[0]?.id, searchIds.john);
      assert.ok(ids(await search('Ripley')).includes(searchIds.erased));
      assert.ok(ids(await search('Jon Smith')).includes(searchIds.duplicate));

      await apply(tenantA);
      // Update: John Smyth → John Smith at ACME Corporation.
      assert.equal((await search('Jonh Smiht'))[0]?.id, searchIds.john);
      assert.equal((await search('acme'))[0]?.id, searchIds.john);
      // Merge: the duplicate is gone from search; the survivor stays.
      assert.ok(!ids(await search('Jon Smith')).includes(searchIds.duplicate));
      assert.ok(!ids(await search('jon@globex')).includes(searchIds.duplicate));
      // Erasure: Ellen Ripley (contact) and Kyle Reese (lead) are found by nothing personal any more.
      for (const q of ['Ripley', 'Ellen Ripley', 'ripley@weyland.example', 'Weyland-Yutani', 'Kyle Reese', 'kyle@resistance.example']) {
        const found = ids(await search(q));
        assert.ok(!found.includes(searchIds.erased) && !found.includes(searchIds.erasedLead), `${q}: ${found.join(', ')}`);
      }
      assert.deepEqual(await search('Ripley'), []);
    });

    it('duplicate and out-of-order deliveries change no answer; the other tenant (same people) never shows', async () => {
      const queries = ['John Smith', 'smi', 'acme', 'jane@initech', 'Sarah Connor', 'Cyberdyne', 'ACME renewal', 'Ripley'];
      const before = await Promise.all(queries.map((q) => search(q)));
      await apply(all); // tenant-b for the first time, tenant-a again
      await apply(all.slice().reverse());
      for (let i = 0; i < all.length; i += 5) await apply([all[i]!]);
      const after = await Promise.all(queries.map((q) => search(q)));
      assert.deepEqual(after.map(ids), before.map(ids));
      const theirIds = new Set<string>(Object.values(theirs));
      for (const hits of after) for (const hit of hits) assert.ok(!theirIds.has(hit.id), 'never another tenant');
      // tenant-b's own search finds its own John, and never tenant-a's.
      const b = await search('Jonh Smiht', 'tenant-b');
      assert.equal(b[0]?.id, theirs.john);
      assert.ok(!ids(b).includes(searchIds.john));
    });
  });
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changesOf, fold, positionNumber } from './documents.js';
import { foldAll, History, searchHistory, searchIds, twoTenantSearchHistory } from './testing.js';

const key = (tenant: string, kind: string, id: string) => `${tenant}/${kind}/${id}`;

describe('search projector (pure): event → document changes, fold with the position rule', () => {
  const { events } = twoTenantSearchHistory();
  const docs = foldAll(events);

  it('folds the history into the current documents: updates, merge, conversion, deal status', () => {
    const john = docs.get(key('tenant-a', 'contact', searchIds.john))!;
    assert.deepEqual(
      { firstName: john.firstName, lastName: john.lastName, email: john.email, company: john.company, title: john.title, state: john.state },
      { firstName: 'John', lastName: 'Smith', email: 'john@globex.example', company: 'ACME Corporation', title: 'CTO', state: 'active' },
    );
    assert.equal(docs.get(key('tenant-a', 'contact', searchIds.jane))!.email, null, 'email: null clears it');
    const dup = docs.get(key('tenant-a', 'contact', searchIds.duplicate))!;
    assert.deepEqual([dup.state, dup.status, dup.mergedInto], ['merged', 'merged', searchIds.john]);
    const lead = docs.get(key('tenant-a', 'lead', searchIds.lead))!;
    assert.deepEqual([lead.status, lead.contactId, lead.name], ['Converted', searchIds.jane, 'Sarah Connor']);
    assert.equal(docs.get(key('tenant-a', 'deal', searchIds.deal))!.status, 'won');
  });

  it('erasure nulls every personal field and the state is final; a lead erased by SubjectErased alone becomes a tombstone', () => {
    const erased = docs.get(key('tenant-a', 'contact', searchIds.erased))!;
    assert.deepEqual([erased.firstName, erased.lastName, erased.email, erased.state, erased.status], [null, null, null, 'erased', 'erased']);
    assert.equal(erased.company, 'Weyland-Yutani', 'business fields stay');
    const lead = docs.get(key('tenant-a', 'lead', searchIds.erasedLead))!;
    assert.deepEqual([lead.name, lead.email, lead.state], [null, null, 'erased']);
  });

  it('every event delivered twice, or any earlier event redelivered late, changes nothing', () => {
    assert.deepEqual(foldAll(events.flatMap((e) => [e, e])), docs);
    for (let i = 0; i < events.length; i += 3) assert.deepEqual(foldAll([...events, events[i]!]), docs, `late redelivery of ${events[i]!.type}`);
    assert.deepEqual(foldAll([...events, ...events.slice().reverse()]), docs, 'the whole history again, backwards');
  });

  it('a late create after an erasure tombstone never indexes the subject', () => {
    const h = new History();
    searchHistory(h, 't');
    const created = h.events.find((e) => e.type === 'ContactCreated' && e.data.contactId === searchIds.erased)!;
    const erasures = h.events.filter((e) => e.type === 'SubjectErased');
    const docs2 = foldAll([...erasures, created]);
    const d = docs2.get(key('t', 'contact', searchIds.erased))!;
    assert.deepEqual([d.firstName, d.email, d.state], [null, null, 'erased']);
  });

  it('an erasure older than the document still removes its personal data, and keeps its version', () => {
    const h = new History();
    searchHistory(h, 't');
    const created = h.events.find((e) => e.type === 'ContactCreated' && e.data.contactId === searchIds.john)!;
    const [change] = changesOf(created);
    const doc = fold(undefined, change!)!;
    const newer = { ...doc, position: doc.position + 10 };
    const olderErasure = { op: 'redact' as const, key: change!.key, position: doc.position + 5, updatedAt: doc.updatedAt };
    const r = fold(newer, olderErasure)!;
    assert.deepEqual([r.firstName, r.email, r.state, r.position], [null, null, 'erased', newer.position]);
    // Redacting again changes nothing (same object: no write).
    assert.equal(fold(r, olderErasure), r);
    // And a patch after erasure cannot bring a personal field back.
    const patched = fold(r, { op: 'patch', key: change!.key, position: newer.position + 1, updatedAt: doc.updatedAt, patch: { firstName: '[erased]', company: 'New Co', state: 'active' } })!;
    assert.deepEqual([patched.firstName, patched.state, patched.company], [null, 'erased', 'New Co']);
  });

  it('tenants never share a document even with the same ids; events without searchable change produce none', () => {
    const a = [...docs.keys()].filter((k) => k.startsWith('tenant-a/'));
    const b = [...docs.keys()].filter((k) => k.startsWith('tenant-b/'));
    assert.equal(a.length, b.length);
    assert.ok(a.length >= 7);
    const tagsOnly = events.find((e) => e.type === 'ContactUpdated' && 'tags' in e.data && e.data.tags !== undefined)!;
    assert.deepEqual(changesOf(tagsOnly), []);
  });

  it('positions beyond 2^53 are refused rather than rounded', () => {
    assert.equal(positionNumber(42n), 42);
    assert.throws(() => positionNumber(2n ** 53n), RangeError);
    assert.throws(() => positionNumber(-1n), RangeError);
  });
});

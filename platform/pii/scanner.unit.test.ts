import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { embeddedBus } from '../bus/embedded.js';
import { busPiiScanner } from '../bus/pii-scanner.js';
import { createEventStore } from '../event-store/event-store.js';
import { eventStorePiiScanner } from '../event-store/pii-scanner.js';
import { postgresEventStore } from '../event-store/postgres/adapter.js';
import { openPglite, pgliteClient } from '../sql/client.js';
import { hashMatcher, valueHash } from './scanner.js';

/**
 * The scanners of the erasure certificate find a plaintext copy wherever it sits, and only by keyed,
 * salted hash (no plaintext reaches them). Stores without encryption here: the point is that a value in
 * clear is FOUND (the workflow test covers the encrypted, erased case that must find nothing).
 */
const KEY = 'k'.repeat(64);
const SALT = 'salt-1';
const SUBJECT = '0190a000-0000-7000-8000-00000000000a';
const OTHER = '0190a000-0000-7000-8000-00000000000b';
const matcher = (...values: string[]) => hashMatcher(KEY, SALT, values.map((v) => valueHash(KEY, SALT, v)));
const hostile = ['Zoë \u202eevil', 'a\u0000b', '\ud83d\udc69\u200d\ud83d\udcbb dev', '"quoted"'];

describe('PersonalDataScanner implementations', { timeout: 60_000 }, () => {
  it('matcher: keyed salted hashes, trimmed, a different salt or key matches nothing', () => {
    const m = matcher('ada@example.com', ...hostile);
    assert.ok(m.match(' ada@example.com '));
    for (const h of hostile) assert.ok(m.match(h), JSON.stringify(h));
    assert.equal(m.match('ada@example.co'), undefined);
    assert.equal(hashMatcher(KEY, 'salt-2', [valueHash(KEY, SALT, 'x1')]).match('x1'), undefined);
    assert.equal(hashMatcher('j'.repeat(64), SALT, [valueHash(KEY, SALT, 'x1')]).match('x1'), undefined);
  });

  it('bus: finds a plaintext value in a message value or header of the subject\'s partition, reads no other partition, ends within its bound', async () => {
    const bus = embeddedBus({ partitions: 4 });
    try {
      await bus.ensureTopics(['annals.contact.events']);
      const msg = (key: string, value: unknown, headers: Record<string, string> = {}) => ({ topic: 'annals.contact.events', key, value: JSON.stringify(value), headers });
      await bus.publish([
        msg(`contact-${SUBJECT}`, { firstName: 'pii:v1:abc:def:ghi' }),
        msg(`contact-${SUBJECT}`, { notes: hostile[0] }, { metadata: JSON.stringify({ note: 'ada@example.com' }) }),
        msg(`contact-${OTHER}`, { firstName: 'ada@example.com' }),
      ]);
      const started = Date.now();
      const r = await busPiiScanner(bus, { timeoutMs: 5_000 }).scan({ tenantId: 't', subjectIds: [SUBJECT], matcher: matcher('ada@example.com', hostile[0]!) });
      assert.ok(Date.now() - started < 5_000);
      assert.equal(r.incomplete, undefined);
      // OTHER's message is found only if it shares the partition; count the subject's hits exactly.
      const own = r.findings.filter((f) => f.location.includes('header metadata') || f.location.endsWith('value'));
      assert.ok(own.length >= 2, JSON.stringify(r.findings));
      assert.ok(r.findings.some((f) => f.location.includes('header metadata')));
      const empty = await busPiiScanner(bus, { timeoutMs: 5_000 }).scan({ tenantId: 't', subjectIds: ['0190a000-0000-7000-8000-0000000000ff'], matcher: matcher('ada@example.com') });
      assert.equal(empty.incomplete, undefined);
    } finally {
      await bus.close();
    }
  });

  it('event store: finds a plaintext copy in a record that names the subject (data or metadata), not in the other subject\'s', async () => {
    const sql = pgliteClient(await openPglite());
    const store = createEventStore(await postgresEventStore(sql));
    try {
      const meta = (subjectId: string) => ({ tenantId: 't', actor: { userId: 'u', roles: ['sales' as const] }, correlationId: 'c', causationId: 'c', occurredAt: '2026-01-01T00:00:00.000Z', subjectId });
      await store.append(`contact-${SUBJECT}`, [
        { type: 'ContactCreated', data: { contactId: SUBJECT, firstName: 'Ada', lastName: hostile[0], email: 'ada@example.com', customFields: {}, tags: [] }, metadata: meta(SUBJECT) },
      ]);
      await store.append(`contact-${OTHER}`, [
        { type: 'ContactCreated', data: { contactId: OTHER, firstName: 'Ada', lastName: 'Other', email: 'ada@example.com', customFields: {}, tags: [] }, metadata: meta(OTHER) },
      ]);
      const r = await eventStorePiiScanner(store, { batchSize: 1 }).scan({ tenantId: 't', subjectIds: [SUBJECT], matcher: matcher('ada@example.com', hostile[0]!) });
      assert.equal(r.found, 4, JSON.stringify(r.findings)); // stored bytes + decrypted view (no codec: the same plaintext), two values
      assert.ok(r.findings.every((f) => f.location.startsWith(`contact-${SUBJECT}@0`)));
      assert.equal(r.examined, 1, 'only the subject\'s record read (indexed lookup, not the whole store)');
      const none = await eventStorePiiScanner(store).scan({ tenantId: 't', subjectIds: [SUBJECT], matcher: matcher('Grace') });
      assert.equal(none.found, 0);
    } finally {
      await store.close();
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventSchemaError } from './errors.js';
import { ERASED_MARKER, personalLeaves, placeholderFor } from './opaque-personal.js';
import { eventDefinitions, parseEvent, type RawStoredEvent } from './registry.js';
import { upcasters } from './upcasters/index.js';

/**
 * Erased and sealed personal values (issue 10): validated through a placeholder their own field accepts,
 * returned as the erased marker (erased) or as they were (sealed), every other field validated as usual.
 */
const contactId = '01950000-0000-7000-8000-00000000000a';
const raw = (type: string, schemaVersion: number, data: unknown): RawStoredEvent => ({
  eventId: '01950000-0000-7000-8000-0000000000e1',
  type,
  schemaVersion,
  streamId: `contact-${contactId}`,
  streamRevision: 0n,
  position: 7n,
  data: JSON.stringify(data),
  metadata: JSON.stringify({
    tenantId: 'tenant-1',
    actor: { userId: 'user-1', roles: ['sales'] },
    correlationId: 'corr-1',
    causationId: 'cause-1',
    occurredAt: '2026-11-21T09:00:00Z',
    subjectId: contactId,
  }),
});
const E = ERASED_MARKER;
const isSealed = (v: unknown) => typeof v === 'string' && v.startsWith('pii:v1:');
const SEALED = 'pii:v1:AAAA:BBBB:CCCC';

describe('erased and sealed personal values', () => {
  it('every personal field of every event (current versions and upcaster schemas) accepts a placeholder', () => {
    const schemas = [...eventDefinitions.map((d) => [`${d.type}@v${d.version}`, d.data] as const), ...upcasters.map((u) => [`${u.type}@v${u.fromVersion}`, u.schema] as const)];
    let leaves = 0;
    for (const [name, schema] of schemas) {
      for (const leaf of personalLeaves(schema)) {
        leaves++;
        assert.ok(placeholderFor(leaf), `${name}: a personal field accepts none of the placeholders`);
      }
    }
    assert.ok(leaves >= 15, `found ${leaves} personal fields`);
  });

  it('erased: every personal value reads as the marker (email, record values), the rest is validated, the paths are listed', () => {
    const data = { contactId, firstName: E, lastName: E, email: E, phone: E, company: 'Acme', customFields: { vip: E, birth_date: E }, tags: ['x'] };
    const e = parseEvent(raw('ContactCreated', 2, data), { erased: true });
    assert.equal(e.erased, true);
    assert.deepEqual(e.data, data);
    assert.deepEqual(e.erasedPaths?.map((p) => p.join('.')).sort(), ['customFields.birth_date', 'customFields.vip', 'email', 'firstName', 'lastName', 'phone']);
  });

  it('erased: a bad non-personal field is still refused, naming it', () => {
    assert.throws(
      () => parseEvent(raw('ContactCreated', 2, { contactId: 'not-a-uuid', firstName: E, lastName: E, customFields: {}, tags: [] }), { erased: true }),
      (e: unknown) => e instanceof EventSchemaError && e.issues.some((i) => i.field === 'data.contactId'),
    );
  });

  it('erased v1 → v2: the upcast split carries the marker to firstName AND lastName (nothing derived from a placeholder leaks)', () => {
    const e = parseEvent(raw('ContactCreated', 1, { contactId, name: E, email: E, company: 'Acme' }), { erased: true });
    assert.equal(e.schemaVersion, 2);
    assert.deepEqual(e.data, { contactId, firstName: E, lastName: E, email: E, company: 'Acme', customFields: {}, tags: [] });
    assert.deepEqual(e.erasedPaths?.map((p) => p.join('.')).sort(), ['email', 'firstName', 'lastName']);
  });

  it('not erased: a user who typed "[erased]" into a field keeps it, and no erased flag appears', () => {
    const data = { contactId, firstName: 'Ada', lastName: 'Lovelace', customFields: { note: E }, tags: [] };
    const e = parseEvent(raw('ContactCreated', 2, data));
    assert.equal(e.erased, undefined);
    assert.deepEqual(e.data, data);
    // …but the marker stays invalid where the field forbids it: only erasure relaxes a schema.
    assert.throws(() => parseEvent(raw('ContactCreated', 2, { ...data, email: E })), EventSchemaError);
  });

  it('sealed (the relay): ciphertexts pass unvalidated and unchanged; plaintext personal values are validated as usual', () => {
    const data = { contactId, firstName: SEALED, lastName: SEALED, email: SEALED, customFields: { vip: SEALED }, tags: [] };
    assert.deepEqual(parseEvent(raw('ContactCreated', 2, data), { sealed: isSealed }).data, data);
    assert.throws(
      () => parseEvent(raw('ContactCreated', 2, { ...data, email: 'not an email' }), { sealed: isSealed }),
      (e: unknown) => e instanceof EventSchemaError && e.issues.some((i) => i.field === 'data.email'),
    );
    // v1 sealed upcasts without decrypting (the relay only checks).
    assert.doesNotThrow(() => parseEvent(raw('ContactCreated', 1, { contactId, name: SEALED }), { sealed: isSealed }));
  });

  it('hostile record keys under erasure: the same keys as a plain parse, the prototype untouched', () => {
    const json = (v: string) => `{"contactId":"${contactId}","firstName":"${v}","lastName":"${v}","customFields":{"__proto__":"${v}","constructor":"${v}"},"tags":[]}`;
    const erased = parseEvent(raw('ContactCreated', 2, JSON.parse(json(E))), { erased: true }).data as { customFields: Record<string, unknown> };
    const plain = parseEvent(raw('ContactCreated', 2, JSON.parse(json('x')))).data as { customFields: Record<string, unknown> };
    assert.deepEqual(Object.keys(erased.customFields), Object.keys(plain.customFields));
    assert.ok(Object.hasOwn(erased.customFields, 'constructor'));
    assert.equal(erased.customFields.constructor, E);
    assert.equal(Object.getPrototypeOf(erased.customFields), Object.prototype);
    assert.equal(({} as Record<string, unknown>).constructor, Object, 'Object.prototype is not polluted');
  });
});

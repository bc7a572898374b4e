import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { z } from 'zod';
import { IsoDate, IsoDateTime, MAX_AMOUNT_MINOR, Money, STORABLE_TEXT_PATTERN, Text, isStorableText } from './common.js';
import { defineEvent } from './define.js';
import { EventMetadata } from './envelope.js';
import { eventDefinitions } from './registry.js';
import { ungatedFields } from './storable.js';
import { arbitraryOf } from './testing/arbitrary.js';

/** The storable-input gate's primitives (common.ts) and its load-time check (storable.ts). */
describe('storable-input gate', () => {
  it('text: U+0000 and unpaired surrogates are refused; everything else, astral and noncharacters included, passes', () => {
    for (const bad of ['\u0000', 'a\u0000', '\ud800', '\udbff', '\udc00', '\udfff', 'x\ud83d', '\ude00x', '\udc00\ud800']) {
      assert.equal(isStorableText(bad), false, JSON.stringify(bad));
      assert.equal(Text.safeParse(bad).success, false, JSON.stringify(bad));
    }
    for (const good of ['', ' ', '😀', '\ud83d\ude00', '\u{10ffff}', '\uffff', '\ufffe', '\ufeff', 'e\u0301', 'שלום', '\u0001', '\u007f']) {
      assert.equal(isStorableText(good), true, JSON.stringify(good));
      assert.equal(Text.safeParse(good).success, true, JSON.stringify(good));
    }
  });

  it('the published pattern says the same as the check, read with or without the u flag', () => {
    const plain = new RegExp(STORABLE_TEXT_PATTERN);
    const unicode = new RegExp(STORABLE_TEXT_PATTERN, 'u');
    fc.assert(
      fc.property(arbitraryOf(Text, { hostile: true }) as fc.Arbitrary<string>, (s) => {
        assert.equal(plain.test(s), isStorableText(s), JSON.stringify(s));
        assert.equal(unicode.test(s), isStorableText(s), JSON.stringify(s));
      }),
      { numRuns: 500 },
    );
    assert.equal((z.toJSONSchema(Text) as { pattern?: string }).pattern, STORABLE_TEXT_PATTERN);
  });

  it('checks a string of ten million characters without overflowing the regex stack', () => {
    const long = 'a😀é'.repeat(3_400_000);
    assert.equal(Text.safeParse(long).success, true);
    assert.equal(Text.safeParse(`${long}\u0000`).success, false);
  });

  it('dates and instants: years 0001-9999, offsets within ±14:00, milliseconds, UTC in range; one issue per bad value', () => {
    for (const ok of ['0001-01-01', '9999-12-31', '2024-02-29']) assert.ok(IsoDate.safeParse(ok).success, ok);
    for (const bad of ['0000-01-01', '2023-02-29', '10000-01-01']) assert.equal(IsoDate.safeParse(bad).success, false, bad);
    const accepted = ['0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z', '2024-06-01T00:00:00+14:00', '2024-06-01T00:00:00-14:00', '0001-01-01T00:00:00-14:00'];
    for (const ok of accepted) assert.ok(IsoDateTime.safeParse(ok).success, ok);
    const refused = [
      '0000-12-31T23:00:00Z',
      '2024-06-01T00:00:00+23:30',
      '2024-06-01T00:00:00+14:01',
      '2024-06-01T00:00:00.1234Z',
      '0001-01-01T00:00:00+00:01', // year 0000 in UTC
      '9999-12-31T23:59:59.999-00:01', // year 10000 in UTC
      '2024-06-01T00:00:00', // no offset: the format's own rule
    ];
    for (const bad of refused) {
      const r = IsoDateTime.safeParse(bad);
      assert.equal(r.success, false, bad);
      assert.equal(r.error!.issues.length, 1, `${bad}: ${JSON.stringify(r.error!.issues)}`);
      assert.equal(r.error!.issues[0]!.code, 'invalid_format', `${bad}: a malformed value, not a broken rule (400, not 422)`);
    }
  });

  it('amounts: whole minor units up to MAX_AMOUNT_MINOR', () => {
    assert.ok(Money.safeParse({ amountMinor: MAX_AMOUNT_MINOR, currency: 'EUR' }).success);
    for (const amountMinor of [MAX_AMOUNT_MINOR + 1, 2 ** 53, 2 ** 63, -1, 0.5]) {
      assert.equal(Money.safeParse({ amountMinor, currency: 'EUR' }).success, false, String(amountMinor));
    }
  });

  it('the envelope is gated too: correlation id, actor, tenant, time', () => {
    const good = { tenantId: 't', actor: { userId: 'u', roles: [] }, correlationId: 'c', causationId: 'c', occurredAt: '2024-06-01T00:00:00Z' };
    assert.ok(EventMetadata.safeParse(good).success);
    const fields = (m: object) => EventMetadata.safeParse(m).error?.issues.map((i) => i.path.join('.'));
    assert.deepEqual(fields({ ...good, correlationId: 'c\u0000' }), ['correlationId']);
    assert.deepEqual(fields({ ...good, actor: { userId: '\ud800', roles: [] } }), ['actor.userId']);
    assert.deepEqual(fields({ ...good, tenantId: 'a\udfff' }), ['tenantId']);
    assert.deepEqual(fields({ ...good, occurredAt: '2024-06-01T00:00:00+23:30' }), ['occurredAt']);
    assert.deepEqual(fields({ ...good, idempotencyKey: 'k\u0000' }), ['idempotencyKey']);
  });

  it('every registered event schema is gated, and defineEvent refuses one that is not, naming the field', () => {
    for (const def of eventDefinitions) assert.deepEqual(ungatedFields(def.data), [], def.type);
    assert.deepEqual(ungatedFields(EventMetadata), []);
    assert.throws(
      () => defineEvent('Probe', 1, z.object({ ok: Text, bad: z.string(), nested: z.array(z.object({ n: z.number() })), r: z.record(z.string(), Text) })),
      (e: Error) =>
        /event Probe v1/.test(e.message) &&
        /bad: a string not built from Text/.test(e.message) &&
        /nested\.\*\.n: a number that is neither an integer nor bounded/.test(e.message) &&
        /r\.\(key\): a string not built from Text/.test(e.message),
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { personalSlots } from '../../../schemas/events/opaque-personal.js';
import { eventDefinition, type EventEnvelope } from '../../../schemas/events/registry.js';
import { arbitraryOf } from '../../../schemas/events/testing/arbitrary.js';
import { eventColumns } from '../../../schemas/read-models/clickhouse/events.js';
import { assertNoPersonalFacts, canonicalInstantMs, factEventTypes, factJsonLines, factRecord, factRow, FACTS } from './facts.js';

const envelope = (type: string, data: unknown, occurredAt = '2024-05-03T10:00:00.000+02:00'): EventEnvelope =>
  ({
    eventId: 'e1',
    type,
    schemaVersion: eventDefinition(type)!.version,
    streamId: `lead-0190a000-0000-7000-8000-000000000001`,
    streamRevision: 3n,
    position: 123_456_789_012_345_678n,
    occurredAt,
    tenantId: 't1',
    actor: { userId: 'u1', roles: ['sales'] },
    correlationId: 'c1',
    causationId: 'c0',
    data,
  }) as unknown as EventEnvelope;

describe('analytics facts (the pure mapping of the fact table)', () => {
  it('refuses a declaration that would copy a field marked personal, or one under or above it, or one the schema lacks', () => {
    assert.throws(() => assertNoPersonalFacts({ LeadCaptured: { paths: { source: ['name'] } } }), /LeadCaptured name is personal data/);
    assert.throws(() => assertNoPersonalFacts({ ContactCreated: { paths: { channel: ['customFields', 'x'] } } }), /personal data/);
    assert.throws(() => assertNoPersonalFacts({ ConsentGranted: { effectiveAt: ['source'] } }), /personal data/);
    assert.throws(() => assertNoPersonalFacts({ LeadQualified: { paths: { campaign: ['nope'] } } }), /has no field nope/);
    assert.doesNotThrow(() => assertNoPersonalFacts(FACTS));
  });

  it('covers every event type of the five aggregates', () => {
    const aggregateTypes = ['Lead', 'Contact', 'Deal', 'Consent', 'Subject', 'Budget'];
    for (const type of factEventTypes) assert.ok(aggregateTypes.some((p) => type.startsWith(p)), type);
    assert.equal(factEventTypes.length, 8 + 5 + 6 + 4 + 5);
    assert.equal(factRow(envelope('ProcessorCheckpointed', { processor: 'p', position: '1' })), undefined);
  });

  it('no personal value of any event ever reaches a row (every type, generated payloads with hostile text)', () => {
    for (const type of factEventTypes) {
      const def = eventDefinition(type)!;
      const samples = fc.sample(arbitraryOf(def.data), { numRuns: 40, seed: 42 }).filter((d) => def.data.safeParse(d).success);
      assert.ok(samples.length > 0, `${type}: no valid sample`);
      for (const data of samples) {
        const row = factRow(envelope(type, data))!;
        assert.deepEqual(Object.keys(row), Object.keys(eventColumns), 'every column, in table order');
        const values = new Set(Object.values(row).flat().filter((v) => typeof v === 'string'));
        for (const slot of personalSlots(def.data, data)) {
          const leaves = typeof slot.value === 'string' ? [slot.value] : Object.values(slot.value as object).filter((v) => typeof v === 'string');
          for (const leaf of leaves) {
            // A personal value equal to an id-like or enum value could coincide; ours are free text, never so short.
            if ((leaf as string).length < 4) continue;
            assert.ok(!values.has(leaf as string), `${type}: personal value at ${slot.path.join('.')} reached the row`);
          }
        }
      }
    }
  });

  it("factRecord serialises to exactly factJsonLines' line of factRow (every type, generated hostile payloads, NUL and lone surrogates in the envelope)", () => {
    for (const type of factEventTypes) {
      const def = eventDefinition(type)!;
      const samples = fc.sample(arbitraryOf(def.data), { numRuns: 40, seed: 7 }).filter((d) => def.data.safeParse(d).success);
      assert.ok(samples.length > 0, `${type}: no valid sample`);
      for (const [i, data] of samples.entries()) {
        const base = envelope(type, data, i % 2 === 0 ? '2024-05-03T10:00:00.000+02:00' : '0001-01-01T00:00:00.000Z');
        const event = (i % 3 === 0 ? { ...base, tenantId: 't\u0000\ud800"x', correlationId: '\udfff\n', actor: { userId: 'u"\\', roles: ['a\u0000', '\ud83d'] } } : base) as EventEnvelope;
        assert.equal(`${JSON.stringify(factRecord(event))}\n`, factJsonLines([factRow(event)!]), `${type} sample ${i}`);
      }
    }
    assert.equal(factRecord(envelope('ProcessorCheckpointed', { processor: 'p', position: '1' })), undefined);
  });

  it('normalises instants to UTC and derives the day and month as strings (years 0001–9999)', () => {
    const first = factRow(envelope('LeadScored', { leadId: '0190a000-0000-7000-8000-000000000001', score: 5, factors: [] }, '0001-01-01T03:00:00.000+02:00'))!;
    assert.deepEqual([first.occurred_at, first.occurred_at_ms, first.occurred_month], ['0001-01-01T01:00:00.000Z', '-62135593200000', '0001-01']);
    const last = factRow(envelope('LeadScored', { leadId: '0190a000-0000-7000-8000-000000000001', score: 5, factors: [] }, '9999-12-31T23:59:59.999Z'))!;
    assert.deepEqual([last.occurred_at, last.occurred_at_ms, last.occurred_month, last.effective_day], ['9999-12-31T23:59:59.999Z', '253402300799999', '9999-12', '9999-12-31']);
    assert.equal(last.position, '123456789012345678', 'a 64-bit position is carried exactly, as a decimal string');
    const spend = factRow(
      envelope('BudgetSpendRecorded', { spendId: '0190a000-0000-7000-8000-000000000002', vendor: 'V', campaign: 'c', amount: { amountMinor: 999_999_999_999_999, currency: 'EUR' }, spentAt: '2024-01-31T23:30:00.000-01:00', externalReference: 'r', overridden: true }),
    )!;
    assert.deepEqual([spend.effective_at, spend.effective_month, spend.amount_minor, spend.overridden], ['2024-02-01T00:30:00.000Z', '2024-02', '999999999999999', 1]);
  });

  it('reads a canonical instant exactly as Date does, and leaves every other form (or an impossible day or time) to Date', () => {
    // What Date makes of a string, when the string is its own canonical form; else undefined.
    const viaDate = (s: string) => {
      const ms = Date.parse(s);
      return Number.isFinite(ms) && new Date(ms).toISOString() === s ? ms : undefined;
    };
    const hostile = [
      '2024-02-29T23:59:59.999Z', '2023-02-29T00:00:00.000Z', '2024-02-30T00:00:00.000Z', '2024-04-31T12:00:00.000Z',
      '2024-01-01T24:00:00.000Z', '2024-01-01T23:60:00.000Z', '2024-01-01T23:59:60.000Z', '0001-01-01T00:00:00.000Z',
      '9999-12-31T23:59:59.999Z', '0000-01-01T00:00:00.000Z', '1900-02-29T00:00:00.000Z', '2000-02-29T00:00:00.000Z',
      '2024-1-01T00:00:00.000Z', '2024-01-01T00:00:00.00aZ', '2024-01-01T00:00:00.000+', '2024-01-01 00:00:00.000Z',
      '2024-00-10T00:00:00.000Z', '2024-13-10T00:00:00.000Z', '2024-01-00T00:00:00.000Z', '+02024-01-01T00:00:00.00Z',
      '2024-01-01T00:00:00.000z', '２０２４-01-01T00:00:00.000Z', '2024-01-01T0\u0000:00:00.000Z', '2024-01-01T00:00:00.000Z\u0000',
    ];
    for (const s of hostile) assert.equal(canonicalInstantMs(s), viaDate(s), s);
    fc.assert(
      fc.property(fc.integer({ min: Date.parse('0001-01-01T00:00:00.000Z'), max: Date.parse('9999-12-31T23:59:59.999Z') }), (ms) => {
        const s = new Date(ms).toISOString();
        assert.equal(canonicalInstantMs(s), ms, s);
      }),
      { numRuns: 5_000 },
    );
    // The canonical shape with any two digits in each field (months 13–99, 31 April, hour 24…): same as Date.
    const two = fc.integer({ min: 0, max: 99 }).map((n) => String(n).padStart(2, '0'));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9999 }), two, two, two, two, two, fc.integer({ min: 0, max: 999 }), (y, mo, d, h, mi, se, ms) => {
        const s = `${String(y).padStart(4, '0')}-${mo}-${d}T${h}:${mi}:${se}.${String(ms).padStart(3, '0')}Z`;
        assert.equal(canonicalInstantMs(s), viaDate(s), s);
      }),
      { numRuns: 20_000 },
    );
  });
});

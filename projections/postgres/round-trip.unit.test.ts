import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { openPglite, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import { IsoDate, IsoDateTime, MinorUnits, Text } from '../../schemas/events/common.js';
import { EventMetadata } from '../../schemas/events/envelope.js';
import { eventDefinitions } from '../../schemas/events/registry.js';
import { arbitraryOf } from '../../schemas/events/testing/arbitrary.js';
import { postgresTarget, type PostgresTarget } from '../testing/postgres-target.js';
import { assertRoundTrip } from '../testing/round-trip.js';
import { storedExactly } from './round-trip.testing.js';

/**
 * The storable-input gate, proven against PostgreSQL (PGlite here; the same properties run on a real
 * server in round-trip.int.test.ts with more runs). Events are generated from the zod schemas
 * themselves, so a new field is covered the day it is added. Run counts are modest to keep `npm test`
 * fast; a failure prints fast-check's seed and the shrunk history, so it can be replayed with more.
 */
describe('storable-input round trip (PGlite)', () => {
  let db: SqlClient;
  let target: PostgresTarget;
  before(async () => {
    db = pgliteClient(await openPglite());
    target = await postgresTarget(db, { prefix: 'rt' });
  });
  after(() => db.close());

  it('every generated value of every event schema is derivable, and some are accepted', () => {
    for (const [name, schema] of [...eventDefinitions.map((d) => [d.type, d.data] as const), ['EventMetadata', EventMetadata] as const]) {
      const samples = fc.sample(arbitraryOf(schema), { numRuns: 60, seed: 7 });
      assert.ok(samples.some((s) => schema.safeParse(s).success), `${name}: no generated candidate is accepted; the deriver is out of step with the schema`);
    }
  });

  it('all six read models hold exactly what each accepted event said (full Unicode, edge dates, extreme numbers)', async () => {
    const { events } = await assertRoundTrip(target, { numRuns: 50 });
    assert.ok(events > 100, `only ${events} events were applied: the generator refuses too much`);
  });

  it('with hostile input mixed in, nothing the schemas accept is refused by PostgreSQL', async () => {
    const { events, refused } = await assertRoundTrip(target, { numRuns: 50, hostile: true });
    assert.ok(events > 30 && refused > 20, `applied ${events}, refused ${refused}: the hostile mix should exercise both sides`);
  });

  it('text: Text accepts a string exactly when PostgreSQL text and jsonb hold it byte-exact', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryOf(Text, { hostile: true }) as fc.Arbitrary<string>, async (s) => {
        assert.equal(Text.safeParse(s).success, await storedExactly(db, 'text', s), JSON.stringify(s));
      }),
      { numRuns: 150 },
    );
  });

  it('dates, instants and amounts the gate accepts are held exactly (and year 0000 is refused by both)', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryOf(IsoDate, { hostile: true }) as fc.Arbitrary<string>, async (d) => {
        assert.equal(IsoDate.safeParse(d).success, await storedExactly(db, 'date', d), d);
      }),
      { numRuns: 60 },
    );
    await fc.assert(
      fc.asyncProperty(arbitraryOf(IsoDateTime, { hostile: true }) as fc.Arbitrary<string>, async (t) => {
        // PostgreSQL takes offsets up to ±15:59 and microseconds, so only one direction holds here.
        if (IsoDateTime.safeParse(t).success) assert.ok(await storedExactly(db, 'timestamptz', t), t);
      }),
      { numRuns: 60 },
    );
    await fc.assert(
      fc.asyncProperty(arbitraryOf(MinorUnits, { hostile: true }) as fc.Arbitrary<number>, async (n) => {
        if (MinorUnits.safeParse(n).success) assert.ok(await storedExactly(db, 'bigint', n), String(n));
      }),
      { numRuns: 60 },
    );
  });
});

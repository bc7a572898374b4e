import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { pgClient, type SqlClient } from '../../platform/sql/client.js';
import { requireEnv } from '../../platform/testing/require-env.js';
import { IsoDate, IsoDateTime, Text } from '../../schemas/events/common.js';
import { arbitraryOf } from '../../schemas/events/testing/arbitrary.js';
import { postgresTarget, type PostgresTarget } from '../testing/postgres-target.js';
import { assertRoundTrip } from '../testing/round-trip.js';
import { storedExactly } from './round-trip.testing.js';

/**
 * The storable-input round trip on a real PostgreSQL server (READ_DB_URL), with more runs than the
 * PGlite unit test: the production server, its encoding and its date limits, not only the embedded
 * build. Tables get a random prefix and are dropped afterwards, so runs never meet.
 */
describe('storable-input round trip (real PostgreSQL)', () => {
  let db: SqlClient;
  let target: PostgresTarget;
  before(async () => {
    db = pgClient(requireEnv('READ_DB_URL'), { max: 2, applicationName: 'annals-round-trip-test' });
    target = await postgresTarget(db, { prefix: `rt_${randomBytes(4).toString('hex')}` });
  });
  after(async () => {
    await target?.drop();
    await db?.close();
  });

  it('all six read models hold exactly what each accepted event said', async () => {
    const { events } = await assertRoundTrip(target, { numRuns: 120 });
    assert.ok(events > 300, `only ${events} events were applied`);
  });

  it('with hostile input mixed in, nothing the schemas accept is refused by PostgreSQL', async () => {
    const { events, refused } = await assertRoundTrip(target, { numRuns: 120, hostile: true });
    assert.ok(events > 120 && refused > 60, `applied ${events}, refused ${refused}`);
  });

  it('the gate agrees with the server: Text ⇔ text/jsonb byte-exact, IsoDate ⇔ date, IsoDateTime ⇒ timestamptz', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryOf(Text, { hostile: true }) as fc.Arbitrary<string>, async (s) => {
        assert.equal(Text.safeParse(s).success, await storedExactly(db, 'text', s), JSON.stringify(s));
      }),
      { numRuns: 500 },
    );
    await fc.assert(
      fc.asyncProperty(arbitraryOf(IsoDate, { hostile: true }) as fc.Arbitrary<string>, async (d) => {
        assert.equal(IsoDate.safeParse(d).success, await storedExactly(db, 'date', d), d);
      }),
      { numRuns: 300 },
    );
    await fc.assert(
      fc.asyncProperty(arbitraryOf(IsoDateTime, { hostile: true }) as fc.Arbitrary<string>, async (t) => {
        if (IsoDateTime.safeParse(t).success) assert.ok(await storedExactly(db, 'timestamptz', t), t);
      }),
      { numRuns: 300 },
    );
  });
});

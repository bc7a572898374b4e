import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PGlite } from '@electric-sql/pglite';
import { raw } from '../contract.js';
import type { EventStoreAdapter } from '../port.js';
import { openPglite, pgliteClient } from '../../sql/client.js';
import { postgresEventStore } from './adapter.js';

// Positions are `xid << 20`, so they gain a decimal digit at xid 954, 9 537, 95 367, … A reader that
// compared them as text (a bare `ORDER BY position` binds to the `position::text` output column) put
// "1000341504" before "999292928" and its checkpoint jumped over every event still in 9 digits: the
// subscriber of the contract's ordering test lost hundreds of events on every freshly initialised
// cluster. Here we burn transaction ids until the next digit boundary and append on both sides of it.
describe('PostgreSQL adapter: positions across a decimal-digit boundary', () => {
  let db: PGlite;
  let store: EventStoreAdapter;
  before(async () => {
    db = await openPglite();
    store = await postgresEventStore(pgliteClient(db));
  });
  after(() => store.close());

  const xid = async () => BigInt((await db.query<{ x: string }>(`SELECT pg_current_xact_id()::text AS x`)).rows[0]!.x);

  it('reads $all and a long stream in numeric order on both sides of the boundary', async () => {
    const digits = (x: bigint) => (x << 20n).toString().length;
    const now = await xid();
    let boundary = now;
    while (digits(boundary) === digits(now)) boundary++;
    assert.ok(boundary - now < 20_000n, `xid ${now} is unexpectedly far from a boundary`);
    // Each appends below consumes one xid; land a few appends on each side of the boundary.
    const burn = Number(boundary - now) - 4;
    if (burn > 0) await db.exec(`DO $$ BEGIN FOR i IN 1..${burn} LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END $$;`);

    const start = await store.headPosition();
    const s = 'boundary-1';
    for (let i = 0; i < 8; i++) await store.append(s, [raw(i)], i === 0 ? 'no_stream' : BigInt(i - 1));
    const positions = (await store.readStream(s)).map((e) => e.position);
    assert.ok(digits(positions[0]! >> 20n) < digits(positions[7]! >> 20n), `the appends straddle the boundary: ${positions.join(', ')}`);

    const seen: bigint[] = [];
    let cursor = start;
    for (;;) {
      const page = await store.readAll({ after: cursor, maxCount: 3 });
      if (page.length === 0) break;
      seen.push(...page.map((e) => e.position));
      cursor = page[page.length - 1]!.position;
    }
    assert.deepEqual(seen, positions, 'every event once, in numeric position order');
  });
});

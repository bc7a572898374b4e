import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validate, version } from 'uuid';
import { newEventId } from './event-id.js';

describe('newEventId', () => {
  it('gives valid UUIDv7s, each unique and above the one before, across many refills of its random pool', () => {
    const ids = Array.from({ length: 50_000 }, () => newEventId());
    for (const id of ids.slice(0, 100)) {
      assert.ok(validate(id), id);
      assert.equal(version(id), 7);
    }
    assert.equal(new Set(ids).size, ids.length, 'no id twice');
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `${ids[i - 1]} then ${ids[i]}`);
  });

  it('draws fresh random bytes for every id (the tail after the counter differs between consecutive ids)', () => {
    const tails = Array.from({ length: 5_000 }, () => newEventId().slice(-10));
    // 40 random bits per tail: a repeat among 5,000 fresh draws is a ~1e-5 event; a reused pool slice repeats at once.
    assert.equal(new Set(tails).size, tails.length);
  });
});

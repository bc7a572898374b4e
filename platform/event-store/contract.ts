import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { createEventStore } from './event-store.js';
import { chainHash, verifyChain } from './hash-chain.js';
import { DuplicateEventIdError, WrongExpectedRevisionError, type EventStoreAdapter, type EventToStore, type StoredRecord } from './port.js';

/**
 * The event store contract. Every adapter runs this same suite: PGlite in `npm test`, a real PostgreSQL
 * server in `.ci/run`, EventStoreDB whenever ESDB_CONNECTION_STRING is set. Stores may hold other data
 * (a shared server), so every test uses fresh stream ids and reads `$all` from the head it saw first.
 */
export interface ContractOptions {
  /** Concurrent writers in the ordering test (16 on servers; PGlite serializes anyway). */
  readonly writers?: number;
  readonly appendsPerWriter?: number;
  /**
   * Opens another adapter on the SAME store, as another process would (default: `open` again, right for
   * servers). The contention tests append through several, since one adapter queues a stream's appends.
   */
  readonly openPeer?: () => Promise<EventStoreAdapter>;
  /** Events in the long stream of the `toRevision` test (default 1200). */
  readonly longStream?: number;
  /**
   * Whether `readBySubject` finds records of other streams whose metadata names the subject (default
   * true). EventStoreDB has no metadata index and reads the subject's own streams only (port.ts).
   */
  readonly subjectIndex?: boolean;
}

export function eventStoreContract(name: string, open: () => Promise<EventStoreAdapter>, options: ContractOptions = {}): void {
  const writers = options.writers ?? 16;
  const appendsPerWriter = options.appendsPerWriter ?? 20;
  const longStream = options.longStream ?? 1200;

  describe(`event store contract: ${name}`, () => {
    let store: EventStoreAdapter;
    const peers: EventStoreAdapter[] = [];
    before(async () => {
      store = await open();
      for (let i = 0; i < 2; i++) peers.push(await (options.openPeer ?? open)());
    });
    after(async () => {
      // `open` may have failed (server down): that failure is the report, not a TypeError here.
      await Promise.all(peers.map((p) => p.close()));
      await store?.close();
    });

    const stream = (prefix = 'contract') => `${prefix}-${uuidv7()}`;

    describe('append with expected revision', () => {
      it('no_stream creates a stream at revision 0 and refuses an existing one', async () => {
        const s = stream();
        const first = await store.append(s, [raw(1), raw(2)], 'no_stream');
        assert.equal(first.nextExpectedRevision, 1n);
        const err = await rejects(store.append(s, [raw(3)], 'no_stream'));
        assert.equal(err.streamId, s);
        assert.equal(err.actual, 1n);
      });

      it('an exact revision succeeds when current and conflicts when stale', async () => {
        const s = stream();
        await store.append(s, [raw(1)], 'no_stream');
        const ok = await store.append(s, [raw(2)], 0n);
        assert.equal(ok.nextExpectedRevision, 1n);
        const err = await rejects(store.append(s, [raw(3)], 0n));
        assert.equal(err.expected, 0n);
        assert.equal(err.actual, 1n);
        assert.equal((await store.readStream(s)).length, 2, 'a refused append writes nothing');
      });

      it('an exact revision on a missing stream conflicts with actual no_stream', async () => {
        const err = await rejects(store.append(stream(), [raw(1)], 3n));
        assert.equal(err.actual, 'no_stream');
      });

      it('stream_exists refuses a missing stream and accepts an existing one', async () => {
        const s = stream();
        const err = await rejects(store.append(s, [raw(1)], 'stream_exists'));
        assert.equal(err.actual, 'no_stream');
        await store.append(s, [raw(1)], 'no_stream');
        const ok = await store.append(s, [raw(2)], 'stream_exists');
        assert.equal(ok.nextExpectedRevision, 1n);
      });

      it('any appends whatever the revision', async () => {
        const s = stream();
        await store.append(s, [raw(1)], 'any');
        const r = await store.append(s, [raw(2), raw(3)], 'any');
        assert.equal(r.nextExpectedRevision, 2n);
      });

      it('of concurrent writers at the same exact revision, exactly one wins', async () => {
        const s = stream();
        await store.append(s, [raw(0)], 'no_stream');
        const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.append(s, [raw(i)], 0n)));
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        assert.equal(won.length, 1);
        for (const l of lost) assert.ok(l.reason instanceof WrongExpectedRevisionError, String(l.reason));
        assert.equal((await store.readStream(s)).length, 2);
      });

      it('returns the position of the last event, readable from $all', async () => {
        const s = stream();
        const head = await store.headPosition();
        const r = await store.append(s, [raw(1), raw(2)], 'no_stream');
        const all = (await readAllFrom(store, head)).filter((e) => e.streamId === s);
        assert.equal(all.length, 2);
        assert.equal(all[1]!.position, r.position);
        assert.ok(all[0]!.position < all[1]!.position);
      });
    });

    describe('any and stream_exists under contention (several adapters, as several processes)', () => {
      for (const mode of ['any', 'stream_exists'] as const) {
        it(`${mode}: 24 concurrent appends to one hot stream all succeed, each once, the chain intact`, async () => {
          const s = stream('hot');
          await store.append(s, [raw(-1)], 'no_stream');
          const adapters = [store, ...peers];
          const batches = Array.from({ length: 24 }, (_, i) => [raw(i)]);
          const results = await Promise.allSettled(batches.map((b, i) => adapters[i % adapters.length]!.append(s, b, mode)));
          const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
          assert.deepEqual(failed.map((f) => String(f.reason)), [], 'no append gave up');
          const read = await store.readStream(s);
          assert.equal(read.length, 25);
          assert.deepEqual(read.map((e) => e.streamRevision), read.map((_, i) => BigInt(i)));
          assert.deepEqual(new Set(read.slice(1).map((e) => e.eventId)), new Set(batches.map((b) => b[0]!.eventId)), 'every event exactly once');
          const reported = results.map((r) => (r as PromiseFulfilledResult<{ nextExpectedRevision: bigint }>).value.nextExpectedRevision);
          assert.equal(new Set(reported).size, 24, 'each append reports its own revision');
          assert.equal(verifyChain(read), undefined);
        });
      }
    });

    describe('duplicate event ids (the rule in port.ts)', () => {
      it('a retry of a written append at the same expected revision is an idempotent success, even after the stream moved on', async () => {
        const s = stream();
        await store.append(s, [raw(0)], 'no_stream');
        const batch = [raw(1), raw(2)];
        const first = await store.append(s, batch, 0n);
        await store.append(s, [raw(3)], 2n);
        const again = await store.append(s, batch, 0n);
        assert.deepEqual(again, first, 'the original result');
        const read = await store.readStream(s);
        assert.deepEqual(read.map((e) => JSON.parse(e.data).n), [0, 1, 2, 3], 'nothing written twice');
      });

      it('a retry of a no_stream append is an idempotent success', async () => {
        const s = stream();
        const batch = [raw(1), raw(2), raw(3)];
        const first = await store.append(s, batch, 'no_stream');
        assert.deepEqual(await store.append(s, batch, 'no_stream'), first);
        assert.equal((await store.readStream(s)).length, 3);
      });

      it('a retry of an any append whose events are still the newest is an idempotent success', async () => {
        const s = stream();
        await store.append(s, [raw(0)], 'any');
        const batch = [raw(1), raw(2)];
        const first = await store.append(s, batch, 'any');
        assert.deepEqual(await store.append(s, batch, 'any'), first);
        assert.deepEqual(await store.append(s, batch, 'stream_exists'), first);
        assert.equal((await store.readStream(s)).length, 3);
      });

      it('a partial overlap is refused and writes nothing (exact, no_stream and any)', async () => {
        const s = stream();
        const [a, b, c] = [raw(1), raw(2), raw(3)];
        await store.append(s, [a, b], 'no_stream');
        await rejectsDuplicate(store.append(s, [b, c], 0n));
        await rejectsDuplicate(store.append(s, [a, c], 'no_stream'));
        await rejectsDuplicate(store.append(s, [b, a], 'no_stream'), 'the same ids in another order');
        await rejectsDuplicate(store.append(s, [b, c], 'any'));
        await rejectsDuplicate(store.append(s, [c, b], 'stream_exists'));
        const read = await store.readStream(s);
        assert.deepEqual(read.map((e) => e.eventId), [a.eventId, b.eventId]);
        const ok = await store.append(s, [c], 1n);
        assert.equal(ok.nextExpectedRevision, 2n, 'the stream is still writable at its revision');
      });

      it('the same id twice in one append is refused and writes nothing', async () => {
        const s = stream();
        const a = raw(1);
        await rejectsDuplicate(store.append(s, [a, { ...raw(2), eventId: a.eventId }], 'no_stream'));
        assert.deepEqual(await store.readStream(s), []);
      });

      it('two identical retries racing: one write, both succeed with the same result (100 races)', async () => {
        // Many races, not one: the loser may look at the stream while the winner commits between two of its
        // statements (a server adapter once answered 5% of such losers with a conflict; caught by CI).
        for (let round = 0; round < 100; round++) {
          const s = stream();
          await store.append(s, [raw(0)], 'no_stream');
          const batch = [raw(1), raw(2)];
          const [x, y] = await Promise.all([store.append(s, batch, 0n), peers[0]!.append(s, batch, 0n)]);
          assert.deepEqual(x, y, `round ${round}`);
          assert.equal((await store.readStream(s)).length, 3, `round ${round}`);
        }
      });
    });

    describe('read one stream', () => {
      it('returns events in revision order with their stored bytes', async () => {
        const s = stream();
        const events = [raw(1), raw(2), raw(3)];
        await store.append(s, events, 'no_stream');
        const read = await store.readStream(s);
        assert.deepEqual(read.map((e) => e.streamRevision), [0n, 1n, 2n]);
        assert.deepEqual(read.map((e) => e.eventId), events.map((e) => e.eventId));
        assert.deepEqual(read.map((e) => e.data), events.map((e) => e.data));
        assert.deepEqual(read.map((e) => e.metadata), events.map((e) => e.metadata));
        assert.deepEqual(read.map((e) => e.schemaVersion), [1, 1, 1]);
      });

      it('keeps hostile payload text byte for byte: quotes, backslashes, escapes of NUL and lone surrogates, array-literal characters', async () => {
        const s = stream();
        const texts = ['"quoted" {braces}, commas', 'back\\slash \\" and \\\\', 'NUL \u0000 lone \ud800 and \udfff', 'NULL', '', '😀 é ß 中文', 'line\nbreak\ttab', 'x'.repeat(100_000)];
        const events = texts.map((t, i) => ({
          ...raw(i),
          data: JSON.stringify({ t, n: i }),
          metadata: JSON.stringify({ tenantId: 'contract', occurredAt: new Date().toISOString(), note: t.slice(0, 64) }),
        }));
        await store.append(s, events.slice(0, 3), 'no_stream');
        await store.append(s, events.slice(3), 2n);
        const read = await store.readStream(s);
        assert.deepEqual(read.map((e) => e.data), events.map((e) => e.data));
        assert.deepEqual(read.map((e) => e.metadata), events.map((e) => e.metadata));
        assert.deepEqual(read.map((e) => (JSON.parse(e.data) as { t: string }).t), texts);
        assert.equal(verifyChain(read), undefined, 'the chain was computed over the same bytes');
      });

      it('orders revisions as numbers, not as text (2 before 10)', async () => {
        const s = stream();
        const events = Array.from({ length: 12 }, (_, i) => raw(i));
        await store.append(s, events.slice(0, 5), 'no_stream');
        await store.append(s, events.slice(5), 4n);
        const read = await store.readStream(s);
        assert.deepEqual(read.map((e) => e.streamRevision), events.map((_, i) => BigInt(i)));
        assert.deepEqual(read.map((e) => e.eventId), events.map((e) => e.eventId));
      });

      it('reads from and up to a revision', async () => {
        const s = stream();
        await store.append(s, [raw(0), raw(1), raw(2), raw(3)], 'no_stream');
        const mid = await store.readStream(s, { fromRevision: 1n, toRevision: 2n });
        assert.deepEqual(mid.map((e) => e.streamRevision), [1n, 2n]);
      });

      it(`reads a few revisions of a long stream (${longStream} events) without the rest`, async () => {
        const s = stream('long');
        const events = Array.from({ length: longStream }, (_, i) => raw(i));
        for (let i = 0; i < events.length; i += 200) await store.append(s, events.slice(i, i + 200), i === 0 ? 'no_stream' : BigInt(i - 1));
        const head = await store.readStream(s, { toRevision: 2n });
        assert.deepEqual(head.map((e) => e.streamRevision), [0n, 1n, 2n]);
        const m = Math.floor(longStream / 2);
        const mid = await store.readStream(s, { fromRevision: BigInt(m), toRevision: BigInt(m + 4) });
        assert.deepEqual(mid.map((e) => JSON.parse(e.data).n), [m, m + 1, m + 2, m + 3, m + 4]);
        const last = BigInt(longStream - 1);
        assert.deepEqual((await store.readStream(s, { fromRevision: last - 1n, toRevision: last + 50n })).map((e) => e.streamRevision), [last - 1n, last], 'toRevision past the end stops at the end');
        assert.deepEqual(await store.readStream(s, { fromRevision: 5n, toRevision: 4n }), [], 'an empty range');
        assert.equal((await store.readStream(s)).length, longStream);
      });

      it('reads up to an instant (as-of)', async () => {
        const s = stream();
        await store.append(s, [raw(0, '2026-01-01T00:00:00.000Z'), raw(1, '2026-02-01T00:00:00.000Z'), raw(2, '2026-03-01T00:00:00.000Z')], 'no_stream');
        const asOf = await store.readStream(s, { until: new Date('2026-02-15T00:00:00Z') });
        assert.deepEqual(asOf.map((e) => e.streamRevision), [0n, 1n]);
      });

      it('returns nothing for a stream that does not exist', async () => {
        assert.deepEqual(await store.readStream(stream()), []);
      });
    });

    describe('read all', () => {
      it('pages through $all in position order without gaps or repeats', async () => {
        const head = await store.headPosition();
        const s1 = stream();
        const s2 = stream();
        await store.append(s1, [raw(1), raw(2)], 'no_stream');
        await store.append(s2, [raw(3)], 'no_stream');
        await store.append(s1, [raw(4)], 1n);
        const pages: StoredRecord[] = [];
        let cursor = head;
        for (;;) {
          const page = await store.readAll({ after: cursor, maxCount: 1 });
          if (page.length === 0) break;
          pages.push(...page);
          cursor = page[page.length - 1]!.position;
        }
        const ours = pages.filter((e) => e.streamId === s1 || e.streamId === s2);
        assert.deepEqual(ours.map((e) => JSON.parse(e.data).n), [1, 2, 3, 4]);
        assertStrictlyIncreasing(pages.map((e) => e.position));
      });

      it('headPosition is the position of the newest event', async () => {
        const r = await store.append(stream(), [raw(1)], 'no_stream');
        assert.equal(await store.headPosition(), r.position);
      });
    });

    describe('read by subject (the erasure scan\'s lookup)', () => {
      it('returns the subject\'s streams and, with an index, the records naming it elsewhere; nothing else', async () => {
        const subject = uuidv7();
        const own = `contact-${subject}`;
        const elsewhere = stream('deal');
        const unrelated = stream('deal');
        const naming = (n: number, subjectId: string, extra: Record<string, string> = {}): EventToStore => ({
          ...raw(n),
          metadata: JSON.stringify({ tenantId: 'contract', occurredAt: new Date().toISOString(), subjectId, ...extra }),
        });
        await store.append(own, [naming(1, subject), raw(2)], 'no_stream');
        await store.append(elsewhere, [naming(3, subject)], 'no_stream');
        // The subject's id spelled inside a string value is not the subject (escaped quotes in the JSON).
        await store.append(unrelated, [naming(4, uuidv7(), { note: `"subjectId":"${subject}"` }), raw(5)], 'no_stream');
        const found = await store.readBySubject({ subjectIds: [subject], streamIds: [own, `consent-${subject}`] });
        const expected = (options.subjectIndex ?? true) ? [1, 2, 3] : [1, 2];
        assert.deepEqual(found.map((r) => JSON.parse(r.data).n), expected);
        assertStrictlyIncreasing(found.map((r) => r.position));
        assert.deepEqual(await store.readBySubject({ subjectIds: [], streamIds: [] }), []);
      });
    });

    describe('catch-up subscription', () => {
      it(`${writers} concurrent appenders: a subscriber from the start sees every event exactly once, in position order`, async () => {
        const facade = createEventStore(store);
        const start = await store.headPosition();
        const prefix = `order${uuidv7().replaceAll('-', '')}`;
        const seen: StoredRecord[] = [];
        const controller = new AbortController();
        const expected = writers * appendsPerWriter * 2 + 40;

        // A subscriber that stops and resumes from its checkpoint half-way, as a restarted relay would.
        let checkpoint = start;
        const subscribe = (stopAt: number) =>
          facade.subscribeToAll({
            after: checkpoint,
            batchSize: 7,
            pollIntervalMs: 5,
            signal: controller.signal,
            onBatch: async (batch) => {
              for (const e of batch) {
                if (!e.streamId.startsWith(prefix)) continue;
                seen.push(e);
              }
              checkpoint = batch[batch.length - 1]!.position;
              if (seen.length >= stopAt) throw new StopSubscription();
            },
          });
        const subscriber = (async () => {
          await subscribe(expected / 2).catch((e) => {
            if (!(e instanceof StopSubscription)) throw e;
          });
          await subscribe(expected).catch((e) => {
            if (!(e instanceof StopSubscription)) throw e;
          });
        })();

        const writer = async (w: number) => {
          const s = `${prefix}-${w}`;
          for (let i = 0; i < appendsPerWriter; i++) await store.append(s, [raw(i), raw(i)], i === 0 ? 'no_stream' : BigInt(i * 2 - 1));
        };
        // Plus contention on one hot stream with `any`.
        const hot = async () => {
          for (let i = 0; i < 10; i++) await store.append(`${prefix}-hot`, [raw(i)], 'any');
        };
        // A failing append must fail the test, not leave the subscriber polling forever: stop it in `finally`.
        try {
          await Promise.all([...Array.from({ length: writers }, (_, w) => writer(w)), hot(), hot(), hot(), hot()]);
          await Promise.race([subscriber, timeout(60_000, `subscriber saw ${seen.length}/${expected}`)]);
        } finally {
          controller.abort();
          await Promise.race([subscriber.catch(() => undefined), timeout(10_000, 'the subscriber did not stop after abort')]);
        }

        assert.equal(seen.length, expected, 'every event exactly once');
        assert.equal(new Set(seen.map((e) => e.eventId)).size, expected, 'no duplicates');
        assertStrictlyIncreasing(seen.map((e) => e.position));
        const perStream = new Map<string, bigint[]>();
        for (const e of seen) perStream.set(e.streamId, [...(perStream.get(e.streamId) ?? []), e.streamRevision]);
        for (const [s, revisions] of perStream) {
          assert.deepEqual(revisions, revisions.map((_, i) => BigInt(i)), `stream ${s} in revision order`);
        }
      });

      it('continues with live appends after catching up', async () => {
        const facade = createEventStore(store);
        const s = stream();
        const controller = new AbortController();
        const got: StoredRecord[] = [];
        let caughtUp!: () => void;
        const isCaughtUp = new Promise<void>((r) => (caughtUp = r));
        const sub = facade.subscribeToAll({
          after: await store.headPosition(),
          pollIntervalMs: 10,
          signal: controller.signal,
          onCaughtUp: () => caughtUp(),
          onBatch: async (batch) => {
            got.push(...batch.filter((e) => e.streamId === s));
            if (got.length === 3) controller.abort();
          },
        });
        try {
          await Promise.race([isCaughtUp, timeout(20_000, 'the subscriber never caught up')]);
          await store.append(s, [raw(1)], 'no_stream');
          await store.append(s, [raw(2), raw(3)], 0n);
          await Promise.race([sub, timeout(20_000, `live subscriber got ${got.length}/3`)]);
        } finally {
          controller.abort();
          await Promise.race([sub.catch(() => undefined), timeout(10_000, 'the subscriber did not stop after abort')]);
        }
        assert.deepEqual(got.map((e) => JSON.parse(e.data).n), [1, 2, 3]);
      });
    });

    describe('hash chain', () => {
      it('chains every event of a stream to the previous one, over the stored bytes', async () => {
        const s = stream();
        await store.append(s, [raw(1), raw(2)], 'no_stream');
        await store.append(s, [raw(3)], 1n);
        const records = await store.readStream(s);
        assert.equal(records[0]!.prevHash, '');
        assert.equal(records[1]!.prevHash, records[0]!.hash);
        for (const r of records) assert.equal(r.hash, chainHash(r), 'the store and the verifier agree on the hash');
        assert.equal(verifyChain(records), undefined);
        const tampered = records.map((r, i) => (i === 1 ? { ...r, data: r.data.replace('2', '9') } : r));
        assert.equal(verifyChain(tampered)?.streamRevision, 1n);
      });

      it('a rewritten event whose own hash was recomputed breaks the link to the next one', async () => {
        const s = stream();
        await store.append(s, [raw(1), raw(2), raw(3)], 'no_stream');
        const records = await store.readStream(s);
        // The forger rewrites revision 1 and makes its hash match its new content: on its own it verifies.
        const forged = { ...records[1]!, data: JSON.stringify({ n: 999, seq: -1 }) };
        const selfConsistent = { ...forged, hash: chainHash(forged) };
        const broken = verifyChain([records[0]!, selfConsistent, records[2]!]);
        assert.deepEqual(broken, { streamId: s, streamRevision: 2n, reason: 'previous hash does not match' });
      });
    });
  });
}

class StopSubscription extends Error {}

let sequence = 0;
/** A raw record; the adapter contract is about bytes, the facade tests are about schemas. */
export function raw(n: number, occurredAt = new Date().toISOString()): EventToStore {
  return {
    eventId: uuidv7(),
    type: 'ContractTestEvent',
    schemaVersion: 1,
    data: JSON.stringify({ n, seq: sequence++ }),
    metadata: JSON.stringify({ tenantId: 'contract', occurredAt }),
  };
}

async function rejects(p: Promise<unknown>): Promise<WrongExpectedRevisionError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof WrongExpectedRevisionError, `expected WrongExpectedRevisionError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the append to be refused');
}

async function rejectsDuplicate(p: Promise<unknown>, what = 'a duplicate id'): Promise<DuplicateEventIdError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof DuplicateEventIdError, `${what}: expected DuplicateEventIdError, got ${String(e)}`);
    assert.equal(e.code, 'EVENTSTORE_ERR_DUPLICATE_EVENT_ID');
    return e;
  }
  assert.fail(`${what}: expected the append to be refused`);
}

async function readAllFrom(store: EventStoreAdapter, after: bigint | undefined): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  let cursor = after;
  for (;;) {
    const page = await store.readAll({ after: cursor, maxCount: 500 });
    if (page.length === 0) return out;
    out.push(...page);
    cursor = page[page.length - 1]!.position;
  }
}

function assertStrictlyIncreasing(positions: readonly bigint[]): void {
  for (let i = 1; i < positions.length; i++) {
    assert.ok(positions[i]! > positions[i - 1]!, `position ${positions[i]} at index ${i} is not after ${positions[i - 1]}`);
  }
}

function timeout(ms: number, what: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms).unref());
}

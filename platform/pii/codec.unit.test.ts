import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { RawStoredEvent } from '../../schemas/events/registry.js';
import { openPglite, pgliteClient, type SqlClient } from '../sql/client.js';
import { ERASED, createPiiCodec, type EventToEncode, type PiiCodec } from './codec.js';
import { PiiError } from './errors.js';
import { sqlKeyStore, type KeyStore } from './key-store.js';
import { parseMasterKey } from './master-key.js';
import { countingClient, hostileStrings } from './testing.js';

const master = parseMasterKey(randomBytes(32).toString('hex'));

/** A LeadCaptured as the facade would hand it over, for a fresh lead (its own subject and stream). */
function leadCaptured(overrides: Partial<Record<string, unknown>> = {}, tenantId = 'acme'): EventToEncode {
  const leadId = randomUUID();
  return {
    streamId: `lead-${leadId}`,
    eventId: randomUUID(),
    type: 'LeadCaptured',
    schemaVersion: 1,
    data: { leadId, name: 'Ada Lovelace', email: 'ada@example.com', source: 'web', capturedAt: '2026-11-30T10:00:00.000Z', ...overrides },
    metadata: { tenantId, subjectId: leadId },
  };
}

let revisionCounter = 0n;
/** What an adapter returns for an encoded event: JSON text, as stored. */
function stored(e: EventToEncode, data: unknown, at: Partial<RawStoredEvent> = {}): RawStoredEvent {
  return {
    eventId: e.eventId,
    type: e.type,
    schemaVersion: e.schemaVersion,
    streamId: e.streamId,
    streamRevision: 0n,
    position: ++revisionCounter,
    data: JSON.stringify(data),
    metadata: JSON.stringify({ ...e.metadata, actor: { userId: 'u', roles: ['sales'] }, correlationId: 'c', causationId: 'c', occurredAt: '2026-11-30T10:00:00.000Z' }),
    ...at,
  };
}

const rejectsWith = (code: string, check: (e: PiiError) => void = () => {}) => (e: unknown) => {
  assert.ok(e instanceof PiiError, `expected a PiiError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  check(e);
  return true;
};

describe('PII codec (encode at append, decode at read) on PGlite', () => {
  let db: SqlClient;
  let keys: KeyStore;
  let codec: PiiCodec;
  before(async () => {
    db = pgliteClient(await openPglite());
    keys = await sqlKeyStore(db, { masterKey: master, cacheTtlMs: 0 });
    codec = createPiiCodec({ keyStore: keys });
  });
  after(() => db.close());

  for (const format of ['v2', 'v1'] as const) {
    describe(`format ${format}`, () => {
      let codec: PiiCodec;
      const sealed = new RegExp(`^pii:${format}:`);
      before(() => {
        codec = createPiiCodec({ keyStore: keys, format });
      });

    it('encrypts exactly the personal fields and round-trips hostile strings byte-exact', async () => {
      for (const s of hostileStrings) {
        const e = leadCaptured({ name: s, notes: s });
        const original = structuredClone(e.data);
        const data = (await codec.encode(e)) as Record<string, unknown>;
        assert.deepEqual(e.data, original, 'the caller\'s event is not mutated');
        // Personal fields are ciphertext; the rest is untouched.
        for (const f of ['name', 'email', 'notes']) assert.match(String(data[f]), sealed);
        assert.equal(data.source, 'web');
        assert.equal(data.leadId, (e.data as { leadId: string }).leadId);
        assert.ok(!JSON.stringify(data).includes('ada@example.com'));
        const out = await codec.decode(stored(e, data));
        assert.deepEqual(out.data, e.data);
        assert.equal((out.data as { name: string }).name, s);
        assert.equal(out.erased, false);
      }
    });

    it('encrypts record values and array elements one by one, bound to their concrete key or index', async () => {
      const contactId = randomUUID();
      const e: EventToEncode = {
        streamId: `contact-${contactId}`,
        eventId: randomUUID(),
        type: 'ContactCreated',
        schemaVersion: 2,
        data: { contactId, firstName: 'Grace', lastName: 'Hopper', customFields: { vip: 'yes 👑', 'note.1': '' }, tags: ['navy'] },
        metadata: { tenantId: 'acme', subjectId: contactId },
      };
      const data = (await codec.encode(e)) as { customFields: Record<string, string>; tags: string[] };
      assert.match(data.customFields.vip!, sealed);
      assert.deepEqual(data.tags, ['navy'], 'tags are not personal');
      assert.deepEqual((await codec.decode(stored(e, data))).data, e.data);
      // Swapping two custom field values breaks both.
      const swapped = { ...data, customFields: { vip: data.customFields['note.1'], 'note.1': data.customFields.vip } };
      await assert.rejects(codec.decode(stored(e, swapped)), rejectsWith('PII_ERR_CIPHERTEXT_INVALID'));
    });

    it('JSON-encodes non-string personal values and gives them back with their type', async () => {
      const typed = createPiiCodec({ keyStore: keys, format, personalPathsOf: () => [['profile'], ['scores', '*']] });
      const e: EventToEncode = { ...leadCaptured(), data: { profile: { age: 36, langs: ['en', 'fr'], nil: null }, scores: [1, 2.5, -0, true], plain: 7 } };
      const data = (await typed.encode(e)) as { profile: string; scores: string[]; plain: number };
      assert.match(data.profile, sealed);
      assert.equal(data.scores.length, 4);
      assert.equal(data.plain, 7);
      assert.deepEqual((await typed.decode(stored(e, data))).data, { profile: { age: 36, langs: ['en', 'fr'], nil: null }, scores: [1, 2.5, 0, true], plain: 7 });
    });

    it('copies only the containers on a personal path: the caller\'s nested objects are never written, the rest is shared', async () => {
      const typed = createPiiCodec({ keyStore: keys, format, personalPathsOf: () => [['contacts', '*', 'email'], ['contacts', '*', 'phones', '*'], ['owner', 'name']] });
      const shared = { tags: ['a', 'b'], nested: { deep: true } };
      const data = {
        contacts: [
          { email: 'x@example.com', phones: ['+1 555', '+1 556'], role: 'buyer' },
          { email: 'y@example.com', phones: [], role: 'user' },
        ],
        owner: { name: 'Grace', team: 'north' },
        meta: shared,
        gone: undefined,
      };
      const before = structuredClone(data);
      const e: EventToEncode = { ...leadCaptured(), data };
      const out = (await typed.encode(e)) as typeof data;
      assert.deepEqual(data, before, 'nothing of the caller\'s object was written, at any depth');
      assert.equal(out.meta, shared, 'a container off every personal path is shared, not copied');
      assert.notEqual(out.contacts, data.contacts);
      assert.notEqual(out.contacts[0]!.phones, data.contacts[0]!.phones);
      for (const v of [out.contacts[0]!.email, out.contacts[1]!.email, ...out.contacts[0]!.phones, out.owner.name]) assert.match(String(v), sealed);
      assert.equal(out.contacts[0]!.role, 'buyer');
      assert.equal(out.owner.team, 'north');
      const back = (await typed.decode(stored(e, out))).data;
      assert.deepEqual(back, JSON.parse(JSON.stringify(data)), 'a reader gets back what was given, as JSON');
    });

    it('keeps a record key "__proto__" a plain property through encode and decode', async () => {
      const typed = createPiiCodec({ keyStore: keys, format, personalPathsOf: () => [['m', '*']] });
      const m = JSON.parse('{"__proto__": {"polluted": true}, "a": "y"}') as Record<string, unknown>;
      const e: EventToEncode = { ...leadCaptured(), data: { m } };
      const data = (await typed.encode(e)) as { m: Record<string, unknown> };
      assert.deepEqual(Object.keys(data.m), ['__proto__', 'a']);
      assert.match(String(Object.getOwnPropertyDescriptor(data.m, '__proto__')?.value), sealed);
      const out = (await typed.decode(stored(e, data))).data as { m: Record<string, unknown> };
      assert.deepEqual(Object.getOwnPropertyDescriptor(out.m, '__proto__')?.value, { polluted: true });
      assert.equal(Object.getPrototypeOf(out.m), Object.prototype);
      assert.equal((out.m as { polluted?: unknown }).polluted, undefined);
    });

    it('a ciphertext moved to another field, event, stream or subject fails with a typed error naming stream, revision and field', async () => {
      const e = leadCaptured();
      const data = (await codec.encode(e)) as Record<string, string>;
      const other = leadCaptured();
      const otherData = (await codec.encode(other)) as Record<string, string>;
      // v1 names the very field; v2 seals an event's fields together (one tag), so when the seal fails as a
      // whole it names the event's sealed fields (the first, canonical order, as the coordinate), and names
      // the exact field only when that value carries another event's seal.
      const group = ['data.email', 'data.name'];
      const cases: [string, RawStoredEvent, string, string[] | undefined][] = [
        ['another field', stored(e, { ...data, email: data.name }, { streamRevision: 3n }), 'data.email', format === 'v2' ? group : undefined],
        ['another event of the same stream', stored({ ...e, eventId: randomUUID() }, data, { streamRevision: 4n }), format === 'v2' ? 'data.email' : 'data.name', format === 'v2' ? group : undefined],
        ['another stream (same subject)', stored({ ...e, streamId: `lead-${randomUUID()}` }, data, { streamRevision: 5n }), format === 'v2' ? 'data.email' : 'data.name', format === 'v2' ? group : undefined],
        ['another subject (same stream)', stored({ ...e, metadata: { ...e.metadata, subjectId: other.metadata.subjectId } }, data, { streamRevision: 6n }), format === 'v2' ? 'data.email' : 'data.name', format === 'v2' ? group : undefined],
        ["another subject's value pasted in", stored(e, { ...data, name: otherData.name }, { streamRevision: 7n }), 'data.name', undefined],
      ];
      for (const [what, record, field, fields] of cases) {
        await assert.rejects(
          codec.decode(record),
          rejectsWith('PII_ERR_CIPHERTEXT_INVALID', (err) => {
            assert.equal(err.coordinates.streamId, record.streamId, what);
            assert.equal(err.coordinates.streamRevision, record.streamRevision, what);
            assert.equal(['data', ...err.coordinates.path!].join('.'), field, what);
            assert.match(err.message, new RegExp(`stream ${record.streamId}.*revision ${record.streamRevision}.*field ${field.replace('.', '\\.')}`), what);
            assert.deepEqual(err.details.fields, fields, what);
            for (const f of fields ?? []) assert.ok(err.message.includes(f), `${what}: the message names ${f}`);
          }),
          what,
        );
      }
    });

    it('a tampered ciphertext (one bit flipped) throws, naming stream, revision and field; it is never read as erased', async () => {
      const e = leadCaptured();
      const data = (await codec.encode(e)) as Record<string, string>;
      const [, , iv, body, tag] = data.email!.split(':') as string[];
      const bytes = Buffer.from(body!, 'base64url');
      bytes[0]! ^= 0x01;
      const forged = { ...data, email: `pii:${format}:${iv}:${bytes.toString('base64url')}:${tag}` };
      await assert.rejects(
        codec.decode(stored(e, forged, { streamRevision: 12n })),
        rejectsWith('PII_ERR_CIPHERTEXT_INVALID', (err) => {
          // (v2: email is also the first of the event's sealed fields, the coordinate a failed seal reports.)
          assert.deepEqual(err.coordinates, { streamId: e.streamId, streamRevision: 12n, eventId: e.eventId, path: ['email'] });
          assert.ok(!err.message.includes('ada@example.com'));
        }),
      );
      // A format version this code does not know is its own error (upgrade the reader), not a forgery.
      const unknown = { ...data, email: 'pii:v9:abc' };
      await assert.rejects(codec.decode(stored(e, unknown)), rejectsWith('PII_ERR_CIPHERTEXT_UNSUPPORTED'));
    });

    it('a destroyed key yields erased markers per field, never an exception; other subjects in the batch decode', async () => {
      const gone = leadCaptured({ phone: '+44 20 7946 0000', notes: 'met at Bletchley' });
      const kept = leadCaptured();
      const goneData = await codec.encode(gone);
      const keptData = await codec.encode(kept);
      await keys.destroy({ tenantId: 'acme', subjectId: gone.metadata.subjectId! }, { actor: 'dpo', reason: 'erasure' });
      const [a, b] = await codec.decodeAll([stored(gone, goneData), stored(kept, keptData)]);
      assert.equal(a!.erased, true);
      assert.deepEqual(a!.erasedPaths, [['name'], ['email'], ['phone'], ['notes']]);
      const d = a!.data as Record<string, unknown>;
      for (const f of ['name', 'email', 'phone', 'notes']) assert.equal(d[f], ERASED);
      assert.equal(d.source, 'web', 'non-personal fields survive erasure');
      assert.deepEqual(b!.data, kept.data);
      assert.equal(b!.erased, false);
      // And nothing new may be written for the erased subject (the write side maps this to 410 Gone).
      await assert.rejects(codec.encode({ ...gone, eventId: randomUUID() }), rejectsWith('PII_ERR_SUBJECT_ERASED'));
    });

    it('reports plaintext where a ciphertext is expected (a store written before encryption): error by default, flag on request', async () => {
      const e = leadCaptured();
      const enc = (await codec.encode(e)) as Record<string, string>;
      const mixed = { ...enc, email: 'ada@example.com' };
      await assert.rejects(
        codec.decode(stored(e, mixed, { streamRevision: 2n })),
        rejectsWith('PII_ERR_PLAINTEXT_FOUND', (err) => {
          assert.deepEqual(err.coordinates.path, ['email']);
          assert.ok(!err.message.includes('ada@example.com'), 'the error never carries the personal value');
        }),
      );
      // An old store entirely in clear also fails loudly by default ...
      await assert.rejects(codec.decode(stored(e, e.data)), rejectsWith('PII_ERR_PLAINTEXT_FOUND'));
      // ... and a migration tool may ask for a flag instead.
      const lenient = createPiiCodec({ keyStore: keys, format, onPlaintext: 'flag' });
      const clear = await lenient.decode(stored(e, e.data));
      assert.deepEqual(clear.plaintextPaths, [['name'], ['email']]);
      assert.deepEqual(clear.data, e.data);
      if (format === 'v1') {
        const out = await lenient.decode(stored(e, mixed));
        assert.deepEqual(out.plaintextPaths, [['email']]);
        assert.deepEqual(out.data, e.data);
      } else {
        // v2: a value missing from an event's seal is a tampered event, whatever replaced it.
        await assert.rejects(lenient.decode(stored(e, mixed)), rejectsWith('PII_ERR_CIPHERTEXT_INVALID'));
      }
    });
    });
  }

  it('refuses personal data for an event that names no subject, at encode and at decode', async () => {
    const e = leadCaptured();
    const noSubject = { ...e, metadata: { tenantId: 'acme' } };
    await assert.rejects(codec.encode(noSubject), rejectsWith('PII_ERR_NO_SUBJECT'));
    const data = await codec.encode(e);
    await assert.rejects(codec.decode(stored(noSubject, data)), rejectsWith('PII_ERR_NO_SUBJECT'));
    // No personal value present: nothing to encrypt, no subject needed.
    const deal = { streamId: 'deal-1', eventId: randomUUID(), type: 'DealWon', schemaVersion: 1, data: { dealId: randomUUID() }, metadata: { tenantId: 'acme' } };
    assert.deepEqual(await codec.encode(deal), deal.data);
  });

  it('decodes a batch of many subjects with ONE key statement', async () => {
    const events = Array.from({ length: 60 }, (_, i) => leadCaptured({ notes: `n${i}` }, `tenant-${i % 3}`));
    const records = await Promise.all(events.map(async (e) => stored(e, await codec.encode(e))));
    const { client, statements } = countingClient(db);
    const fresh = createPiiCodec({ keyStore: await sqlKeyStore(client, { masterKey: master, migrate: false }) });
    const out = await fresh.decodeAll(records);
    assert.equal(statements.length, 1, statements.join('\n---\n'));
    assert.deepEqual(out.map((o) => o.data), events.map((e) => e.data));
  });

  it('decodes a batch with pauses between records (a projector leaving its event loop free): the same records, still ONE key statement', async () => {
    const events = Array.from({ length: 40 }, (_, i) => leadCaptured({ notes: `p${i}` }));
    const records = await Promise.all(events.map(async (e, i) => ({ ...stored(e, await codec.encode(e)), hash: `h${i}`, extra: i })));
    await keys.destroy({ tenantId: 'acme', subjectId: events[7]!.metadata.subjectId! }, { actor: 'dpo', reason: 'erasure' });
    const { client, statements } = countingClient(db);
    const fresh = createPiiCodec({ keyStore: await sqlKeyStore(client, { masterKey: master, migrate: false }) });
    let pauses = 0;
    let turns = 0;
    const ticking = setInterval(() => turns++, 0);
    try {
      const out = await fresh.decodeAll(records, { pause: () => (++pauses % 5 === 0 ? new Promise<void>((resolve) => setTimeout(resolve, 1)) : undefined) });
      assert.equal(statements.length, 1, statements.join('\n---\n'));
      assert.ok(pauses >= 2 * records.length, `pause asked between records while parsing and while decrypting (${pauses})`);
      assert.ok(turns > 0, 'the event loop ran while the batch was decoded');
      out.forEach((o, i) => {
        const { metadata: _m, data: _d, ...envelope } = records[i]!;
        assert.deepEqual({ ...o, metadata: undefined, data: undefined, erased: undefined, erasedPaths: undefined, plaintextPaths: undefined }, { ...envelope, metadata: undefined, data: undefined, erased: undefined, erasedPaths: undefined, plaintextPaths: undefined }, 'every other field of the record, as given');
        if (i === 7) assert.equal((o.data as { name: string }).name, ERASED);
        else assert.deepEqual(o.data, events[i]!.data);
      });
    } finally {
      clearInterval(ticking);
    }
  });

  it('a codec in another process with the key cached stops decrypting within the cache TTL (two key stores, one database)', async () => {
    let t = 0;
    const other = createPiiCodec({ keyStore: await sqlKeyStore(db, { masterKey: master, cacheTtlMs: 500, now: () => t, migrate: false }) });
    const e = leadCaptured();
    const r = stored(e, await codec.encode(e));
    assert.equal((await other.decode(r)).erased, false);
    await keys.destroy({ tenantId: 'acme', subjectId: e.metadata.subjectId! }, { actor: 'dpo', reason: 'erasure' });
    t += 499;
    assert.equal((await other.decode(r)).erased, false, 'within the documented bound');
    t += 1;
    const after = await other.decode(r);
    assert.equal(after.erased, true);
    assert.equal((after.data as { name: string }).name, ERASED);
  });
});

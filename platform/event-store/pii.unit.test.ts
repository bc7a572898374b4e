import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { ERASED_MARKER } from '../../schemas/events/opaque-personal.js';
import { EventSchemaError } from '../../schemas/events/errors.js';
import { openPglite, pgliteClient, type SqlClient } from '../sql/client.js';
import { createPiiCodec, ERASED, type PiiCodec } from '../pii/codec.js';
import { PiiError, PiiErrorCode } from '../pii/errors.js';
import { sqlKeyStore, type KeyStore } from '../pii/key-store.js';
import { parseMasterKey } from '../pii/master-key.js';
import { createEventStore, type EventStore } from './event-store.js';
import { postgresEventStore } from './postgres/adapter.js';
import { assertStoreEncryption, checkSealedRecord, StoreEncryptionMismatchError } from './read-events.js';

/**
 * The GDPR seam wired into the event-store facade (issue 10): personal fields are ciphertext in the
 * stored rows and on the bus, plaintext through every reader, "[erased]" once the key is destroyed, and
 * a tampered ciphertext is a typed error naming stream, revision and field.
 */
const meta = (subjectId: string, tenantId = 'acme') => ({
  tenantId,
  actor: { userId: 'u-1', roles: ['sales' as const] },
  correlationId: 'corr-1',
  causationId: 'cause-1',
  occurredAt: '2026-11-21T10:00:00.000Z',
  subjectId,
});
// Values chosen to be greppable in raw bytes, plus hostile but storable text (astral, RTL override, emoji sequences, quotes).
const personal = {
  name: 'Zelda Quux-Plaintext 𝔘𝔫𝔦 \u202Eevil\u202C',
  email: 'zelda.plaintext@example.com',
  phone: '+33 6 12 34 56 78',
  notes: 'Secret notes 👩🏽‍💻👨‍👩‍👧‍👦 "quoted" \\ back',
};
const captured = (leadId: string, tenantId = 'acme') => ({
  type: 'LeadCaptured',
  data: { leadId, ...personal, source: 'web', capturedAt: '2026-11-21T10:00:00.000Z' },
  metadata: meta(leadId, tenantId),
});
const plaintextValues = Object.values(personal);

async function rawRows(sql: SqlClient, streamId: string): Promise<string[]> {
  const { rows } = await sql.query<{ row: string }>(`SELECT row_to_json(e)::text AS row FROM annals_events e WHERE stream_id = $1 ORDER BY stream_revision`, [streamId]);
  return rows.map((r) => r.row);
}

function assertNoPlaintext(texts: readonly string[], what: string): void {
  for (const t of texts) {
    for (const v of plaintextValues) {
      // JSON may escape non-ASCII; check both the value and its JSON form.
      assert.ok(!t.includes(v) && !t.includes(JSON.stringify(v).slice(1, -1)), `${what} holds the plaintext ${JSON.stringify(v)}`);
    }
    for (const fragment of ['Zelda', 'zelda.plaintext', '12 34 56', 'Secret notes']) assert.ok(!t.includes(fragment), `${what} holds ${fragment}`);
  }
}

describe('event store facade with the PII codec', { timeout: 60_000 }, () => {
  let sql: SqlClient;
  let keySql: SqlClient;
  let keyStore: KeyStore;
  let codec: PiiCodec;
  let store: EventStore;

  before(async () => {
    sql = pgliteClient(await openPglite());
    keySql = pgliteClient(await openPglite());
    keyStore = await sqlKeyStore(keySql, { masterKey: parseMasterKey(randomBytes(32).toString('base64')), cacheTtlMs: 0 });
    codec = createPiiCodec({ keyStore });
    store = createEventStore(await postgresEventStore(sql), { codec });
  });
  after(async () => {
    await store.close();
    await keySql.close();
  });

  it('the erased marker of the codec is the one the schemas relax for', () => {
    assert.equal(ERASED, ERASED_MARKER);
  });

  it('stores ciphertext for every personal field (the raw row holds none of the values) and reads back exact', async () => {
    const id = uuidv7();
    await store.append(`lead-${id}`, [captured(id)], { expectedRevision: 'no_stream' });
    const rows = await rawRows(sql, `lead-${id}`);
    assert.equal(rows.length, 1);
    assertNoPlaintext(rows, 'the stored row');
    const [raw] = await store.readStreamRaw(`lead-${id}`);
    const data = JSON.parse(raw!.data as string) as Record<string, unknown>;
    // pii:v2: the event's values sealed together (one IV and tag), each at its own path.
    for (const k of Object.keys(personal)) assert.match(String(data[k]), /^pii:v2:/, `data.${k} is a ciphertext`);
    assert.equal(data.source, 'web', 'non-personal fields stay in clear');
    assert.equal(data.leadId, id);

    const [e] = await store.readStream(`lead-${id}`);
    assert.equal(e?.type, 'LeadCaptured');
    assert.deepEqual(e.type === 'LeadCaptured' && { name: e.data.name, email: e.data.email, phone: e.data.phone, notes: e.data.notes }, personal);
    assert.equal(e.erased, undefined);
    const all = (await store.readAll()).filter((x) => x.streamId === `lead-${id}`);
    assert.deepEqual(all, [e]);
  });

  it('the relay check still refuses a bad non-personal field (it validates everything but the ciphertexts)', async () => {
    const id = uuidv7();
    const [stored] = await toStored(store, id);
    const data = JSON.parse(stored!.data as string) as Record<string, unknown>;
    const record = { ...stored!, streamId: `lead-${id}`, streamRevision: 0n, position: 1n, data: JSON.stringify({ ...data, source: 'carrier-pigeon' }) };
    assert.throws(() => checkSealedRecord(record), (e: unknown) => e instanceof EventSchemaError && e.issues.some((i) => i.field === 'data.source'));
    assert.doesNotThrow(() => checkSealedRecord({ ...record, data: stored!.data }));
  });

  it('a destroyed key: every read gives "[erased]" markers with erased: true and the paths, no exception; other subjects unaffected', async () => {
    const gone = uuidv7();
    const kept = uuidv7();
    await store.append(`lead-${gone}`, [captured(gone)]);
    await store.append(`lead-${kept}`, [captured(kept)]);
    // Another tenant reusing the same subject id has its own key: erasing one never erases the other.
    await store.append(`lead-${gone}-other`, [captured(gone, 'globex')]);
    await keyStore.destroy({ tenantId: 'acme', subjectId: gone }, { actor: 'dpo', reason: 'request #1' });

    const [e] = await store.readStream(`lead-${gone}`);
    assert.equal(e?.type, 'LeadCaptured');
    assert.equal(e.erased, true);
    assert.deepEqual(e.type === 'LeadCaptured' && { name: e.data.name, email: e.data.email, phone: e.data.phone, notes: e.data.notes }, {
      name: ERASED,
      email: ERASED,
      phone: ERASED,
      notes: ERASED,
    });
    assert.deepEqual([...(e.erasedPaths ?? [])].map((p) => p.join('.')).sort(), ['email', 'name', 'notes', 'phone']);
    assert.equal(e.type === 'LeadCaptured' && e.data.source, 'web');

    const outcomes = await store.reader.read(await store.adapter.readAll({}));
    assert.ok(outcomes.every((o) => o.ok), 'a batch with an erased subject reads without any error');
    const [k] = await store.readStream(`lead-${kept}`);
    assert.equal(k?.type === 'LeadCaptured' && k.data.email, personal.email);
    const [other] = await store.readStream(`lead-${gone}-other`);
    assert.equal(other?.tenantId, 'globex');
    assert.equal(other.type === 'LeadCaptured' && other.data.email, personal.email);
  });

  it('writing personal data for an erased subject is refused with PII_ERR_SUBJECT_ERASED', async () => {
    const id = uuidv7();
    await store.append(`lead-${id}`, [captured(id)]);
    await keyStore.destroy({ tenantId: 'acme', subjectId: id }, { actor: 'dpo', reason: 'request #2' });
    await assert.rejects(store.append(`lead-${id}`, [captured(id)]), (e: unknown) => e instanceof PiiError && e.code === PiiErrorCode.SubjectErased);
  });

  it('a tampered ciphertext is a typed error naming stream, revision and field — never erased — and only that record fails its batch', async () => {
    const id = uuidv7();
    const good = uuidv7();
    await store.append(`lead-${id}`, [captured(id)]);
    await store.append(`lead-${good}`, [captured(good)]);
    const [raw] = await store.readStreamRaw(`lead-${id}`);
    const data = JSON.parse(raw!.data as string) as Record<string, string>;
    const c = data.email!;
    // One character of the body changed (stays base64url): authentication must fail.
    const i = c.length - 30;
    data.email = c.slice(0, i) + (c[i] === 'A' ? 'B' : 'A') + c.slice(i + 1);
    await sql.query(`UPDATE annals_events SET data = $1 WHERE stream_id = $2`, [JSON.stringify(data), `lead-${id}`]);
    await assert.rejects(store.readStream(`lead-${id}`), (e: unknown) => {
      assert.ok(e instanceof PiiError, String(e));
      assert.equal(e.code, PiiErrorCode.CiphertextInvalid);
      assert.equal(e.coordinates.streamId, `lead-${id}`);
      assert.equal(e.coordinates.streamRevision, 0n);
      // One seal per event (pii:v2): the error names the fields sealed together; the coordinate is the first.
      assert.deepEqual(e.coordinates.path, ['email']);
      assert.deepEqual(e.details.fields, ['data.email', 'data.name', 'data.notes', 'data.phone']);
      assert.match(e.message, new RegExp(`stream lead-${id}, revision 0, .*field data\\.email`));
      return true;
    });
    const both = [...(await store.readStreamRaw(`lead-${id}`)), ...(await store.readStreamRaw(`lead-${good}`))];
    const outcomes = await store.reader.read(both);
    assert.equal(outcomes[0]!.ok, false);
    assert.ok(!outcomes[0]!.ok && outcomes[0]!.error instanceof PiiError && outcomes[0]!.error.code === PiiErrorCode.CiphertextInvalid);
    assert.equal(outcomes[1]!.ok && outcomes[1]!.event.type === 'LeadCaptured' && outcomes[1]!.event.data.email, personal.email);
  });

  it('a key store that cannot answer is not the record\'s fault: the batch read rejects (retry), nothing is dead-lettered', async () => {
    const broken = createEventStore(store.adapter, {
      codec: createPiiCodec({
        keyStore: { ...keyStore, lookup: () => Promise.reject(new Error('connection terminated')) },
      }),
    });
    const records = await store.adapter.readAll({ maxCount: 5 });
    await assert.rejects(broken.reader.read(records), /connection terminated/);
  });
});

describe('start-up check: a store is never mixed plaintext and ciphertext', { timeout: 60_000 }, () => {
  it('refuses to open a store written in clear with encryption on, and an encrypted one with it off', async () => {
    const keySql = pgliteClient(await openPglite());
    const codec = createPiiCodec({ keyStore: await sqlKeyStore(keySql, { masterKey: parseMasterKey(randomBytes(32).toString('hex')) }) });
    const plainSql = pgliteClient(await openPglite());
    const plain = createEventStore(await postgresEventStore(plainSql));
    const encSql = pgliteClient(await openPglite());
    const enc = createEventStore(await postgresEventStore(encSql), { codec });
    try {
      // Empty stores, and stores whose first events hold nothing personal, open either way.
      await assertStoreEncryption(plain.adapter, true);
      await plain.append('checkpoint-x', [{ type: 'ProcessorCheckpointed', data: { processor: 'x', position: '1' }, metadata: meta(uuidv7()) }]);
      await assertStoreEncryption(plain.adapter, true);

      const id = uuidv7();
      await plain.append(`lead-${id}`, [captured(id)]);
      await enc.append(`lead-${id}`, [captured(id)]);
      await assert.rejects(assertStoreEncryption(plain.adapter, true), (e: unknown) => {
        assert.ok(e instanceof StoreEncryptionMismatchError);
        assert.equal(e.code, 'EVENTSTORE_ERR_ENCRYPTION_MISMATCH');
        assert.match(e.message, /in clear.*refusing to start/);
        assert.match(e.message, new RegExp(`lead-${id}`));
        return true;
      });
      await assertStoreEncryption(plain.adapter, false);
      await assertStoreEncryption(enc.adapter, true);
      await assert.rejects(assertStoreEncryption(enc.adapter, false), /PII_ENCRYPTION=off: refusing to start/);
      // And without the start-up check, a plaintext store read through the codec still fails loudly.
      const mixed = createEventStore(plain.adapter, { codec });
      await assert.rejects(mixed.readStream(`lead-${id}`), (e: unknown) => e instanceof PiiError && e.code === PiiErrorCode.PlaintextFound);
    } finally {
      await plain.close();
      await enc.close();
      await keySql.close();
    }
  });
});

/** The records `store` would store for a LeadCaptured of `id` (encrypted), ready for another adapter. */
async function toStored(store: EventStore, id: string) {
  await store.append(`lead-${id}`, [captured(id)]);
  const [r] = await store.readStreamRaw(`lead-${id}`);
  return [{ eventId: r!.eventId, type: r!.type, schemaVersion: r!.schemaVersion, data: r!.data as string, metadata: typeof r!.metadata === 'string' ? r!.metadata : JSON.stringify(r!.metadata) }];
}

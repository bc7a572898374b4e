import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { openPglite, pgliteClient, type SqlClient } from '../sql/client.js';
import { unwrapKey } from './cipher.js';
import { PiiError } from './errors.js';
import { rotateMasterKey, sqlKeyStore, subjectKey, type DataKey, type KeyStore, type SqlKeyStoreOptions } from './key-store.js';
import { parseMasterKey, type MasterKey } from './master-key.js';
import { countingClient } from './testing.js';

const newMaster = (): MasterKey => parseMasterKey(randomBytes(32).toString('base64url'));
const ref = (tenantId = `t-${randomUUID()}`, subjectId = randomUUID()) => ({ tenantId, subjectId });

const isCode = (code: string) => (e: unknown) => {
  assert.ok(e instanceof PiiError, `expected a PiiError, got ${String(e)}`);
  assert.equal(e.code, code);
  return true;
};

describe('key store on PGlite', () => {
  let db: SqlClient;
  const master = newMaster();
  const open = (options: Partial<SqlKeyStoreOptions> = {}, client: SqlClient = db): Promise<KeyStore> =>
    sqlKeyStore(client, { masterKey: master, ...options });

  before(async () => {
    db = pgliteClient(await openPglite());
  });
  after(() => db.close());

  it('creates one key per subject, the same for every instance, and separate per tenant', async () => {
    const a = await open();
    const b = await open();
    const s = ref();
    const k1 = await a.getOrCreate(s);
    assert.ok(k1.equals(await a.getOrCreate(s)));
    assert.ok(k1.equals(await b.getOrCreate(s)), 'a second instance reads the same key');
    // The same subject id in another tenant (ids can be imported) never shares the key.
    const other = await a.getOrCreate({ tenantId: `${s.tenantId}-other`, subjectId: s.subjectId });
    assert.ok(!k1.equals(other));
    const { rows } = await db.query<{ wrapped_key: string }>(`SELECT wrapped_key FROM pii_data_keys WHERE tenant_id = $1`, [s.tenantId]);
    assert.equal(rows.length, 1);
    assert.ok(!rows[0]!.wrapped_key.includes(k1.toString('base64url')), 'the key is stored wrapped, not in clear');
  });

  it('destroys once: the row is deleted, the tombstone records time/actor/reason, a second destroy returns the first record', async () => {
    let t = Date.parse('2026-11-30T12:00:00.000Z');
    const ks = await open({ now: () => t });
    const s = ref();
    await ks.getOrCreate(s);
    const first = await ks.destroy(s, { actor: 'dpo-1', reason: 'Art. 17 request #42' });
    assert.deepEqual(first, { ...s, destroyedAt: '2026-11-30T12:00:00.000Z', actor: 'dpo-1', reason: 'Art. 17 request #42', keyExisted: true });
    t += 60_000;
    const again = await ks.destroy(s, { actor: 'admin-2', reason: 'retry' });
    assert.deepEqual(again, first, 'idempotent: the first destruction record, not a new one');
    assert.deepEqual(await ks.destruction(s), first);
    const keys = await db.query(`SELECT 1 FROM pii_data_keys WHERE tenant_id = $1 AND subject_id = $2`, [s.tenantId, s.subjectId]);
    assert.equal(keys.rows.length, 0);
    const tombs = await db.query(`SELECT 1 FROM pii_key_tombstones WHERE tenant_id = $1 AND subject_id = $2`, [s.tenantId, s.subjectId]);
    assert.equal(tombs.rows.length, 1);
  });

  it('never resurrects a destroyed key: getOrCreate refuses with PII_ERR_SUBJECT_ERASED, in this and in a fresh instance', async () => {
    const ks = await open();
    const s = ref();
    await ks.getOrCreate(s);
    await ks.destroy(s, { actor: 'dpo', reason: 'erasure' });
    await assert.rejects(ks.getOrCreate(s), isCode('PII_ERR_SUBJECT_ERASED'));
    const fresh = await open();
    await assert.rejects(fresh.getOrCreate(s), isCode('PII_ERR_SUBJECT_ERASED'));
    // Erased before any personal data was written: still final.
    const never = ref();
    const d = await ks.destroy(never, { actor: 'dpo', reason: 'retention' });
    assert.equal(d.keyExisted, false);
    await assert.rejects(fresh.getOrCreate(never), isCode('PII_ERR_SUBJECT_ERASED'));
    assert.equal((await fresh.lookup([never])).get(subjectKey(never))?.state, 'erased');
  });

  it('a concurrent create and destroy never leave both a key and a tombstone', async () => {
    const ks = await open();
    const subjects = Array.from({ length: 20 }, () => ref());
    await Promise.allSettled(subjects.flatMap((s) => [ks.getOrCreate(s), ks.destroy(s, { actor: 'dpo', reason: 'race' }), ks.getOrCreate(s)]));
    for (const s of subjects) {
      const { rows } = await db.query(`SELECT 1 FROM pii_data_keys WHERE tenant_id = $1 AND subject_id = $2`, [s.tenantId, s.subjectId]);
      assert.equal(rows.length, 0, 'the destroy ran, so no key row survives');
    }
  });

  it('creates the keys of concurrent new subjects in ONE statement, refusing an erased one and reusing one created elsewhere', async () => {
    const { client, statements } = countingClient(db);
    const ks = await open({}, client);
    const other = await open();
    const tenantId = `t-${randomUUID()}`;
    const fresh = Array.from({ length: 30 }, () => ref(tenantId));
    const erased = ref(tenantId);
    const elsewhere = ref(tenantId);
    await other.destroy(erased, { actor: 'dpo', reason: 'batch test' });
    const theirs = await other.getOrCreate(elsewhere);
    statements.length = 0;
    const outcomes = await Promise.allSettled([...fresh, erased, elsewhere].map((s) => ks.getOrCreate(s)));
    assert.deepEqual(statements.map((q) => q.trim().slice(0, 29)), ['SELECT * FROM pii_create_keys'], 'one statement creates them all');
    const keys = outcomes.slice(0, 30).map((o) => {
      assert.equal(o.status, 'fulfilled');
      return (o as PromiseFulfilledResult<DataKey>).value.toString('hex');
    });
    assert.equal(new Set(keys).size, 30, 'a key of its own per subject');
    assert.equal(outcomes[30]!.status, 'rejected');
    isCode('PII_ERR_SUBJECT_ERASED')((outcomes[30] as PromiseRejectedResult).reason);
    assert.ok(theirs.equals((outcomes[31] as PromiseFulfilledResult<DataKey>).value), 'the key created by the other instance');
    const { rows } = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM pii_data_keys WHERE tenant_id = $1`, [tenantId]);
    assert.equal(rows[0]!.n, '31', 'no key for the erased subject');
    // Each created key is the one stored (a fresh instance unwraps the same bytes).
    const reread = await (await open()).lookup(fresh);
    fresh.forEach((s, i) => {
      const found = reread.get(subjectKey(s));
      assert.equal(found?.state, 'live');
      assert.equal((found as { key: DataKey }).key.toString('hex'), keys[i]);
    });
  });

  it('another instance with the key cached stops using it once PII_KEY_CACHE_TTL_MS has passed since its last check', async () => {
    let t = 1_000_000;
    const reader = await open({ cacheTtlMs: 1_000, now: () => t });
    const eraser = await open();
    const s = ref();
    await eraser.getOrCreate(s);
    assert.equal((await reader.lookup([s])).get(subjectKey(s))?.state, 'live');
    await eraser.destroy(s, { actor: 'dpo', reason: 'erasure' });
    // Within the bound the cached key is still served: that is the documented staleness, not a bug.
    t += 999;
    assert.equal((await reader.lookup([s])).get(subjectKey(s))?.state, 'live');
    t += 1;
    assert.equal((await reader.lookup([s])).get(subjectKey(s))?.state, 'erased');
    assert.equal((await reader.lookup([s])).get(subjectKey(s))?.state, 'erased', 'and stays erased');

    // TTL 0: every lookup checks, so the next lookup after the destroy already sees it.
    const strict = await open({ cacheTtlMs: 0, now: () => t });
    const s2 = ref();
    await eraser.getOrCreate(s2);
    assert.equal((await strict.lookup([s2])).get(subjectKey(s2))?.state, 'live');
    await eraser.destroy(s2, { actor: 'dpo', reason: 'erasure' });
    assert.equal((await strict.lookup([s2])).get(subjectKey(s2))?.state, 'erased');
  });

  it('looks up a batch of subjects in ONE statement, none while cached and fresh, one again when stale', async () => {
    let t = 5_000_000;
    const { client, statements } = countingClient(db);
    const writer = await open();
    const subjects = Array.from({ length: 50 }, () => ref());
    for (const s of subjects) await writer.getOrCreate(s);
    const erasedOne = subjects[7]!;
    await writer.destroy(erasedOne, { actor: 'dpo', reason: 'x' });

    const ks = await open({ cacheTtlMs: 1_000, now: () => t }, client);
    statements.length = 0;
    const found = await ks.lookup([...subjects, ...subjects]);
    assert.equal(statements.length, 1, statements.join('\n---\n'));
    assert.match(statements[0]!, /unnest/);
    assert.equal(found.size, 50);
    assert.equal([...found.values()].filter((f) => f.state === 'live').length, 49);
    assert.equal(found.get(subjectKey(erasedOne))?.state, 'erased');

    statements.length = 0;
    await ks.lookup(subjects);
    assert.equal(statements.length, 0, 'all cached, checked less than the TTL ago');
    t += 1_000;
    await ks.lookup(subjects);
    assert.equal(statements.length, 1, 'stale: one statement checks for destructions');
    t += 10;
    statements.length = 0;
    const unknown = ref();
    assert.equal((await ks.lookup([unknown])).get(subjectKey(unknown))?.state, 'missing');
    assert.equal(statements.length, 1);
  });

  it('does not unwrap a wrapped key moved onto another subject row', async () => {
    const ks = await open();
    const a = ref();
    const b = ref(a.tenantId);
    await ks.getOrCreate(a);
    await ks.getOrCreate(b);
    await db.query(
      `UPDATE pii_data_keys SET wrapped_key = (SELECT wrapped_key FROM pii_data_keys WHERE tenant_id = $1 AND subject_id = $2) WHERE tenant_id = $1 AND subject_id = $3`,
      [a.tenantId, a.subjectId, b.subjectId],
    );
    const fresh = await open();
    await assert.rejects(fresh.lookup([b]), isCode('PII_ERR_KEY_UNWRAP_FAILED'));
  });

  it('rotates the master key: re-wraps every data key, keys unchanged, the old master no longer unwraps', async () => {
    // Other tests' rows in this database are wrapped by another master key: rotation leaves them alone.
    const own = db;
    {
      const oldM = newMaster();
      const newM = newMaster();
      const before = await sqlKeyStore(own, { masterKey: oldM });
      const subjects = Array.from({ length: 7 }, () => ref());
      const keys = await Promise.all(subjects.map((s) => before.getOrCreate(s)));
      const gone = ref();
      await before.getOrCreate(gone);
      await before.destroy(gone, { actor: 'dpo', reason: 'x' });
      const mine = subjects.map((x) => x.subjectId);
      const rowsBefore = (await own.query<{ subject_id: string; wrapped_key: string }>(`SELECT subject_id, wrapped_key FROM pii_data_keys WHERE subject_id = ANY($1)`, [mine])).rows;
      const others = Number((await own.query<{ n: string }>(`SELECT count(*)::text AS n FROM pii_data_keys WHERE master_key_id <> $1`, [oldM.id])).rows[0]!.n);

      // During the rotation, services hold the new key and accept the old one.
      const during = await sqlKeyStore(own, { masterKey: newM, previousMasterKeys: [oldM] });
      assert.ok(keys[0]!.equals(await during.getOrCreate(subjects[0]!)));

      const report = await rotateMasterKey(own, oldM, newM, { batchSize: 3 });
      assert.deepEqual(report, { rewrapped: 7, underOtherKeys: others });
      assert.deepEqual(await rotateMasterKey(own, oldM, newM), { rewrapped: 0, underOtherKeys: others }, 'a second run has nothing left to do');

      const rowsAfter = (await own.query<{ subject_id: string; wrapped_key: string; master_key_id: string }>(`SELECT subject_id, wrapped_key, master_key_id FROM pii_data_keys WHERE subject_id = ANY($1)`, [mine])).rows;
      assert.equal(rowsAfter.length, 7);
      for (const r of rowsAfter) {
        assert.equal(r.master_key_id, newM.id);
        const old = rowsBefore.find((b) => b.subject_id === r.subject_id)!;
        assert.notEqual(r.wrapped_key, old.wrapped_key);
        const s = subjects.find((x) => x.subjectId === r.subject_id)!;
        assert.equal(unwrapKey(oldM.kek, s.tenantId, s.subjectId, r.wrapped_key), undefined, 'the old key-encryption key does not unwrap the new row');
      }

      const afterNew = await sqlKeyStore(own, { masterKey: newM });
      for (const [i, s] of subjects.entries()) assert.ok(keys[i]!.equals(await afterNew.getOrCreate(s)), 'data keys are unchanged: no event needs re-encrypting');
      const afterOld = await sqlKeyStore(own, { masterKey: oldM });
      await assert.rejects(afterOld.lookup([subjects[0]!]), isCode('PII_ERR_MASTER_KEY_MISMATCH'));
      await assert.rejects(afterNew.getOrCreate(gone), isCode('PII_ERR_SUBJECT_ERASED'));
    }
  });
});

import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { aadPrefixV2, bySealOrder, decryptValue, encryptValue, openEvent, sealEvent, unwrapKey, wrapKey, type FieldBinding, type OpenField, type SealedField } from './cipher.js';
import { PiiError } from './errors.js';
import { PiiEnv } from './config.js';
import { PiiMasterKey, parseMasterKey } from './master-key.js';
import { hostileStrings } from './testing.js';

const key = createSecretKey(randomBytes(32));
const at: FieldBinding = { tenantId: 't-1', subjectId: 's-1', streamId: 'lead-1', eventId: 'e-1', path: ['name'] };


describe('field cipher (AES-256-GCM, pii:v1)', () => {
  it('round-trips hostile strings byte-exact, and non-strings with their type', () => {
    for (const s of hostileStrings) {
      const out = decryptValue(key, at, encryptValue(key, at, s));
      assert.ok(out.ok, `decrypts ${JSON.stringify(s).slice(0, 40)}`);
      assert.equal(out.value, s);
      // Byte-exact: the code units are the same, lone surrogates included.
      assert.deepEqual(Buffer.from(out.value as string, 'utf16le'), Buffer.from(s, 'utf16le'));
    }
    for (const v of [0, -1.5, 2 ** 53, true, false, [1, 'a', null], { nested: { deep: ['👩🏽‍💻'] } }, {}]) {
      const out = decryptValue(key, at, encryptValue(key, at, v));
      assert.ok(out.ok);
      assert.deepEqual(out.value, v);
    }
  });

  it('uses a fresh IV per value: the same value twice gives two ciphertexts', () => {
    const a = encryptValue(key, at, 'same');
    const b = encryptValue(key, at, 'same');
    assert.notEqual(a, b);
    assert.match(a, /^pii:v1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]*:[A-Za-z0-9_-]{22}$/);
    // Across several refills of the IV pool, no IV repeats (a repeat under one key would break GCM).
    const ivs = new Set(Array.from({ length: 5_000 }, () => encryptValue(key, at, 'x').split(':')[2]));
    assert.equal(ivs.size, 5_000);
  });

  it('binds tenant, subject, stream, event and path: any other binding fails authentication', () => {
    const ct = encryptValue(key, at, 'Ada');
    const others: FieldBinding[] = [
      { ...at, tenantId: 't-2' },
      { ...at, subjectId: 's-2' },
      { ...at, streamId: 'lead-2' },
      { ...at, eventId: 'e-2' },
      { ...at, path: ['email'] },
      { ...at, path: ['name', '0'] },
      // The JSON array makes the parts unambiguous: no shifting of characters between them collides.
      { ...at, streamId: 'lead-1", "e-1', eventId: '' },
    ];
    for (const b of others) assert.deepEqual(decryptValue(key, b, ct), { ok: false, reason: 'invalid' }, JSON.stringify(b));
    // Event ids are UUIDs, compared case-insensitively.
    assert.deepEqual(decryptValue(key, { ...at, eventId: 'E-1' }, ct), { ok: true, value: 'Ada' });
  });

  it('refuses a tampered ciphertext: every single bit flip of iv, body or tag, and truncations', () => {
    const ct = encryptValue(key, at, 'Grace Hopper');
    const [, , iv, body, tag] = ct.split(':') as [string, string, string, string, string];
    const parts = { iv, body, tag };
    for (const [name, part] of Object.entries(parts)) {
      const bytes = Buffer.from(part, 'base64url');
      for (let bit = 0; bit < bytes.length * 8; bit++) {
        const flipped = Buffer.from(bytes);
        flipped[bit >> 3]! ^= 1 << (bit & 7);
        const forged = `pii:v1:${Object.entries(parts).map(([n, p]) => (n === name ? flipped.toString('base64url') : p)).join(':')}`;
        assert.equal(decryptValue(key, at, forged).ok, false, `${name} bit ${bit}`);
      }
    }
    for (const forged of [ct.slice(0, -1), `${ct}A`, `pii:v1:${iv}:${body}`, `pii:v1:${iv}:${body}:${tag.slice(0, 16)}`, `pii:v1:${iv}:${body}:${tag}:x`, 'pii:v1:', 'pii:v1:!!:!!:!!']) {
      assert.deepEqual(decryptValue(key, at, forged), { ok: false, reason: 'invalid' }, forged);
    }
    assert.deepEqual(decryptValue(key, at, ct.replace('pii:v1:', 'pii:v9:')), { ok: false, reason: 'unsupported' });
  });

  it('does not decrypt under another key', () => {
    assert.equal(decryptValue(createSecretKey(randomBytes(32)), at, encryptValue(key, at, 'x')).ok, false);
  });

  it('wraps data keys bound to tenant and subject', () => {
    const kek = randomBytes(32);
    const dk = randomBytes(32);
    const w = wrapKey(kek, 't', 's', dk);
    assert.deepEqual(unwrapKey(kek, 't', 's', w), dk);
    assert.equal(unwrapKey(kek, 't', 's2', w), undefined);
    assert.equal(unwrapKey(kek, 't2', 's', w), undefined);
    assert.equal(unwrapKey(randomBytes(32), 't', 's', w), undefined);
    assert.equal(unwrapKey(kek, 't', 's', w.slice(0, -2)), undefined);
  });
});

describe('event seal (AES-256-GCM, pii:v2: one operation per event)', () => {
  const binding = { tenantId: 't-1', subjectId: 's-1', streamId: 'contact-1', eventId: 'E-1' };
  const prefix = aadPrefixV2(binding);
  const field = (...path: string[]): SealedField => ({ path, pathKey: JSON.stringify(path) });
  const fields = [field('email'), field('firstName'), field('customFields', 'vip'), field('tags', '0')].sort(bySealOrder);
  const seal = (values: unknown[], f: readonly SealedField[] = fields) => sealEvent(key, prefix, f, values);
  const open = (texts: readonly string[], f: readonly SealedField[] = fields, p = prefix) => openEvent(key, p, f.map((x, i): OpenField => ({ ...x, text: texts[i]! })));

  it('round-trips hostile strings byte-exact and typed values, every field a v1-shaped string sharing one IV and tag', () => {
    for (const s of hostileStrings) {
      const values = [s, `${s}!`, { nested: [s] }, 0];
      const texts = seal(values);
      for (const t of texts) assert.match(t, /^pii:v2:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]*:[A-Za-z0-9_-]{22}$/);
      assert.equal(new Set(texts.map((t) => t.split(':')[2])).size, 1, 'one IV');
      assert.equal(new Set(texts.map((t) => t.split(':')[4])).size, 1, 'one tag');
      const out = open(texts);
      assert.ok(out.ok, JSON.stringify(s).slice(0, 40));
      assert.deepEqual(out.values, values);
      assert.deepEqual(Buffer.from(out.values[0] as string, 'utf16le'), Buffer.from(s, 'utf16le'));
    }
    // A fresh IV per event: the same values twice give other ciphertexts.
    assert.notDeepEqual(seal(['a', 'b', 'c', 'd']), seal(['a', 'b', 'c', 'd']));
  });

  it('builds the associated data exactly as the format says, whatever order bindings come in (its head is memoised)', () => {
    // The stored format: stored ciphertexts open only if this stays byte-identical.
    const parts = ['t-1', 't-2', 's-1', '', 'a"b', '\\', 'x\u0000y', '\ud800', '😀', '","'];
    const bindings: { tenantId: string; subjectId: string; streamId: string; eventId: string }[] = [];
    for (const tenantId of parts.slice(0, 4)) for (const subjectId of parts) for (const streamId of parts.slice(3)) bindings.push({ tenantId, subjectId, streamId, eventId: 'E-1' });
    // Runs of one head and changes of each single part, in both directions.
    const sequence = [...bindings, ...bindings.reverse(), ...bindings.flatMap((b, i) => [b, bindings[(i * 7) % bindings.length]!])];
    for (const b of sequence) {
      const expected = JSON.stringify(['annals-pii-v2', b.tenantId, b.subjectId, b.streamId, b.eventId.toLowerCase()]).slice(0, -1);
      assert.equal(aadPrefixV2(b), expected, JSON.stringify(b));
    }
  });

  it('binds tenant, subject, stream, event and the list of fields: any other binding fails as a whole', () => {
    const texts = seal(['a@example.com', 'Ada', 'yes', 'x']);
    for (const other of [
      { ...binding, tenantId: 't-2' },
      { ...binding, subjectId: 's-2' },
      { ...binding, streamId: 'contact-2' },
      { ...binding, eventId: 'E-2' },
      { ...binding, streamId: 'contact-1", "E-1', eventId: '' },
    ]) {
      assert.deepEqual(open(texts, fields, aadPrefixV2(other)), { ok: false, reason: 'invalid' }, JSON.stringify(other));
    }
    assert.ok(open(texts, fields, aadPrefixV2({ ...binding, eventId: 'e-1' })).ok, 'event ids compare case-insensitively');
    // A value at another path, swapped with another field's, dropped, duplicated, or an extra field.
    const [a, b, c, d] = texts as [string, string, string, string];
    const renamed = fields.map((f, i) => (i === 0 ? field('customFields', 'vip2') : f));
    assert.equal(open(texts, renamed).ok, false, 'another path');
    assert.deepEqual(open([b, a, c, d]), { ok: false, reason: 'invalid' }, 'swapped');
    assert.deepEqual(open([a, b, c], fields.slice(0, 3)), { ok: false, reason: 'invalid' }, 'dropped');
    assert.deepEqual(open([a, a, c, d]), { ok: false, reason: 'invalid' }, 'duplicated');
    assert.deepEqual(open([...texts, d], [...fields, field('zz')]), { ok: false, reason: 'invalid' }, 'extra');
  });

  it('refuses every single bit flip of iv, any segment or tag; names the field holding another seal or a malformed value', () => {
    const texts = seal(['a@example.com', 'Ada', 'yes', 'x']);
    for (let f = 0; f < texts.length; f++) {
      const [, , iv, body, tag] = texts[f]!.split(':') as [string, string, string, string, string];
      const parts = { iv, body, tag };
      for (const [name, part] of Object.entries(parts)) {
        const bytes = Buffer.from(part, 'base64url');
        for (let bit = 0; bit < bytes.length * 8; bit++) {
          const flipped = Buffer.from(bytes);
          flipped[bit >> 3]! ^= 1 << (bit & 7);
          const forged = texts.map((t, i) => (i === f ? `pii:v2:${Object.entries(parts).map(([n, p]) => (n === name ? flipped.toString('base64url') : p)).join(':')}` : t));
          assert.equal(open(forged).ok, false, `field ${f} ${name} bit ${bit}`);
        }
      }
    }
    // A value of another event (its own IV and tag) pasted into field 2: that field is named.
    const other = seal(['b@example.com', 'Bob', 'no', 'y']);
    assert.deepEqual(open(texts.map((t, i) => (i === 2 ? other[2]! : t))), { ok: false, reason: 'invalid', field: 2 });
    assert.deepEqual(open(texts.map((t, i) => (i === 0 ? other[0]! : t))), { ok: false, reason: 'invalid', field: 0 });
    // Malformed, truncated, a v1 value, another version: named too.
    for (const bad of [texts[1]!.slice(0, -1), `${texts[1]!}:x`, 'pii:v2:', 'pii:v2:!!:!!:!!', encryptValue(key, at, 'Ada')]) {
      assert.deepEqual(open(texts.map((t, i) => (i === 1 ? bad : t))), { ok: false, reason: 'invalid', field: 1 }, bad);
    }
    assert.deepEqual(open(texts.map((t, i) => (i === 3 ? t.replace('pii:v2:', 'pii:v9:') : t))), { ok: false, reason: 'unsupported', field: 3 });
    // A v2 value is not a v1 value on its own.
    assert.deepEqual(decryptValue(key, { ...binding, path: ['email'] }, texts[0]!), { ok: false, reason: 'invalid' });
  });

  it('does not open under another key', () => {
    const texts = seal(['a', 'b', 'c', 'd']);
    assert.equal(openEvent(createSecretKey(randomBytes(32)), prefix, fields.map((f, i) => ({ ...f, text: texts[i]! }))).ok, false);
  });
});

describe('master key (PII_MASTER_KEY)', () => {
  const raw = randomBytes(32);
  it('accepts 32 bytes as base64, unpadded base64, base64url and hex; all name the same key', () => {
    const forms = [raw.toString('base64'), raw.toString('base64').replace(/=$/, ''), raw.toString('base64url'), raw.toString('hex'), ` ${raw.toString('hex')}\n`];
    const ids = new Set(forms.map((f) => parseMasterKey(f).id));
    assert.equal(ids.size, 1);
    const derived = parseMasterKey(raw.toString('hex'));
    assert.match(derived.id, /^[0-9a-f]{16}$/);
    // The key-encryption key is derived, never the master key itself.
    assert.notDeepEqual(derived.kek, raw);
  });

  it('refuses a missing or malformed key with a coded error naming the variable, never echoing the value', () => {
    const bad = [undefined, '', '   ', 'correct horse battery staple, 32+ characters long', raw.toString('hex').slice(2), randomBytes(31).toString('base64'), randomBytes(33).toString('hex'), '0'.repeat(64), `${raw.toString('base64')}!`];
    for (const v of bad) {
      assert.throws(
        () => parseMasterKey(v, 'PII_MASTER_KEY'),
        (e: unknown) => {
          assert.ok(e instanceof PiiError);
          assert.equal(e.code, 'PII_ERR_MASTER_KEY_INVALID');
          assert.match(e.message, /PII_MASTER_KEY/);
          if (v && v.trim().length > 8) assert.ok(!e.message.includes(v.trim()), 'the message does not echo the key');
          return true;
        },
        String(v),
      );
    }
  });

  it('exports a zod schema whose issue path is the variable', () => {
    const Env = z.object({ PII_MASTER_KEY: PiiMasterKey });
    const r = Env.safeParse({ PII_MASTER_KEY: 'too-short' });
    assert.equal(r.success, false);
    assert.deepEqual(r.error?.issues.map((i) => i.path), [['PII_MASTER_KEY']]);
    const ok = Env.parse({ PII_MASTER_KEY: raw.toString('base64url') });
    assert.equal(ok.PII_MASTER_KEY.id, parseMasterKey(raw.toString('hex')).id);
  });

  it('the key-store environment schema names every bad variable and has unit-carrying defaults', () => {
    assert.deepEqual(PiiEnv.parse({}), { PII_PREVIOUS_MASTER_KEYS: [], PII_KEY_CACHE_TTL_MS: 1000, PII_KEY_CACHE_SIZE: 10_000 });
    const r = PiiEnv.safeParse({ PII_MASTER_KEY: 'nope', PII_PREVIOUS_MASTER_KEYS: `${raw.toString('hex')}, bad`, PII_KEY_CACHE_TTL_MS: '-1', KEYSTORE_URL: 'http://x' });
    assert.deepEqual(r.error?.issues.map((i) => i.path.join('.')).sort(), ['KEYSTORE_URL', 'PII_KEY_CACHE_TTL_MS', 'PII_MASTER_KEY', 'PII_PREVIOUS_MASTER_KEYS.1']);
  });
});

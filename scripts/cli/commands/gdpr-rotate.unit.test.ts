import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sqlKeyStore } from '../../../platform/pii/key-store.js';
import { parseMasterKey } from '../../../platform/pii/master-key.js';
import { openPglite, pgliteClient } from '../../../platform/sql/client.js';
import { run as gdprCli } from './gdpr.js';

/**
 * `annals gdpr rotate-master-key` on the embedded key store (DATA_DIR/read, as `npm start` keeps it):
 * every data key re-wrapped under the new master key, the same data keys afterwards, the new key read from
 * the environment only and never printed; bad input refused with its name.
 */
const OLD = randomBytes(32).toString('base64url');
const NEW = randomBytes(32).toString('hex');
const SUBJECTS = ['0190a000-0000-7000-8000-000000000c01', '0190a000-0000-7000-8000-000000000c02', '0190a000-0000-7000-8000-000000000c03'];
const VARS = ['DATA_DIR', 'READ_DB_URL', 'KEYSTORE_URL', 'PII_MASTER_KEY', 'PII_PREVIOUS_MASTER_KEYS', 'J_NEW_KEY', 'J_BAD_KEY', 'J_UNSET_KEY'] as const;

describe('annals gdpr rotate-master-key (embedded key store)', { timeout: 60_000 }, () => {
  let dataDir: string;
  const saved = new Map<string, string | undefined>();
  const rawKeys = new Map<string, string>();

  const cli = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await gdprCli(args, { out: (t) => out.push(t), err: (t) => err.push(t) });
    return { code, out: out.join(''), err: err.join('') };
  };
  const keysUnder = async (masterKey: string) => {
    const sql = pgliteClient(await openPglite(join(dataDir, 'read')));
    try {
      const store = await sqlKeyStore(sql, { masterKey: parseMasterKey(masterKey), cacheTtlMs: 0 });
      const found = new Map<string, string>();
      for (const s of SUBJECTS) found.set(s, (await store.getOrCreate({ tenantId: 't', subjectId: s })).toString('hex'));
      const ids = (await sql.query<{ id: string }>(`SELECT DISTINCT master_key_id AS id FROM pii_data_keys`)).rows.map((r) => r.id);
      return { found, ids };
    } finally {
      await sql.close();
    }
  };

  before(async () => {
    for (const v of VARS) saved.set(v, process.env[v]);
    dataDir = await mkdtemp(join(tmpdir(), 'annals-rotate-'));
    const { found } = await keysUnder(OLD); // creates the three data keys, wrapped by OLD
    for (const [s, k] of found) rawKeys.set(s, k);
    delete process.env.READ_DB_URL;
    delete process.env.KEYSTORE_URL;
    delete process.env.J_UNSET_KEY;
    delete process.env.PII_PREVIOUS_MASTER_KEYS;
    process.env.DATA_DIR = dataDir;
    process.env.PII_MASTER_KEY = OLD;
    process.env.J_NEW_KEY = NEW;
    process.env.J_BAD_KEY = 'not-32-bytes';
  });
  after(async () => {
    for (const [v, value] of saved) {
      if (value === undefined) delete process.env[v];
      else process.env[v] = value;
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses bad input by name, before touching the key store (2 usage, 78 configuration)', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['rotate-master-key'], 2, /needs --new-key-env VAR/],
      [['rotate-master-key', '--new-key', NEW], 2, /Unknown option '--new-key'/],
      // The key itself instead of a variable name: hex (reads like a name), base64url with '-' or '_', and base64.
      [['rotate-master-key', '--new-key-env', NEW], 2, /NAME of an environment variable/],
      [['rotate-master-key', '--new-key-env', NEW.toUpperCase()], 2, /NAME of an environment variable/],
      [['rotate-master-key', '--new-key-env', OLD], 2, /NAME of an environment variable/],
      // A base64url key that starts with '-' (1 in 64 random keys; CI met one): parseArgs takes it for an option.
      [['rotate-master-key', '--new-key-env', `-${OLD.slice(1)}`], 2, /NAME of an environment variable/],
      [['rotate-master-key', '--new-key-env', Buffer.from(NEW, 'hex').toString('base64')], 2, /NAME of an environment variable/],
      [['rotate-master-key', '--new-key-env', 'J_NEW_KEY', '--token', 'x'], 2, /--token is not an option of rotate-master-key/],
      [['rotate-master-key', 'extra', '--new-key-env', 'J_NEW_KEY'], 2, /unexpected arguments: extra/],
      [['rotate-master-key', '--new-key-env', 'PII_MASTER_KEY'], 2, /no old key to rotate from: PII_MASTER_KEY is the key in PII_MASTER_KEY/],
      [['rotate-master-key', '--new-key-env', 'J_BAD_KEY'], 78, /PII_ERR_MASTER_KEY_INVALID: J_BAD_KEY /],
      [['rotate-master-key', '--new-key-env', 'J_UNSET_KEY'], 78, /PII_ERR_MASTER_KEY_INVALID: J_UNSET_KEY is not set/],
      [['erase', SUBJECTS[0]!, '--new-key-env', 'J_NEW_KEY', '--token', 'x'], 2, /--new-key-env is for rotate-master-key only/],
    ];
    for (const [args, code, message] of cases) {
      const r = await cli(...args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, message, args.join(' '));
      for (const k of [NEW, NEW.toUpperCase(), OLD]) assert.ok(!`${r.out}${r.err}`.includes(k), `${args.join(' ')}: a key was printed`);
    }
    process.env.PII_MASTER_KEY = 'Zoë \u202e not a key';
    try {
      const r = await cli('rotate-master-key', '--new-key-env', 'J_NEW_KEY');
      assert.equal(r.code, 78, r.err);
      assert.match(r.err, /PII_MASTER_KEY/);
    } finally {
      process.env.PII_MASTER_KEY = OLD;
    }
    process.env.PII_PREVIOUS_MASTER_KEYS = 'short';
    try {
      const r = await cli('rotate-master-key', '--new-key-env', 'J_NEW_KEY');
      assert.equal(r.code, 78, r.err);
      assert.match(r.err, /PII_PREVIOUS_MASTER_KEYS/);
    } finally {
      delete process.env.PII_PREVIOUS_MASTER_KEYS;
    }
    process.env.J_SAME_KEY = OLD;
    try {
      assert.equal((await cli('rotate-master-key', '--new-key-env', 'J_SAME_KEY')).code, 2, 'the current key is not a new key');
    } finally {
      delete process.env.J_SAME_KEY;
    }
    assert.deepEqual((await keysUnder(OLD)).ids, [parseMasterKey(OLD).id], 'nothing was re-wrapped');
  });

  it('re-wraps every data key under the new key: the same data keys read with the new master key only; a second run re-wraps none', async () => {
    const r = await cli('rotate-master-key', '--new-key-env', 'J_NEW_KEY');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`re-wrapped 3 data key\\(s\\) from master key ${parseMasterKey(OLD).id} to ${parseMasterKey(NEW).id}; 0 under other master keys`));
    assert.ok(!`${r.out}${r.err}`.includes(NEW) && !`${r.out}${r.err}`.includes(OLD), 'no key printed');
    const after = await keysUnder(NEW);
    assert.deepEqual(after.ids, [parseMasterKey(NEW).id]);
    assert.deepEqual(after.found, rawKeys, 'the data keys themselves are unchanged: every event still decrypts');
    const again = await cli('rotate-master-key', '--new-key-env', 'J_NEW_KEY');
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /re-wrapped 0 data key/);
  });

  it('online procedure: services already hold the new key as PII_MASTER_KEY and the old among PII_PREVIOUS_MASTER_KEYS', async () => {
    const NEXT = randomBytes(32).toString('base64');
    process.env.PII_MASTER_KEY = NEXT;
    process.env.PII_PREVIOUS_MASTER_KEYS = `${OLD},${NEW}`;
    try {
      const r = await cli('rotate-master-key', '--new-key-env', 'PII_MASTER_KEY');
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /re-wrapped 3 data key\(s\) .*; 0 under other master keys\nnext: drop the old key/);
      for (const k of [NEXT, NEW, OLD]) assert.ok(!`${r.out}${r.err}`.includes(k), 'no key printed');
      const after = await keysUnder(NEXT);
      assert.deepEqual(after.ids, [parseMasterKey(NEXT).id]);
      assert.deepEqual(after.found, rawKeys);
    } finally {
      process.env.PII_MASTER_KEY = OLD;
      delete process.env.PII_PREVIOUS_MASTER_KEYS;
    }
  });
});

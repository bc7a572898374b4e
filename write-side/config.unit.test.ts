import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createLogger } from '../platform/logging/logger.js';
import { signDevToken } from '../platform/auth/sign.js';
import { buildApp } from './build-app.js';
import { ConfigError, loadConfig, parseConfigEnv, secretPath } from './config.js';
import { openEventStore } from './event-store.js';

const tmp = () => mkdtemp(join(tmpdir(), 'annals-config-'));

describe('write-side configuration', () => {
  it('defaults: port 8080, ./.annals, embedded PGlite under DATA_DIR/eventstore', async () => {
    const dir = await tmp();
    try {
      const { config, warnings } = await loadConfig({ DATA_DIR: dir });
      assert.equal(config.port, 8080);
      assert.deepEqual(config.eventStore, { kind: 'pglite', dir: join(dir, 'eventstore') });
      assert.equal(config.rateLimit.windowMs, 60_000);
      assert.ok(Object.isFrozen(config) && Object.isFrozen(config.auth));
      assert.equal(warnings.length, 2, 'one warning per generated secret');
      assert.equal(parseConfigEnv({}).DATA_DIR, './.annals');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a failure lists every bad variable at once', () => {
    assert.throws(
      () => parseConfigEnv({ PORT: 'eighty', LOG_LEVEL: 'loud', EVENTSTORE_URL: 'mysql://x', RATE_LIMIT_WINDOW_MS: '-5', AUTH_JWT_SECRET: 'short', AUTH_JWKS_URL: 'ftp://x' }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        const vars = [...new Set(e.issues.map((i) => i.variable))].sort();
        assert.deepEqual(vars, ['AUTH_JWKS_URL', 'AUTH_JWT_SECRET', 'EVENTSTORE_URL', 'LOG_LEVEL', 'PORT', 'RATE_LIMIT_WINDOW_MS']);
        assert.match(e.message, /PORT: /);
        return true;
      },
    );
  });

  it('outside embedded mode a missing auth secret or master key is a start-up error', () => {
    assert.throws(
      () => parseConfigEnv({ EVENTSTORE_URL: 'postgres://localhost/annals' }),
      (e: unknown) => e instanceof ConfigError && ['AUTH_JWT_SECRET', 'PII_MASTER_KEY'].every((v) => e.issues.some((i) => i.variable === v)),
    );
    assert.throws(() => parseConfigEnv({ AUTH_JWT_SECRET: 'x'.repeat(32), AUTH_JWKS_URL: 'https://idp.example.com/jwks' }), /not both/);
    assert.throws(() => parseConfigEnv({ AUTH_JWKS_URL: 'https://idp.example.com/jwks' }), /AUTH_ISSUER: is required with AUTH_JWKS_URL/);
    const ok = parseConfigEnv({ EVENTSTORE_URL: 'esdb://localhost:2113?tls=false', AUTH_JWT_SECRET: 'x'.repeat(32), PII_MASTER_KEY: 'ab'.repeat(32), PORT: '' });
    assert.equal(ok.PORT, 8080, 'an empty variable means unset');
  });

  it('PII_MASTER_KEY must be 32 random bytes: a passphrase, a short or an all-zero key is refused, naming the variable (never echoing it)', () => {
    for (const bad of ['correct horse battery staple plus more words', 'k'.repeat(32), 'ab'.repeat(31), '00'.repeat(32)]) {
      assert.throws(
        () => parseConfigEnv({ PII_MASTER_KEY: bad }),
        (e: unknown) => e instanceof ConfigError && e.issues.some((i) => i.variable === 'PII_MASTER_KEY') && !e.message.includes(bad),
        bad,
      );
    }
    assert.throws(() => parseConfigEnv({ PII_PREVIOUS_MASTER_KEYS: `${'ab'.repeat(32)},nope` }), /PII_PREVIOUS_MASTER_KEYS/);
    assert.throws(() => parseConfigEnv({ PII_ENCRYPTION: 'maybe' }), /PII_ENCRYPTION/);
  });

  it('the email and request hash keys are derived from the master key (HKDF, one label each), never the key itself; the key store follows KEYSTORE_URL, else READ_DB_URL', async () => {
    const dir = await tmp();
    try {
      const master = 'cd'.repeat(32);
      const { config } = await loadConfig({ DATA_DIR: dir, PII_MASTER_KEY: master, READ_DB_URL: 'postgres://h/read' });
      assert.match(config.emailHashKey, /^[0-9a-f]{64}$/);
      assert.notEqual(config.emailHashKey, master);
      assert.notEqual(config.emailHashKey, config.requestHashKey);
      assert.equal((await loadConfig({ DATA_DIR: dir, PII_MASTER_KEY: master })).config.emailHashKey, config.emailHashKey, 'deterministic');
      assert.notEqual((await loadConfig({ DATA_DIR: dir, PII_MASTER_KEY: 'ce'.repeat(32) })).config.emailHashKey, config.emailHashKey);
      assert.equal(config.pii.keyStoreUrl, 'postgres://h/read');
      assert.equal(config.pii.encryption, true, 'encryption is on by default');
      const own = await loadConfig({ DATA_DIR: dir, PII_MASTER_KEY: master, READ_DB_URL: 'postgres://h/read', KEYSTORE_URL: 'postgres://k/keys' });
      assert.equal(own.config.pii.keyStoreUrl, 'postgres://k/keys');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('embedded secrets are generated once (0600) and reused', async () => {
    const dir = await tmp();
    try {
      const first = await loadConfig({ DATA_DIR: dir });
      const second = await loadConfig({ DATA_DIR: dir });
      assert.deepEqual(second.config.auth.keys, first.config.auth.keys);
      assert.equal(second.config.piiMasterKey, first.config.piiMasterKey);
      for (const name of ['auth-jwt-secret', 'pii-master-key']) {
        assert.equal((await stat(secretPath(dir, name))).mode & 0o777, 0o600);
      }
      const configured = await loadConfig({ DATA_DIR: dir, AUTH_JWT_SECRET: 's'.repeat(40) });
      assert.deepEqual(configured.config.auth.keys, { kind: 'secret', secret: 's'.repeat(40) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('embedded start: data survives a restart', () => {
  it('build the app on a temp DATA_DIR, write, close, reopen, read', async () => {
    const dir = await tmp();
    const logger = createLogger({ level: 'silent', name: 'test' });
    try {
      const boot = async () => {
        const { config } = await loadConfig({ DATA_DIR: dir });
        const store = await openEventStore(config.eventStore);
        const app = await buildApp({ config, logger, eventStore: store });
        const keys = config.auth.keys;
        assert.equal(keys.kind, 'secret');
        const jwt = await signDevToken({ secret: keys.kind === 'secret' ? keys.secret : '', issuer: config.auth.issuer, audience: config.auth.audience, tenant: 't1', sub: 'u1', roles: ['sales'], ttlSeconds: 600 });
        return { app, store, headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' } };
      };
      const first = await boot();
      const created = await first.app.inject({ method: 'POST', url: '/api/v1/contacts', headers: first.headers, payload: JSON.stringify({ firstName: 'Persistent', email: 'p@example.com' }) });
      assert.equal(created.statusCode, 201, created.body);
      const id = created.json().id as string;
      await first.app.close();
      await first.store.close();

      const second = await boot();
      const patched = await second.app.inject({ method: 'PATCH', url: `/api/v1/contacts/${id}`, headers: second.headers, payload: JSON.stringify({ title: 'Survivor' }) });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.equal(patched.json().revision, '1', 'the contact created before the restart is there');
      const dup = await second.app.inject({ method: 'POST', url: '/api/v1/contacts', headers: second.headers, payload: JSON.stringify({ firstName: 'Again', email: 'p@example.com' }) });
      assert.equal(dup.statusCode, 409, 'and so is its email claim');
      assert.equal((await second.store.readStream(`contact-${id}`)).length, 2);
      await second.app.close();
      await second.store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../platform/config/env.js';
import { loadQueryApiServiceConfig } from './query-api.js';
import { cli } from './testing.js';

const SECRET = 'a-query-api-secret-of-at-least-32-characters';

/** `npm run query-api` is `annals query-api`: one parse of every variable it reads, every bad one named. */
describe('annals query-api configuration', () => {
  it('npm run query-api runs annals query-api (no second, reduced entry)', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    assert.equal(pkg.scripts['query-api'], 'node scripts/cli/annals.mjs query-api');
    assert.equal(pkg.scripts['projections'], 'node scripts/cli/annals.mjs projections');
  });

  it('one ConfigError names every bad variable: the query API, the history reader and the read side (search, analytics)', async () => {
    const err = await loadQueryApiServiceConfig({
      AUTH_JWT_SECRET: SECRET,
      PORT: '70000',
      RELAY_CHECKPOINT_DB_URL: 'mysql://x',
      ELASTICSEARCH_URL: 'ftp://es\u0000',
      ELASTICSEARCH_INDEX_PREFIX: 'UPPER',
      CLICKHOUSE_URL: 'clickhouse:8123',
      ANALYTICS: 'maybe',
    }).then(
      () => assert.fail('accepted'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConfigError, String(err));
    assert.deepEqual(
      err.issues.map((i) => i.variable).sort(),
      ['ANALYTICS', 'CLICKHOUSE_URL', 'ELASTICSEARCH_INDEX_PREFIX', 'ELASTICSEARCH_URL', 'PORT', 'RELAY_CHECKPOINT_DB_URL'],
    );
    // The value is never echoed (it may be a secret), the variable is.
    assert.doesNotMatch(err.message, /ftp:\/\/es/);
  });

  it('valid: the read side settings reach the service (search and analytics servers)', async () => {
    const c = await loadQueryApiServiceConfig({ AUTH_JWT_SECRET: SECRET, ELASTICSEARCH_URL: 'http://es:9200', CLICKHOUSE_URL: 'http://ch:8123', CLICKHOUSE_DATABASE: 'annals_x' });
    assert.equal(c.readSide.ELASTICSEARCH_URL, 'http://es:9200');
    assert.equal(c.readSide.CLICKHOUSE_URL, 'http://ch:8123');
    assert.equal(c.readSide.CLICKHOUSE_DATABASE, 'annals_x');
    assert.equal(c.readSide.ANALYTICS, 'on');
    assert.equal(c.loaded.config.port, 8081);
  });

  it('the process refuses a bad variable before opening anything: exit 78, the variable named on stderr', { timeout: 60_000 }, async () => {
    const child = spawn(process.execPath, [cli, 'query-api'], {
      env: { ...process.env, AUTH_JWT_SECRET: SECRET, READ_DB_URL: '', EVENTSTORE_URL: '', ELASTICSEARCH_URL: '', CLICKHOUSE_URL: 'not-a-url', ANALYTICS: 'on' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: a timeout kills the launcher AND the CLI it runs
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const code = await Promise.race([new Promise<number | null>((r) => child.once('exit', r)), new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 50_000).unref())]);
    if (code === 'timeout') {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    assert.equal(code, 78, stderr);
    assert.match(stderr, /annals query-api: invalid configuration:\n\s+CLICKHOUSE_URL: must start with http:\/\/ or https:\/\//);
  });
});

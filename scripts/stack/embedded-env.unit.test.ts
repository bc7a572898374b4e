import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EMBEDDED_ONLY_DROPS } from '../../bench/workloads/one-process.js';
import { SERVERS } from './stack.js';

// The memory row of `npm run bench` measures `npm start` on its embedded adapters. It is usually run from a
// shell with `eval "$(annals stack env)"`, and a server variable that reached the child once made the row
// measure the ClickHouse server instead of chDB (no chDB host in the process tree, 300 MB less).
describe('the one-process bench starts annals on the embedded adapters only', () => {
  it('drops every variable `annals stack env` exports', () => {
    const exported = SERVERS.flatMap((s) => Object.keys(s.env()));
    assert.ok(exported.includes('CLICKHOUSE_URL') && exported.includes('ELASTICSEARCH_URL'), `the stack's variables: ${exported.join(', ')}`);
    assert.deepEqual(exported.filter((k) => !EMBEDDED_ONLY_DROPS.test(k)), []);
  });

  it('drops the other server and key settings, and keeps the rest', () => {
    for (const k of ['KEYSTORE_URL', 'ESDB_CONNECTION_STRING', 'RELAY_CHECKPOINT_DB_URL', 'CLICKHOUSE_USER', 'PII_MASTER_KEY', 'AUTH_JWKS_URL']) {
      assert.ok(EMBEDDED_ONLY_DROPS.test(k), k);
    }
    for (const k of ['PATH', 'HOME', 'NODE_OPTIONS', 'DATA_DIR', 'LOG_LEVEL', 'MY_KAFKA_BROKERS']) assert.ok(!EMBEDDED_ONLY_DROPS.test(k), k);
  });
});

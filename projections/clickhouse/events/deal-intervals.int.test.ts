import { clickhouseServerEngine } from '../../../platform/analytics/server.js';
import { requireEnv } from '../../../platform/testing/require-env.js';
import { dealIntervalsSuite } from './deal-intervals.testing.js';

// The ClickHouse server from `annals stack` (Debian's 18.16): the same suite as chDB, a fresh database per run, dropped after.
dealIntervalsSuite('ClickHouse server', async () => {
  const engine = await clickhouseServerEngine({ url: requireEnv('CLICKHOUSE_URL'), database: `annals_it_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}` });
  return {
    ...engine,
    close: async () => {
      await engine.dropDatabase();
      await engine.close();
    },
  };
});

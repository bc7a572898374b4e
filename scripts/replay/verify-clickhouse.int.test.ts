import { randomUUID } from 'node:crypto';
import { describe } from 'node:test';
import { clickhouseServerEngine } from '../../platform/analytics/server.js';
import { requireEnv } from '../../platform/testing/require-env.js';
import { clickhouseReplaySuite } from './clickhouse-replay.testing.js';

/** `replay rebuild` / `verify` of the ClickHouse fact table on the ClickHouse 18.16 server, in a database of its own. */
describe('replay rebuild + verify: ClickHouse fact table on the server', { timeout: 300_000 }, () => {
  const url = requireEnv('CLICKHOUSE_URL');
  clickhouseReplaySuite(async () => {
    const engine = await clickhouseServerEngine({ url, database: `annals_chr_${randomUUID().replace(/-/g, '').slice(0, 10)}` });
    return {
      engine,
      async close() {
        await engine.dropDatabase().catch(() => undefined);
        await engine.close();
      },
    };
  });
});

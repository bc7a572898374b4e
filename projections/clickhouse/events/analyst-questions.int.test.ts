import { clickhouseServerEngine } from '../../../platform/analytics/server.js';
import { requireEnv } from '../../../platform/testing/require-env.js';
import { analystQuestionsSuite } from './analyst-questions.testing.js';

// ClickHouse 18.16 (annals stack): a fresh database per run, dropped after.
analystQuestionsSuite('ClickHouse server', async () => {
  const engine = await clickhouseServerEngine({ url: requireEnv('CLICKHOUSE_URL'), database: `annals_q_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}` });
  return {
    ...engine,
    close: async () => {
      await engine.dropDatabase();
      await engine.close();
    },
  };
});

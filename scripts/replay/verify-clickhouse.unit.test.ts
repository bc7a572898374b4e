import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'node:test';
import { chdbEngine } from '../../platform/analytics/chdb.js';
import { clickhouseReplaySuite } from './clickhouse-replay.testing.js';

/** `replay rebuild` / `verify` of the ClickHouse fact table on chDB (one engine per process: this file's own). */
describe('replay rebuild + verify: ClickHouse fact table on chDB', { timeout: 300_000 }, () => {
  clickhouseReplaySuite(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'annals-chr-'));
    const engine = await chdbEngine({ path: join(dir, 'analytics'), database: 'annals_chr' });
    return {
      engine,
      async close() {
        await engine.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../platform/config/env.js';
import { loadStartConfig } from './start.js';

describe('annals start: one parse of every variable the one-process root reads', () => {
  it('one failure names every bad variable of the write side, the projector runtime and the bus', async () => {
    await assert.rejects(
      loadStartConfig({
        PORT: 'eighty',
        READ_DB_URL: 'mysql://x',
        KAFKA_BROKERS: 'kafka9092',
        KAFKA_SESSION_TIMEOUT_MS: '5',
        PROJECTOR_MAX_ATTEMPTS: '0',
        PROJECTOR_STALL_MS: 'soon',
        LOG_LEVEL: 'loud',
      }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.deepEqual([...new Set(e.issues.map((i) => i.variable))].sort(), [
          'KAFKA_BROKERS',
          'KAFKA_SESSION_TIMEOUT_MS',
          'LOG_LEVEL',
          'PORT',
          'PROJECTOR_MAX_ATTEMPTS',
          'PROJECTOR_STALL_MS',
          'READ_DB_URL',
        ]);
        // LOG_LEVEL is read by two parts of the root, reported once.
        assert.equal(e.issues.filter((i) => i.variable === 'LOG_LEVEL').length, 1);
        return true;
      },
    );
  });

  it('the settings npm start used to drop reach the runtime: KAFKA_SESSION_TIMEOUT_MS, PROJECTOR_MAX_ATTEMPTS, READ_DB_URL', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'annals-start-config-'));
    try {
      const { loaded, runtime } = await loadStartConfig({
        DATA_DIR: dir,
        READ_DB_URL: 'postgres://annals@db/read',
        KAFKA_BROKERS: 'kafka:9092',
        KAFKA_SESSION_TIMEOUT_MS: '45000',
        PROJECTOR_MAX_ATTEMPTS: '9',
      });
      assert.equal(loaded.config.readDbUrl, 'postgres://annals@db/read');
      assert.equal(runtime.KAFKA_BROKERS, 'kafka:9092');
      assert.equal(runtime.KAFKA_SESSION_TIMEOUT_MS, 45_000);
      assert.equal(runtime.PROJECTOR_MAX_ATTEMPTS, 9);
      assert.equal(runtime.PROJECTOR_STALL_MS, 60_000);
      assert.ok(Object.isFrozen(runtime));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

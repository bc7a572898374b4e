import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnalyticsEngine } from '../../../platform/analytics/port.js';
import type { SqlClient } from '../../../platform/sql/client.js';
import { liveBatchSize, replayBatchSize } from '../../kernel/batching.js';
import { controlledTarget } from '../../kernel/controlled.js';
import { analyticsEventsModel } from './model.js';

/** An engine of `kind` that is never called: the hint is decided when the model is built, before any statement. */
const unopened = (kind: AnalyticsEngine['kind']): AnalyticsEngine => {
  const no = (): never => {
    throw new Error('engine not opened');
  };
  return { kind, database: '-', command: no, query: no, insert: no, insertJsonLines: no, ping: no, close: no };
};
const sql = {} as SqlClient; // never called either

describe('analytics_events batch hint', () => {
  test('on the server the runtime is asked for 50,000 events per batch (live and replay); chDB keeps the runtime defaults', () => {
    const server = controlledTarget(sql, analyticsEventsModel(unopened('server')));
    assert.deepEqual(server.preferredBatch, { maxEvents: 50_000 });
    assert.equal(liveBatchSize(server), 50_000);
    assert.equal(replayBatchSize(server), 50_000);
    assert.equal(liveBatchSize(server, 5_000), 5_000, "the caller's explicit setting still wins");
    const embedded = controlledTarget(sql, analyticsEventsModel(unopened('embedded')));
    assert.equal(embedded.preferredBatch, undefined);
    assert.equal(liveBatchSize(embedded), 5_000);
    assert.equal(replayBatchSize(embedded), 1_000);
  });

  test('the model option overrides the per-engine hint', () => {
    const m = analyticsEventsModel(unopened('server'), { preferredBatch: { maxEvents: 20_000 } });
    assert.deepEqual(m.preferredBatch, { maxEvents: 20_000 });
  });
});

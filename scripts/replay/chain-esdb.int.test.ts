import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { esdbEventStore } from '../../platform/event-store/esdb/adapter.js';
import { createEventStore } from '../../platform/event-store/event-store.js';
import type { EventStoreAdapter, StoredRecord } from '../../platform/event-store/port.js';
import { verifyChains } from './chain.js';

// `chain verify` through the EventStoreDB adapter (the chain rides in each event's metadata there). Like the
// adapter's contract suite (platform/event-store/esdb/esdb.int.test.ts), it runs where ESDB_CONNECTION_STRING
// points at a server, and is reported as skipped, by name, elsewhere. ESDB events cannot be edited by hand,
// so the tampering case alters a record on its way out of the adapter.
const url = process.env.ESDB_CONNECTION_STRING;

describe('replay chain verify: EventStoreDB', () => {
  it('an intact stream verifies; a record altered in transit is named with its revision', { skip: url ? false : 'ESDB_CONNECTION_STRING is not set (see platform/event-store/esdb/esdb.int.test.ts)', timeout: 60_000 }, async () => {
    const adapter = esdbEventStore(url!);
    const store = createEventStore(adapter);
    try {
      const id = uuidv7();
      const stream = `lead-${id}`;
      const meta = { tenantId: 't-esdb', actor: { userId: 'u1', roles: ['sales' as const] }, correlationId: 'c', causationId: 'c', occurredAt: new Date().toISOString() };
      await store.append(stream, [
        { type: 'LeadCaptured', data: { leadId: id, name: 'Ada 😀', source: 'web', capturedAt: new Date().toISOString() }, metadata: meta },
        { type: 'LeadScored', data: { leadId: id, score: 5, factors: [] }, metadata: meta },
        { type: 'LeadScored', data: { leadId: id, score: 6, factors: [] }, metadata: meta },
      ]);
      assert.deepEqual((await verifyChains({ adapter, stream })).breaks, []);
      const tampered: EventStoreAdapter = {
        ...adapter,
        readStream: async (s, o) => (await adapter.readStream(s, o)).map((r): StoredRecord => (r.streamRevision === 1n ? { ...r, data: r.data.replace('"score":5', '"score":9') } : r)),
      };
      const report = await verifyChains({ adapter: tampered, stream });
      assert.deepEqual(report.breaks.map((b) => [b.streamId, b.streamRevision, b.kind]), [[stream, 1n, 'content-hash']]);
    } finally {
      await store.close();
    }
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { embeddedBus } from '../../platform/bus/embedded.js';
import type { Bus } from '../../platform/bus/port.js';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { openPglite, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import { controlledTarget } from './controlled.js';
import { memoryReadModel } from './memory-target.testing.js';
import { createProjector } from './projector.js';
import { memoryContractSubject, postgresContractSubject, targetContract, type ContractDeps } from './target-contract.testing.js';
import type { BatchItem, WriteContext } from './target.js';
import { parseEvent } from '../../schemas/events/registry.js';
import { batchOf, RawHistory, readTopic, within } from './testing.js';

/**
 * The store-neutral contract (target-contract.testing.ts) against the two targets that need no server:
 * the PostgreSQL target (transactional) and an in-memory store without transactions behind
 * `controlledTarget` (the path of Elasticsearch and ClickHouse). One PGlite holds the control tables, one
 * the event store.
 */
describe('read-model targets (PGlite control tables, embedded bus)', () => {
  let sql: SqlClient;
  let storeSql: SqlClient;
  let bus: Bus;
  let store: EventStore;
  before(async () => {
    sql = pgliteClient(await openPglite());
    // A database of its own: a rebuild reads the store while its swap holds a transaction on the read database.
    storeSql = pgliteClient(await openPglite());
    bus = embeddedBus({ partitions: 2 });
    store = createEventStore(await postgresEventStore(storeSql));
  });
  after(async () => {
    await bus.close();
    await Promise.all([sql.close(), storeSql.close()]);
  });
  const deps = (): ContractDeps => ({ sql, bus, store });

  targetContract('postgres (one transaction)', deps, async (open) => postgresContractSubject(sql, open));
  targetContract('in-memory store without transactions (controlledTarget: data first, then the checkpoint)', deps, async (open) => memoryContractSubject(sql, open));

  test('a fill reaches the model with its after and through, even a fill with no event for it; any other batch carries none', async () => {
    const model = memoryReadModel({ name: `memory-${randomUUID().slice(0, 8)}` });
    const seen: Array<{ events: number; context: WriteContext | undefined }> = [];
    const target = controlledTarget(sql, { ...model, write: (g, events, context) => (seen.push({ events: events.length, context }), model.write(g, events)) });
    await target.register();
    const h = new RawHistory();
    const a = randomUUID();
    const records = [h.capture('t1', a), h.score('t1', a, 3), h.score('t1', a, 4), h.score('t1', a, 5)];
    const item = (r: (typeof records)[number]): BatchItem => ({ position: r.position, event: parseEvent(r) });
    const shadow = await target.createShadow();
    await target.apply({ generation: shadow, items: [item(records[0]!)], history: { after: undefined } });
    // A record no model handles still moves the chain: the model is called with no event.
    await target.apply({ generation: shadow, items: [{ position: records[1]!.position, event: undefined }], history: { after: records[0]!.position } });
    await target.apply({ generation: shadow, items: [item(records[2]!)], history: { after: records[1]!.position } });
    // Not a fill: the shadow does not hold exactly the history up to that `after` (it is further on).
    await target.apply({ generation: shadow, items: [item(records[3]!)], history: { after: records[1]!.position } });
    assert.deepEqual(seen, [
      { events: 1, context: { fill: { after: undefined, through: records[0]!.position } } },
      { events: 0, context: { fill: { after: records[0]!.position, through: records[1]!.position } } },
      { events: 1, context: { fill: { after: records[1]!.position, through: records[2]!.position } } },
      { events: 1, context: {} },
    ]);
  });

  test("a store's own transient failure (its isTransient) is waited out like a lost connection: nothing dead-lettered", async () => {
    const model = memoryReadModel({ name: `memory-${randomUUID().slice(0, 8)}` });
    const target = controlledTarget(sql, model);
    await target.register();
    const stop = new AbortController();
    try {
      const projector = createProjector({ target, bus, log: pino({ level: 'silent' }), retry: { maxAttempts: 2, backoff: { initialMs: 1, maxMs: 5 } } });
      model.failWrites(5); // more failures than attempts: counted against the events, they would be dead-lettered
      const h = new RawHistory();
      const a = randomUUID();
      await within(projector.handleBatch(batchOf([h.capture('t1', a), h.score('t1', a, 9)], { partition: 0 }), stop.signal), 10_000, 'the batch after the store came back');
      assert.deepEqual(model.rows(), [{ leadId: a, tenantId: 't1', score: 9, events: 2 }]);
      assert.equal(projector.stats.deadLettered, 0);
      assert.deepEqual(await readTopic(bus, `annals.dlq.${target.name}`, 1, 300), []);
    } finally {
      stop.abort();
    }
  });
});

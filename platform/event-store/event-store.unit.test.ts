import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { CorruptEventError, EventSchemaError, UnknownEventTypeError, UnsupportedEventVersionError } from '../../schemas/events/errors.js';
import { openPglite, pgliteClient } from '../sql/client.js';
import { createEventStore, type EventStore } from './event-store.js';
import { postgresEventStore } from './postgres/adapter.js';

const metadata = {
  tenantId: 'acme',
  actor: { userId: 'u-1', roles: ['sales' as const] },
  correlationId: 'corr-1',
  causationId: 'cause-1',
  occurredAt: '2026-11-21T10:00:00.000Z',
};
const captured = (leadId: string, extra: Record<string, unknown> = {}) => ({
  type: 'LeadCaptured',
  data: { leadId, name: 'Ada Lovelace', email: 'ada@example.com', source: 'web', capturedAt: '2026-11-21T10:00:00.000Z', ...extra },
  metadata,
});

describe('event store facade: the schema contract on the way in and out', () => {
  let store: EventStore;
  before(async () => {
    store = createEventStore(await postgresEventStore(pgliteClient(await openPglite())));
  });
  after(() => store.close());

  it('appends a valid event and reads it back with its full envelope', async () => {
    const id = uuidv7();
    const r = await store.append(`lead-${id}`, [captured(id)], { expectedRevision: 'no_stream' });
    const [e] = await store.readStream(`lead-${id}`);
    assert.ok(e);
    assert.equal(e.type, 'LeadCaptured');
    assert.equal(e.schemaVersion, 1);
    assert.equal(e.streamRevision, 0n);
    assert.equal(e.position, r.position);
    assert.equal(e.tenantId, 'acme');
    assert.deepEqual(e.actor, metadata.actor);
    assert.equal(e.correlationId, 'corr-1');
    assert.equal(e.causationId, 'cause-1');
    assert.equal(e.occurredAt, metadata.occurredAt);
    assert.equal(e.type === 'LeadCaptured' && e.data.email, 'ada@example.com');
  });

  it('never appends an event that fails its schema, and names the field', async () => {
    const id = uuidv7();
    await assert.rejects(
      store.append(`lead-${id}`, [captured(id, { email: 'not-an-email', source: 'carrier-pigeon' })]),
      (e: unknown) => {
        assert.ok(e instanceof EventSchemaError);
        assert.deepEqual(e.issues.map((i) => i.field).sort(), ['data.email', 'data.source']);
        return true;
      },
    );
    assert.deepEqual(await store.readStream(`lead-${id}`), []);
  });

  it('refuses an envelope without a tenant, naming metadata.tenantId', async () => {
    const id = uuidv7();
    const bad = { ...captured(id), metadata: { ...metadata, tenantId: '' } };
    await assert.rejects(store.append(`lead-${id}`, [bad]), (e: unknown) => e instanceof EventSchemaError && e.issues[0]?.field === 'metadata.tenantId');
  });

  it('refuses an unknown event type on append', async () => {
    await assert.rejects(store.append(`lead-${uuidv7()}`, [{ type: 'LeadTeleported', data: {}, metadata }]), UnknownEventTypeError);
  });

  describe('reading back what a store holds but the code does not understand', () => {
    const rawAppend = async (type: string, schemaVersion: number, data: string) => {
      const streamId = `lead-${uuidv7()}`;
      const r = await store.adapter.append(streamId, [{ eventId: uuidv7(), type, schemaVersion, data, metadata: JSON.stringify(metadata) }], 'no_stream');
      return { streamId, position: r.position };
    };
    const atCoordinates = (streamId: string, position: bigint) => (e: unknown) => {
      assert.ok(e instanceof Error);
      const c = (e as { coordinates?: { streamId?: string; position?: bigint } }).coordinates;
      assert.equal(c?.streamId, streamId);
      assert.equal(c?.position, position);
      assert.match(e.message, new RegExp(`stream ${streamId}.*position ${position}`));
      return true;
    };

    it('an unknown type is reported with its stream and position, never dropped', async () => {
      const { streamId, position } = await rawAppend('LeadTeleported', 1, '{}');
      await assert.rejects(store.readStream(streamId), (e) => e instanceof UnknownEventTypeError && atCoordinates(streamId, position)(e));
      await assert.rejects(store.readAll({ after: position - 1n, maxCount: 1 }), UnknownEventTypeError);
    });

    it('a version newer than the code knows is reported with its coordinates', async () => {
      const id = uuidv7();
      const { streamId, position } = await rawAppend('LeadCaptured', 99, JSON.stringify(captured(id).data));
      await assert.rejects(store.readStream(streamId), (e) => e instanceof UnsupportedEventVersionError && atCoordinates(streamId, position)(e));
    });

    it('corrupt JSON fails loudly with the same coordinates', async () => {
      const { streamId, position } = await rawAppend('LeadCaptured', 1, '{"leadId": "');
      await assert.rejects(store.readStream(streamId), (e) => e instanceof CorruptEventError && atCoordinates(streamId, position)(e));
    });

    it('a stored payload that no longer satisfies its schema names the field and the coordinates', async () => {
      const id = uuidv7();
      const { streamId, position } = await rawAppend('LeadCaptured', 1, JSON.stringify({ ...captured(id).data, email: 42 }));
      await assert.rejects(store.readStream(streamId), (e) => e instanceof EventSchemaError && e.issues[0]?.field === 'data.email' && atCoordinates(streamId, position)(e));
    });
  });

  it('upcasts an old version read from the store to the current one', async () => {
    const id = uuidv7();
    const v1 = { contactId: id, name: 'Grace Brewster Hopper', email: 'grace@example.com' };
    await store.adapter.append(`contact-${id}`, [{ eventId: uuidv7(), type: 'ContactCreated', schemaVersion: 1, data: JSON.stringify(v1), metadata: JSON.stringify(metadata) }], 'no_stream');
    const [e] = await store.readStream(`contact-${id}`);
    assert.equal(e?.schemaVersion, 2);
    assert.ok(e?.type === 'ContactCreated');
    assert.equal(e.data.firstName, 'Grace Brewster');
    assert.equal(e.data.lastName, 'Hopper');
  });

  describe('a read on behalf of one tenant (readStream with tenantId)', () => {
    const seed = async () => {
      const id = uuidv7();
      await store.append(`lead-${id}`, [captured(id)], { expectedRevision: 'no_stream' });
      return `lead-${id}`;
    };

    it("reads the caller's own stream exactly as an unscoped read does", async () => {
      const streamId = await seed();
      const seen: string[] = [];
      const scoped = await store.readStream(streamId, { tenantId: 'acme', onOtherTenant: (s) => seen.push(s) });
      assert.deepEqual(scoped, await store.readStream(streamId));
      assert.equal(scoped.length, 1);
      assert.deepEqual(seen, []);
    });

    it('a stream of another tenant reads as not found and the caller is told, whatever the range asked', async () => {
      const streamId = await seed();
      // Near misses of the owner's tenant id are other tenants: no normalisation, no prefix match.
      for (const tenantId of ['globex', 'ACME', 'acme ', 'acm', 'acme\u0000', '']) {
        const seen: string[] = [];
        assert.deepEqual(await store.readStream(streamId, { tenantId, onOtherTenant: (s) => seen.push(s) }), [], tenantId);
        assert.deepEqual(seen, [streamId], tenantId);
      }
      assert.deepEqual(await store.readStream(streamId, { tenantId: 'globex', toRevision: 0n }), []);
      assert.deepEqual(await store.readStream(streamId, { tenantId: 'globex', fromRevision: 0n, toRevision: 5n }), []);
    });

    it('the caller may refuse from the callback (its not-found propagates)', async () => {
      const streamId = await seed();
      const refused = new Error('not found');
      await assert.rejects(
        store.readStream(streamId, {
          tenantId: 'globex',
          onOtherTenant: () => {
            throw refused;
          },
        }),
        (e) => e === refused,
      );
    });

    it("another tenant's stream is never parsed or decrypted: even a corrupt one reads as not found", async () => {
      const streamId = `lead-${uuidv7()}`;
      await store.adapter.append(streamId, [{ eventId: uuidv7(), type: 'LeadCaptured', schemaVersion: 1, data: '{"leadId": "', metadata: JSON.stringify(metadata) }], 'no_stream');
      assert.deepEqual(await store.readStream(streamId, { tenantId: 'globex' }), []);
      await assert.rejects(store.readStream(streamId, { tenantId: 'acme' }), CorruptEventError);
    });

    it('a stream holding one event of another tenant anywhere reads as not found as a whole', async () => {
      const id = uuidv7();
      const streamId = `lead-${id}`;
      await store.append(streamId, [captured(id)], { expectedRevision: 'no_stream' });
      const foreign = { ...metadata, tenantId: 'globex' };
      await store.adapter.append(streamId, [{ eventId: uuidv7(), type: 'LeadQualified', schemaVersion: 1, data: JSON.stringify({ leadId: id, qualifiedAt: metadata.occurredAt }), metadata: JSON.stringify(foreign) }], 0n);
      assert.deepEqual(await store.readStream(streamId, { tenantId: 'acme' }), []);
      assert.deepEqual(await store.readStream(streamId, { tenantId: 'globex' }), []);
    });
  });
});

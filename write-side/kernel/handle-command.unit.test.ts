import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { streamName } from '../../schemas/events/streams.js';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { openPglite, pgliteClient } from '../../platform/sql/client.js';
import { leadDecider } from '../lead/decide.js';
import type { LeadCommand } from '../lead/commands.js';
import { DomainError } from './errors.js';
import { claimIdempotentId, handleCommand, type CommandEnvelope } from './handle-command.js';

const now = new Date('2026-11-21T10:00:00.000Z');
const actor = { userId: 'u-1', roles: ['sales' as const, 'manager' as const] };
const envelope = (extra: Partial<CommandEnvelope> = {}): CommandEnvelope => ({
  tenantId: 'acme',
  actor,
  correlationId: 'corr-1',
  causationId: 'req-1',
  ...extra,
});
const meta = (tenantId = 'acme') => ({ now, actor, tenantId });
const capture = (leadId: string): LeadCommand => ({
  type: 'CaptureLead',
  data: { leadId, name: 'Ada Lovelace', email: 'ada@example.com', source: 'web' },
  metadata: meta(),
});
const assign = (ownerId: string): LeadCommand => ({ type: 'AssignLead', data: { ownerId }, metadata: meta() });

describe('handleCommand: read, fold, decide, append at the revision read', () => {
  let store: EventStore;
  before(async () => {
    store = createEventStore(await postgresEventStore(pgliteClient(await openPglite())));
  });
  after(() => store.close());

  const newLead = async () => {
    const id = uuidv7();
    await handleCommand(store, leadDecider, streamName.lead(id), capture(id), envelope());
    return id;
  };

  it('appends the decided events with the envelope the shell gave', async () => {
    const id = uuidv7();
    const r = await handleCommand(store, leadDecider, streamName.lead(id), capture(id), envelope({ idempotencyKey: 'k-envelope', subjectId: id }));
    assert.equal(r.revision, 0n);
    assert.equal(r.replayed, false);
    const [e] = await store.readStream(streamName.lead(id));
    assert.equal(e?.position, r.position);
    assert.equal(e?.correlationId, 'corr-1');
    assert.equal(e?.causationId, 'req-1');
    assert.equal(e?.idempotencyKey, 'k-envelope');
    assert.equal(e?.subjectId, id);
    assert.equal(e?.occurredAt, now.toISOString());
  });

  it('a repeated idempotency key appends nothing and returns the first result', async () => {
    const id = await newLead();
    const first = await handleCommand(store, leadDecider, streamName.lead(id), assign('owner-1'), envelope({ idempotencyKey: 'assign-once' }));
    const again = await handleCommand(store, leadDecider, streamName.lead(id), assign('owner-1'), envelope({ idempotencyKey: 'assign-once' }));
    assert.equal(again.replayed, true);
    assert.equal(again.revision, first.revision);
    assert.equal(again.position, first.position);
    assert.equal((await store.readStream(streamName.lead(id))).length, 2);
  });

  it('concurrent retries of one idempotent command append once', async () => {
    const id = await newLead();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => handleCommand(store, leadDecider, streamName.lead(id), assign('owner-2'), envelope({ idempotencyKey: 'race' }))),
    );
    assert.equal(results.filter((r) => !r.replayed).length, 1);
    assert.equal(new Set(results.map((r) => r.position)).size, 1);
    assert.equal((await store.readStream(streamName.lead(id))).length, 2);
  });

  it('without If-Match, concurrent writers are retried until each has decided on fresh state', async () => {
    const id = await newLead();
    await Promise.all(['a', 'b', 'c', 'd'].map((o) => handleCommand(store, leadDecider, streamName.lead(id), assign(`owner-${o}`), envelope())));
    const events = await store.readStream(streamName.lead(id));
    assert.equal(events.length, 5);
    assert.deepEqual(events.map((e) => e.streamRevision), [0n, 1n, 2n, 3n, 4n]);
  });

  it('with a stale If-Match answers a conflict and appends nothing', async () => {
    const id = await newLead();
    await handleCommand(store, leadDecider, streamName.lead(id), assign('owner-1'), envelope());
    await assert.rejects(
      handleCommand(store, leadDecider, streamName.lead(id), assign('owner-2'), envelope({ expectedRevision: 0n })),
      (e: unknown) => e instanceof DomainError && e.code === 'STREAM_ERR_REVISION_MISMATCH' && e.errorClass === 'conflict',
    );
    assert.equal((await store.readStream(streamName.lead(id))).length, 2);
  });

  it('a domain rejection appends nothing', async () => {
    const id = await newLead();
    await assert.rejects(handleCommand(store, leadDecider, streamName.lead(id), capture(id), envelope()), (e: unknown) => e instanceof DomainError && e.errorClass === 'conflict');
    assert.equal((await store.readStream(streamName.lead(id))).length, 1);
  });

  it("another tenant's stream is answered as not found", async () => {
    const id = await newLead();
    await assert.rejects(
      handleCommand(store, leadDecider, streamName.lead(id), { ...assign('x'), metadata: meta('globex') }, envelope({ tenantId: 'globex' })),
      (e: unknown) => e instanceof DomainError && e.code === 'TENANT_ERR_NOT_FOUND' && e.errorClass === 'not-found',
    );
    assert.equal((await store.readStream(streamName.lead(id))).length, 1);
  });

  it('a retried create with the same idempotency key lands on the same id and creates once', async () => {
    const env = envelope({ idempotencyKey: `create-${uuidv7()}` });
    const results = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const id = await claimIdempotentId(store, env, streamName.lead, uuidv7(), 'CaptureLead', now);
        return { id, r: await handleCommand(store, leadDecider, streamName.lead(id), capture(id), env) };
      }),
    );
    const ids = new Set(results.map((x) => x.id));
    assert.equal(ids.size, 1);
    const [id] = [...ids];
    assert.equal((await store.readStream(streamName.lead(id!))).length, 1);
    assert.equal(results.filter((x) => !x.r.replayed).length, 1);
  });
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { streamName } from '../../schemas/events/streams.js';
import { createEventStore, type EventStore } from '../../platform/event-store/event-store.js';
import { postgresEventStore } from '../../platform/event-store/postgres/adapter.js';
import { openPglite, pgliteClient } from '../../platform/sql/client.js';
import { leadDecider } from '../lead/decide.js';
import type { LeadCommand } from '../lead/commands.js';
import { DomainError } from './errors.js';
import { claimIdempotentId, handleCommand, idempotencyStream, type CommandEnvelope } from './handle-command.js';
import { hashedStreamName } from './stream-keys.js';

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

  it('If-Match holds on every attempt: a write landing between our read and our append → 409, nothing of ours appended', async () => {
    const id = await newLead();
    const stream = streamName.lead(id);
    let interfered = false;
    // Appends a competing event right before our append, after our read saw revision 0.
    const racing: EventStore = {
      ...store,
      async append(streamId, events, options) {
        if (streamId === stream && !interfered) {
          interfered = true;
          await handleCommand(store, leadDecider, stream, assign('competitor'), envelope());
        }
        return store.append(streamId, events, options);
      },
    };
    await assert.rejects(
      handleCommand(racing, leadDecider, stream, assign('ours'), envelope({ expectedRevision: 0n })),
      (e: unknown) => e instanceof DomainError && e.code === 'STREAM_ERR_REVISION_MISMATCH' && e.errorClass === 'conflict',
    );
    const events = await store.readStream(stream);
    assert.deepEqual(
      events.map((e) => (e.type === 'LeadAssigned' ? e.data.ownerId : e.type)),
      ['LeadCaptured', 'competitor'],
      'the competitor landed, ours was never retried into a success',
    );
  });

  it('an aggregate that does not exist → its not-found (404), with and without If-Match', async () => {
    for (const expectedRevision of [undefined, 0n, 5n, -1n]) {
      const id = uuidv7();
      await assert.rejects(
        handleCommand(store, leadDecider, streamName.lead(id), assign('x'), envelope(expectedRevision === undefined ? {} : { expectedRevision })),
        (e: unknown) => e instanceof DomainError && e.code === 'LEAD_ERR_NOT_FOUND' && e.errorClass === 'not-found',
        `If-Match ${expectedRevision}`,
      );
      assert.equal((await store.readStream(streamName.lead(id))).length, 0);
    }
  });

  it('idempotency keys are scoped by an unambiguous (tenant, key) tuple: acme + "x:k1" and "acme:x" + "k1" are two keys', async () => {
    assert.notEqual(idempotencyStream('acme', 'x:k1'), idempotencyStream('acme:x', 'k1'));
    const first = envelope({ tenantId: 'acme', idempotencyKey: 'x:k1' });
    const second = envelope({ tenantId: 'acme:x', idempotencyKey: 'k1' });
    const a = await claimIdempotentId(store, first, streamName.lead, uuidv7(), 'CaptureLead', now);
    const proposed = uuidv7();
    const b = await claimIdempotentId(store, second, streamName.lead, proposed, 'CaptureLead', now);
    assert.equal(b, proposed, 'the second tenant gets its own id, not the first tenant\'s');
    assert.notEqual(a, b);
  });

  it('a claim under the old ambiguous name is found by its own tenant only', async () => {
    const legacyName = (t: string, k: string) => `idempotency-${createHash('sha256').update(`${t}:${k}`).digest('hex')}`;
    const oldId = uuidv7();
    await store.append(legacyName('acme', 'y:k2'), [
      { type: 'IdempotencyKeyClaimed', data: { streamId: streamName.lead(oldId), commandType: 'CaptureLead' }, metadata: { tenantId: 'acme', actor, correlationId: 'c', causationId: 'c', occurredAt: now.toISOString() } },
    ]);
    assert.equal(await claimIdempotentId(store, envelope({ tenantId: 'acme', idempotencyKey: 'y:k2' }), streamName.lead, uuidv7(), 'CaptureLead', now), oldId, 'a retry spanning the upgrade');
    const fresh = uuidv7();
    assert.equal(await claimIdempotentId(store, envelope({ tenantId: 'acme:y', idempotencyKey: 'k2' }), streamName.lead, fresh, 'CaptureLead', now), fresh, 'the colliding tenant is not answered with it');
  });

  it('hashedStreamName: distinct tuples never share a name, whatever the parts contain', () => {
    const tuples: string[][] = [
      ['acme', 'x:k1'],
      ['acme:x', 'k1'],
      ['a\nb', 'c'],
      ['a', 'b\nc'],
      ['a', 'b', 'c'],
      ['a', 'b,c'],
      ['a","b', 'c'],
      ['a', '","b', 'c'],
      ['\ud800', 'x'],
      ['\udc00', 'x'],
      ['\ufffd', 'x'],
      ['\u0000', ''],
      ['', '\u0000'],
      [''],
      ['', ''],
    ];
    const names = tuples.map((t) => hashedStreamName('p', t));
    assert.equal(new Set(names).size, tuples.length);
    assert.notEqual(hashedStreamName('p', ['a']), hashedStreamName('q', ['a']), 'the prefix is part of the tuple');
    assert.notEqual(hashedStreamName('p', ['a'], 'k1'), hashedStreamName('p', ['a'], 'k2'), 'keyed');
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

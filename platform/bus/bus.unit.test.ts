import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { backoffDelay } from './backoff.js';
import { embeddedBus } from './embedded.js';
import { deadLetter, decodeEvent, DLQ, encodeEvent, MalformedMessageError, type ConsumedMessage } from './message.js';
import { murmur2, partitionOf } from './partitioner.js';
import type { Bus, ConsumedBatch } from './port.js';
import { deadLetterTopic, eventsTopic, projectorGroup, topicOfStream } from './topics.js';

const record = {
  eventId: '0190a0a0-0000-7000-8000-000000000001',
  type: 'LeadCaptured',
  schemaVersion: 1,
  streamId: 'lead-0190a0a0-0000-7000-8000-000000000009',
  streamRevision: 3n,
  position: 123456789012345678n,
  data: '{"leadId":"x"}',
  metadata: '{"tenantId":"t"}',
  hash: 'abc',
};

describe('topics and message format', () => {
  test('names follow SPEC: annals.<aggregate>.events, annals.dlq.<consumer>, annals.projector.<name>', () => {
    assert.equal(eventsTopic('lead'), 'annals.lead.events');
    assert.equal(topicOfStream('deal-123'), 'annals.deal.events');
    assert.equal(topicOfStream('idempotency-abc'), undefined);
    assert.equal(deadLetterTopic('contacts'), 'annals.dlq.contacts');
    assert.equal(projectorGroup('contacts'), 'annals.projector.contacts');
  });

  test('key = stream id, value = data bytes, headers = envelope; decoding restores the raw record', () => {
    const m = encodeEvent(record);
    assert.equal(m.key, record.streamId);
    assert.equal(m.value, record.data);
    assert.equal(m.headers.position, '123456789012345678');
    const consumed: ConsumedMessage = { ...m, topic: 't', partition: 0, offset: 5n };
    assert.deepEqual(decodeEvent(consumed), { ...record });
  });

  test('a message without the envelope headers is rejected with its coordinates', () => {
    const consumed: ConsumedMessage = { key: 'k', value: '{}', headers: { type: 'X' }, topic: 't', partition: 2, offset: 7n };
    assert.throws(() => decodeEvent(consumed), (e: unknown) => e instanceof MalformedMessageError && /t\[2\]@7/.test(e.message));
  });

  test('a dead letter keeps the original and adds the error, code and source coordinates', () => {
    const err = Object.assign(new Error('boom'), { code: 'X_ERR' });
    const dl = deadLetter(encodeEvent(record), 'annals.dlq.p', { consumer: 'p', error: err, attempts: 3, at: new Date(0), source: { topic: 't', partition: 1, offset: 9n } });
    assert.equal(dl.topic, 'annals.dlq.p');
    assert.equal(dl.value, record.data);
    assert.equal(dl.headers[DLQ.error], 'boom');
    assert.equal(dl.headers[DLQ.code], 'X_ERR');
    assert.equal(dl.headers[DLQ.sourceOffset], '9');
    assert.equal(dl.headers.eventId, record.eventId);
  });

  test('murmur2 partitioning is the one kafkajs uses (same partition in both adapters)', () => {
    const require = createRequire(import.meta.url);
    const kafkajsMurmur = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (k: string) => number;
    for (const key of ['', 'a', 'ab', 'abc', 'abcd', 'lead-0190a0a0-0000-7000-8000-000000000001', 'contact-ü']) {
      assert.equal(murmur2(key), kafkajsMurmur(key), key);
    }
    assert.ok(partitionOf('x', 6) >= 0 && partitionOf('x', 6) < 6);
  });

  test('backoff grows exponentially, is capped, and jitters within [cap/2, cap]', () => {
    const p = { initialMs: 100, maxMs: 1000 };
    assert.equal(backoffDelay(p, 1, 1), 100);
    assert.equal(backoffDelay(p, 3, 1), 400);
    assert.equal(backoffDelay(p, 10, 1), 1000);
    assert.equal(backoffDelay(p, 10, 0), 500);
  });
});

const msg = (topic: string, key: string, value: string) => ({ topic, key, value, headers: { h: value } });

/** Consumes until `until(received)` holds; returns the batches. */
async function consumeUntil(bus: Bus, groupId: string, topics: string[], until: (all: ConsumedMessage[]) => boolean, resume = new Map<string, bigint>()) {
  const all: ConsumedMessage[] = [];
  const c = new AbortController();
  const batches: ConsumedBatch[] = [];
  const done = bus.consume({
    groupId,
    topics,
    resumeFrom: async () => resume,
    signal: c.signal,
    onBatch: async (b) => {
      batches.push(b);
      all.push(...b.messages);
      if (until(all)) c.abort();
    },
  });
  await done;
  return { all, batches };
}

describe('embedded bus', () => {
  test('keeps per-key order across partitions and spreads keys over partitions', async () => {
    const bus = embeddedBus({ partitions: 4 });
    const topic = 'annals.lead.events';
    const messages = [];
    for (let i = 0; i < 200; i++) messages.push(msg(topic, `lead-${i % 10}`, String(i)));
    await bus.publish(messages);
    const { all } = await consumeUntil(bus, 'g', [topic], (a) => a.length === 200);
    const byKey = new Map<string, number[]>();
    for (const m of all) byKey.set(m.key!, [...(byKey.get(m.key!) ?? []), Number(m.value)]);
    for (const values of byKey.values()) assert.deepEqual(values, [...values].sort((a, b) => a - b));
    assert.ok(new Set(all.map((m) => m.partition)).size > 1);
    for (const m of all) assert.equal(m.partition, partitionOf(m.key!, 4));
  });

  test('a group resumes from its committed offset; a member that crashes mid-batch gets the batch again', async () => {
    const bus = embeddedBus({ partitions: 1, maxBatch: 5 });
    const topic = 't';
    await bus.publish(Array.from({ length: 10 }, (_, i) => msg(topic, 'k', String(i))));
    // First member: applies the first batch (0..4), then crashes while handling the second.
    let calls = 0;
    await assert.rejects(
      bus.consume({
        groupId: 'g',
        topics: [topic],
        resumeFrom: async () => new Map(),
        signal: new AbortController().signal,
        onBatch: async () => {
          if (++calls === 2) throw new Error('crash');
        },
      }),
      /crash/,
    );
    const { all } = await consumeUntil(bus, 'g', [topic], (a) => a.length === 5);
    assert.deepEqual(all.map((m) => m.value), ['5', '6', '7', '8', '9']);
    // Another group starts from the beginning.
    const other = await consumeUntil(bus, 'other', [topic], (a) => a.length === 10);
    assert.equal(other.all[0]!.value, '0');
  });

  test('the caller’s checkpoint (resumeFrom) wins over the group offset', async () => {
    const bus = embeddedBus({ partitions: 1 });
    await bus.publish(Array.from({ length: 6 }, (_, i) => msg('t', 'k', String(i))));
    const { all } = await consumeUntil(bus, 'g', ['t'], (a) => a.length === 2, new Map([['t:0', 4n]]));
    assert.deepEqual(all.map((m) => m.value), ['4', '5']);
    assert.deepEqual([...(await bus.endOffsets('t'))], [[0, 6n]]);
  });

  test('two members of a group split the partitions; together they see everything once', async () => {
    const bus = embeddedBus({ partitions: 4 });
    const topic = 'annals.deal.events';
    const c = new AbortController();
    const seen: Array<{ member: number; m: ConsumedMessage }> = [];
    const member = (id: number) =>
      bus.consume({ groupId: 'g', topics: [topic], resumeFrom: async () => new Map(), signal: c.signal, onBatch: async (b) => void seen.push(...b.messages.map((m) => ({ member: id, m }))) });
    const runs = [member(1), member(2)];
    await new Promise((r) => setTimeout(r, 20));
    await bus.publish(Array.from({ length: 100 }, (_, i) => msg(topic, `deal-${i}`, String(i))));
    for (let i = 0; i < 100 && seen.length < 100; i++) await new Promise((r) => setTimeout(r, 10));
    c.abort();
    await Promise.all(runs);
    assert.equal(seen.length, 100);
    assert.equal(new Set(seen.map((s) => s.m.value)).size, 100);
    assert.deepEqual(new Set(seen.map((s) => s.member)), new Set([1, 2]));
  });

  test('with a directory, a restarted bus has the same log and offsets', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'annals-bus-'));
    try {
      const a = embeddedBus({ dir, partitions: 2 });
      await a.publish(Array.from({ length: 10 }, (_, i) => msg('t', `k${i}`, String(i))));
      await a.close();
      const b = embeddedBus({ dir, partitions: 2 });
      const ends = await b.endOffsets('t');
      assert.equal([...ends.values()].reduce((x, y) => x + y, 0n), 10n);
      const { all } = await consumeUntil(b, 'g', ['t'], (x) => x.length === 10);
      assert.deepEqual(all.map((m) => m.value).sort(), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

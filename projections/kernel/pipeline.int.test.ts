import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { kafkaBus } from '../../platform/bus/kafka.js';
import { DLQ, encodeEvent, type ConsumedMessage } from '../../platform/bus/message.js';
import type { Bus } from '../../platform/bus/port.js';
import { createEventReader, type EventReader } from '../../platform/event-store/read-events.js';
import { allEventsTopics, eventsTopic } from '../../platform/bus/topics.js';
import { registerProjection } from './generations.js';
import { backupReadModel, capture, freshReplayRows, openIntRun, readTopic, score, seedOffsetsAtEnd, silent, tenantRows, until, type IntRun } from './testing.js';
import { createProjector, type Projector } from './projector.js';
import { POISON_SCORE } from './test-projection.js';

/**
 * The whole pipeline on the real servers: PostgreSQL event store → relay → Kafka → projector → PostgreSQL.
 * The relay runs as its own service (a child process running write-side/relay/main.ts), as in production;
 * projections never import write-side code, tests included.
 */

const root = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

interface Pipeline {
  readonly bus: Bus;
  readonly projector: Projector;
  stop(): Promise<void>;
}

function spawnTs(file: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', root(file)], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
}

async function startPipeline(r: IntRun, options: { withProjector?: boolean } = {}): Promise<Pipeline> {
  const bus = kafkaBus({ brokers: r.brokers.split(','), clientId: `pipeline-${r.run}`, sessionTimeoutMs: 6_000, log: silent });
  await registerProjection(r.readSql, r.projection);
  // A new read model on shared topics: start its group at their current end (older messages are other runs').
  await seedOffsetsAtEnd(r, bus, allEventsTopics);
  const relay = spawnTs('write-side/relay/main.ts', {
    EVENTSTORE_URL: process.env.EVENTSTORE_URL!,
    KAFKA_BROKERS: r.brokers,
    RELAY_CHECKPOINT_NAME: `test-${r.run}`,
    RELAY_FROM: 'head',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
  });
  // Let the relay store its starting checkpoint (the head) before the test appends anything.
  await until(async () => (await r.storeSql.query(`SELECT 1 FROM annals_relay_checkpoint WHERE name = $1`, [`test-${r.run}`]).catch(() => ({ rows: [] }))).rows.length === 1, 20_000, 'the relay to start');
  const c = new AbortController();
  const projector = createProjector({ sql: r.readSql, bus, projection: r.projection, log: silent, retry: { maxAttempts: 3, backoff: { initialMs: 20, maxMs: 1_000 } } });
  const consuming = options.withProjector === false ? Promise.resolve() : projector.run(c.signal);
  return {
    bus,
    projector,
    async stop() {
      c.abort();
      relay.kill('SIGTERM');
      await Promise.all([consuming, relay.exitCode === null ? new Promise((res) => relay.once('exit', res)) : undefined]);
      await bus.close();
    },
  };
}

const table = (r: IntRun) => r.projection.tables[0]!;
const rowsOf = (r: IntRun) => tenantRows(r.readSql, table(r), r.tenant) as Promise<Array<{ lead_id: string; score: number | null; events: number }>>;

describe('pipeline on real PostgreSQL + Kafka', { timeout: 240_000 }, () => {
  test('events → relay → Kafka → read model; a relay republish and a poison event change nothing else', { timeout: 60_000 }, async () => {
    const r = await openIntRun();
    const p = await startPipeline(r);
    try {
      const ids = Array.from({ length: 20 }, () => randomUUID());
      for (const id of ids) await r.store.append(`lead-${id}`, [capture(r.tenant, id)]);
      for (const [i, id] of ids.entries()) await r.store.append(`lead-${id}`, [score(r.tenant, id, i === 3 ? POISON_SCORE : 40 + i), score(r.tenant, id, 60 + i)]);
      // 60 events; the poison one is dead-lettered, so 59 effects.
      await until(async () => (await rowsOf(r)).reduce((n, x) => n + x.events, 0) === 59, 40_000, 'all events applied');
      const rows = await rowsOf(r);
      assert.equal(rows.length, 20);
      assert.equal(rows.find((x) => x.lead_id === ids[3])?.score, 63, 'the event after the poison one was applied');
      assert.deepEqual(rows, await freshReplayRows(r), 'read model equals a fresh replay');

      // The relay crashed after the ack and before its checkpoint: the same events again, at new offsets.
      const dup = p.projector.stats.duplicates;
      const records = (await Promise.all(ids.map((id) => r.store.readStreamRaw(`lead-${id}`)))).flat();
      await p.bus.publish(records.map((rec) => ({ topic: eventsTopic('lead'), ...encodeEvent(rec) })));
      await until(() => p.projector.stats.duplicates >= dup + 59, 20_000, 'the republished events to be seen as duplicates');
      assert.deepEqual(await rowsOf(r), rows);

      const dlq = await readKafkaTopic(r.brokers, `annals.dlq.${r.projection.name}`, 1);
      assert.equal(dlq[0]!.key, `lead-${ids[3]}`);
      assert.equal(dlq[0]!.headers.streamRevision, '1');
      assert.match(dlq[0]!.headers[DLQ.error]!, /division by zero/);
    } finally {
      await p.stop();
      await r.close();
    }
  });

  test('projector killed with SIGKILL mid-batch, then restarted: the read model equals a fresh replay', { timeout: 90_000 }, async () => {
    const r = await openIntRun({ sleepMsPerEvent: 4 });
    const p = await startPipeline(r, { withProjector: false });
    const children: ChildProcess[] = [];
    const child = () => {
      const c = spawnTs('projections/kernel/crash-child.testing.ts', { KT_NAME: r.projection.name, KT_TABLE: table(r), KT_SLEEP_MS: '4', KAFKA_BROKERS: r.brokers });
      children.push(c);
      return c;
    };
    try {
      const ids = Array.from({ length: 150 }, () => randomUUID());
      for (const id of ids) await r.store.append(`lead-${id}`, [capture(r.tenant, id), score(r.tenant, id, 50)]);
      const first = child();
      await until(async () => (await rowsOf(r)).length > 0, 40_000, 'the first child to commit a batch');
      // Kill it inside a batch transaction (each event sleeps 4 ms in SQL, so batches take a while).
      const inTransaction = async () =>
        (await r.readSql.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND xact_start IS NOT NULL AND query LIKE '%pg_sleep%'`, [r.projection.name])).rows.length > 0;
      await until(inTransaction, 20_000, 'the child to be inside a batch transaction');
      first.kill('SIGKILL');
      await new Promise((res) => first.once('exit', res));
      const atKill = await rowsOf(r);
      assert.ok(atKill.filter((x) => x.events === 2).length < 150, 'killed before it finished');
      child();
      await until(async () => (await rowsOf(r)).filter((x) => x.events === 2).length === 150, 60_000, 'the restarted projector to finish');
      assert.deepEqual(await rowsOf(r), await freshReplayRows(r));
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await p.stop();
      await r.close();
    }
  });

  test('read database restored from a backup (its checkpoint behind the group offset): the restarted projector re-applies from its own checkpoint', { timeout: 90_000 }, async () => {
    const r = await openIntRun();
    const topic = eventsTopic('lead');
    const bus = kafkaBus({ brokers: r.brokers.split(','), clientId: `restore-${r.run}`, sessionTimeoutMs: 6_000, log: silent });
    const { generation } = await registerProjection(r.readSql, r.projection);
    await seedOffsetsAtEnd(r, bus, [topic]);
    // The relay's part, done by hand: what is appended is published.
    const appendAndPublish = async (ids: readonly string[], score_: number) => {
      for (const id of ids) await r.store.append(`lead-${id}`, [...((await r.store.readStreamRaw(`lead-${id}`)).length === 0 ? [capture(r.tenant, id)] : []), score(r.tenant, id, score_)]);
      const records = (await Promise.all(ids.map((id) => r.store.readStreamRaw(`lead-${id}`)))).flat();
      await bus.publish(records.map((rec) => ({ topic, ...encodeEvent(rec) })));
    };
    const total = async () => (await rowsOf(r)).reduce((n, x) => n + x.events, 0);
    let member: { c: AbortController; running: Promise<void>; projector: Projector } | undefined;
    const start = () => {
      const c = new AbortController();
      const projector = createProjector({ sql: r.readSql, bus, projection: r.projection, log: silent, topics: [topic], retry: { maxAttempts: 3, backoff: { initialMs: 20, maxMs: 1_000 } } });
      member = { c, running: projector.run(c.signal), projector };
    };
    const stop = async () => {
      member?.c.abort();
      await member?.running;
      member = undefined;
    };
    try {
      start();
      const first = Array.from({ length: 15 }, () => randomUUID());
      await appendAndPublish(first, 30);
      await until(async () => (await total()) === 30, 40_000, 'the first events applied');
      const restore = await backupReadModel(r.readSql, r.projection, generation);

      // After the backup: more events, applied, their offsets committed to the consumer group.
      const second = Array.from({ length: 10 }, () => randomUUID());
      await appendAndPublish([...second, ...first.slice(0, 5)], 70);
      await until(async () => (await total()) === 30 + 20 + 5, 40_000, 'the later events applied');
      const lag = async () => {
        let n = 0n;
        for (const [partition, end] of await bus.endOffsets(topic)) n += end - (member?.projector.stats.partitions.get(`${topic}:${partition}`)?.nextOffset ?? end);
        return n;
      };
      await until(async () => (await lag()) === 0n, 20_000, 'every partition consumed');
      await new Promise((res) => setTimeout(res, 1_000)); // the group commit follows each batch
      await stop();

      await restore(); // the read database is back to the backup; the group's offsets are not
      assert.equal(await total(), 30, 'restored');
      start();
      await until(async () => (await total()) === 55, 40_000, 'the events after the backup applied again from the projector\'s own checkpoint');
      assert.deepEqual(await rowsOf(r), await freshReplayRows(r), 'read model equals a fresh replay');
    } finally {
      await stop();
      await bus.close();
      await r.close();
    }
  });

  test('pipelined hand-over on Kafka: a batch that fails to decode (key store unreachable) fails the batches handed over after it; the restarted member applies everything once, in order', { timeout: 90_000 }, async () => {
    // Each event sleeps 3 ms in SQL: transactions take a while, so fetches arrive while one is in flight.
    const r = await openIntRun({ sleepMsPerEvent: 3 });
    const topic = eventsTopic('lead');
    const bus = kafkaBus({ brokers: r.brokers.split(','), clientId: `pipelined-${r.run}`, sessionTimeoutMs: 6_000, log: silent });
    await registerProjection(r.readSql, r.projection);
    await seedOffsetsAtEnd(r, bus, [topic]);
    const c = new AbortController();
    let running: Promise<void> = Promise.resolve();
    try {
      const ids = Array.from({ length: 150 }, () => randomUUID());
      for (const id of ids) await r.store.append(`lead-${id}`, [capture(r.tenant, id), score(r.tenant, id, 50)]);
      const records = (await Promise.all(ids.map((id) => r.store.readStreamRaw(`lead-${id}`)))).flat();
      // The score of a lead early on fails once, as a key store outage would (not the record's fault: the
      // batch fails), while batches of its partition fetched after it wait behind it.
      const failing = records[41]!.eventId;
      const inner = createEventReader();
      let failures = 0;
      const reader: EventReader = {
        encrypted: false,
        readOrThrow: inner.readOrThrow,
        async read(batch) {
          if (failures === 0 && batch.some((x) => x.eventId === failing)) {
            failures++;
            // A key store that times out: meanwhile the next fetches are handed over and queue behind this batch.
            await new Promise((res) => setTimeout(res, 1_000));
            throw new Error('simulated: key store unreachable');
          }
          return inner.read(batch);
        },
      };
      // Small transactions, so batches queue behind the failing one (pipelining holds 2 × 50 messages).
      const projector = createProjector({ sql: r.readSql, bus, projection: r.projection, log: silent, topics: [topic], reader, maxMessagesPerTransaction: 50, retry: { maxAttempts: 3, backoff: { initialMs: 20, maxMs: 500 } } });
      running = projector.run(c.signal);
      // Published in chunks while the member consumes: each fetch brings a partition's next few messages.
      for (let i = 0; i < records.length; i += 20) {
        await bus.publish(records.slice(i, i + 20).map((rec) => ({ topic, ...encodeEvent(rec) })));
        await new Promise((res) => setTimeout(res, 100));
      }
      await until(async () => (await rowsOf(r)).filter((x) => x.events === 2).length === ids.length, 60_000, 'every lead applied after the restart');
      assert.equal(failures, 1);
      assert.deepEqual(await rowsOf(r), await freshReplayRows(r), 'read model equals a fresh replay: nothing skipped, nothing twice');
    } finally {
      c.abort();
      await running;
      await bus.close();
      await r.close();
    }
  });

  test('Kafka broker restarted while events flow: nothing lost, nothing applied twice', { timeout: 150_000 }, async () => {
    const r = await openIntRun();
    const p = await startPipeline(r);
    let down = false;
    try {
      const ids: string[] = [];
      let appending = true;
      const writer = (async () => {
        while (appending) {
          const id = randomUUID();
          ids.push(id);
          await r.store.append(`lead-${id}`, [capture(r.tenant, id), score(r.tenant, id, 10)]);
          await new Promise((res) => setTimeout(res, 25));
        }
      })();
      await until(async () => (await rowsOf(r)).length >= 10, 20_000, 'the first events to flow');
      down = true;
      stack('down', 'kafka');
      await new Promise((res) => setTimeout(res, 1_000));
      stack('up', 'kafka');
      down = false;
      await new Promise((res) => setTimeout(res, 1_000));
      appending = false;
      await writer;
      await until(async () => (await rowsOf(r)).filter((x) => x.events === 2).length === ids.length, 90_000, `all ${ids.length} leads applied`);
      assert.deepEqual(await rowsOf(r), await freshReplayRows(r));
    } finally {
      // A shared server: whatever happened, leave Kafka running.
      if (down) stack('up', 'kafka');
      await p.stop();
      await r.close();
    }
  });
});

function stack(cmd: 'up' | 'down', server: string): void {
  const res = spawnSync(process.execPath, [root('scripts/cli/annals.mjs'), 'stack', cmd, server], { encoding: 'utf8', timeout: 120_000 });
  if (res.status !== 0) throw new Error(`annals stack ${cmd} ${server} failed: ${res.stderr}${res.stdout}`);
}

async function readKafkaTopic(brokers: string, topic: string, n: number): Promise<ConsumedMessage[]> {
  const bus = kafkaBus({ brokers: brokers.split(','), clientId: 'dlq-reader', log: silent });
  try {
    return await readTopic(bus, topic, n, 20_000);
  } finally {
    await bus.close();
  }
}

import { randomUUID } from 'node:crypto';
import { encodeEvent, type ConsumedMessage } from '../../platform/bus/message.js';
import type { Bus, ConsumedBatch } from '../../platform/bus/port.js';
import type { SqlClient, SqlExecutor } from '../../platform/sql/client.js';
import type { RawStoredEvent } from '../../schemas/events/registry.js';

/**
 * Test helpers of the projection kernel (not production code): waits that always end, a SqlClient that
 * fails on demand, hand-made bus batches and a DLQ reader with a deadline.
 */

/** Polls `cond` every 10 ms; throws (never hangs) after `ms`. */
export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** `promise`, or a rejection naming `what` after `ms`: a broken guarantee fails the test instead of hanging it. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads up to `n` messages of `topic` from its start, giving up after `ms` (returns what it got). */
export async function readTopic(bus: Bus, topic: string, n: number, ms = 2_000): Promise<ConsumedMessage[]> {
  const out: ConsumedMessage[] = [];
  const c = new AbortController();
  const timer = setTimeout(() => c.abort(), ms);
  try {
    await bus.ensureTopics([topic]);
    await bus.consume({
      groupId: `reader-${randomUUID()}`,
      topics: [topic],
      resumeFrom: async () => new Map(),
      signal: c.signal,
      onBatch: async (b) => {
        out.push(...b.messages);
        if (out.length >= n) c.abort();
      },
    });
  } finally {
    clearTimeout(timer);
  }
  return out;
}

/** What a fault sees of one statement. */
export interface Call {
  readonly sql: string;
  readonly params: readonly unknown[];
  /** Inside `transaction`. */
  readonly inTransaction: boolean;
}

/**
 * `inner` with a fault injector: before each statement (and before a transaction starts, as a call with
 * sql `BEGIN`), `fault` may return an error, which is thrown instead of running it. Counts transactions.
 */
export function faultySql(inner: SqlClient, fault: (call: Call) => unknown): SqlClient & { transactions: number } {
  const guard = (call: Call) => {
    const error = fault(call);
    if (error !== undefined) throw error;
  };
  const wrap = (x: SqlExecutor, inTransaction: boolean): SqlExecutor => ({
    async query<R>(sql: string, params: readonly unknown[] = []) {
      guard({ sql, params, inTransaction });
      return x.query<R>(sql, params);
    },
    async exec(sql: string) {
      guard({ sql, params: [], inTransaction });
      return x.exec(sql);
    },
  });
  const outer = wrap(inner, false);
  const client = {
    dialect: inner.dialect,
    transactions: 0,
    query: outer.query,
    exec: outer.exec,
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      guard({ sql: 'BEGIN', params: [], inTransaction: false });
      client.transactions++;
      return inner.transaction((tx) => fn(wrap(tx, true)));
    },
    close: () => inner.close(),
  };
  return client;
}

/** An error as node-postgres reports a server error: a message and a SQLSTATE `code`. */
export function sqlError(code: string, message = `simulated ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

/** Raw stored events (as the relay publishes them) delivered as one batch of one partition, from `firstOffset`. */
export function batchOf(records: readonly RawStoredEvent[], options: { topic?: string; partition: number; firstOffset?: bigint }): ConsumedBatch {
  const topic = options.topic ?? 'annals.lead.events';
  const first = options.firstOffset ?? 0n;
  return {
    topic,
    partition: options.partition,
    highWatermark: first + BigInt(records.length),
    messages: records.map((r, i): ConsumedMessage => ({ topic, partition: options.partition, offset: first + BigInt(i), ...encodeEvent(r) })),
  };
}

/** Hand-made raw events, with positions and stream revisions assigned in order; NOT validated (that is the point). */
export class RawHistory {
  readonly records: RawStoredEvent[] = [];
  private readonly revisions = new Map<string, bigint>();
  constructor(private position = 1_000n) {}

  add(streamId: string, type: string, data: unknown, tenantId: string, schemaVersion = 1): RawStoredEvent {
    const streamRevision = (this.revisions.get(streamId) ?? -1n) + 1n;
    this.revisions.set(streamId, streamRevision);
    this.position += 1n;
    const record: RawStoredEvent = {
      eventId: randomUUID(),
      type,
      schemaVersion,
      streamId,
      streamRevision,
      position: this.position,
      data,
      metadata: { tenantId, actor: { userId: 'u1', roles: ['sales'] }, correlationId: 'c', causationId: 'c', occurredAt: new Date().toISOString() },
    };
    this.records.push(record);
    return record;
  }

  capture(tenantId: string, leadId: string): RawStoredEvent {
    return this.add(`lead-${leadId}`, 'LeadCaptured', { leadId, name: 'Ada', source: 'web', capturedAt: new Date().toISOString() }, tenantId);
  }

  score(tenantId: string, leadId: string, score: number): RawStoredEvent {
    return this.add(`lead-${leadId}`, 'LeadScored', { leadId, score, factors: [] }, tenantId);
  }
}

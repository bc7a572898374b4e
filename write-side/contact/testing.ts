import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { EventStore } from '../../platform/event-store/event-store.js';
import { streamName } from '../../schemas/events/streams.js';
import { foldEvents } from '../http/command.js';
import { send } from '../testing.js';
import { contactDecider } from './decide.js';
import { normalizeEmail } from './email-claims.js';

/**
 * Test support for email uniqueness under concurrency (shared by the PGlite unit tests and the PostgreSQL
 * integration tests): a store that pauses a chosen read, and a randomized stress run with its checks.
 */

export interface Gate {
  /** Resolves when the paused append has been called (it is held back, not yet sent). */
  readonly reached: Promise<void>;
  /** Lets the paused append go on. */
  readonly release: () => void;
}

/**
 * Wraps `store` so that the next append to a chosen stream is held back until released: the command that
 * makes it is paused after its read, its decision and its reservations, right before its append, while
 * others run to completion (what a pooled PostgreSQL connection does now and then by itself).
 * Every wait has a timeout, so a test that never reaches its pause fails instead of hanging.
 */
export function pausingStore(store: EventStore, timeoutMs = 10_000): { store: EventStore; pauseNextAppend: (streamId: string) => Gate } {
  const armed = new Map<string, { reached: () => void; released: Promise<void> }>();
  const wrapped: EventStore = {
    ...store,
    async append(streamId, events, options) {
      const pause = armed.get(streamId);
      if (pause) {
        armed.delete(streamId);
        pause.reached();
        await pause.released;
      }
      return store.append(streamId, events, options);
    },
  };
  return {
    store: wrapped,
    pauseNextAppend(streamId) {
      let reached!: () => void;
      let release!: () => void;
      const reachedP = new Promise<void>((resolve, reject) => {
        reached = resolve;
        setTimeout(() => reject(new Error(`the paused append to ${streamId} was never made`)), timeoutMs).unref();
      });
      const released = new Promise<void>((resolve) => {
        release = resolve;
        // Never hold an append forever, even when the test forgot to release it.
        setTimeout(resolve, timeoutMs).unref();
      });
      armed.set(streamId, { reached, released });
      return { reached: reachedP, release };
    },
  };
}

/**
 * Wraps `store` so that every read and every append waits a random 0..maxMs first: wider windows between
 * a command's read, its claims and its append, so more interleavings per run.
 */
export function jitteryStore(store: EventStore, maxMs: number, random: () => number): EventStore {
  const pause = () => new Promise((r) => setTimeout(r, Math.floor(random() * maxMs)));
  return {
    ...store,
    async readStream(streamId, options) {
      await pause();
      return store.readStream(streamId, options);
    },
    async append(streamId, events, options) {
      await pause();
      return store.append(streamId, events, options);
    },
  };
}

/** A small seeded PRNG (mulberry32), so a failing stress run can be repeated with its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface StressOptions {
  readonly app: FastifyInstance;
  readonly store: EventStore;
  /** Headers of a manager of the tenant (merges need one). */
  readonly headers: Record<string, string>;
  readonly emails: readonly string[];
  readonly operations: number;
  /** Operations in flight at once. */
  readonly concurrency: number;
  /** The run stops starting operations after this long (the checks still run). */
  readonly maxMs: number;
  readonly seed: number;
}

export interface StressResult {
  readonly contactIds: readonly string[];
  readonly statuses: Readonly<Record<string, number>>;
  readonly operations: number;
  readonly ms: number;
}

/**
 * Many concurrent creates, CSV imports, email changes (with and without a case change), merges and
 * idempotent retries (the same request sent twice at once with one Idempotency-Key) over a small set of emails.
 */
export async function stressEmails(o: StressOptions): Promise<StressResult> {
  const random = seeded(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const ids: string[] = [];
  const statuses: Record<string, number> = {};
  const started = performance.now();
  let next = 0;
  let done = 0;
  const call = async (method: 'POST' | 'PATCH', url: string, body: unknown, key?: string, extra: Record<string, string> = {}) => {
    const headers = { ...o.headers, ...extra, ...(key ? { 'idempotency-key': key } : {}) };
    const res = await send(o.app, method, url, body, headers);
    const label = `${method} ${url.replace(/[0-9a-f-]{36}/g, ':id').replace(/\?.*/, '')} ${res.statusCode}`;
    statuses[label] = (statuses[label] ?? 0) + 1;
    if (res.statusCode >= 500) assert.fail(`${label}: ${res.body}`);
    if (res.statusCode === 201) {
      const id = String(res.json().id);
      if (!ids.includes(id)) ids.push(id);
    }
    if (url.startsWith('/api/v1/contacts/import') && res.statusCode === 200) {
      for (const row of res.json<{ rows: { status: string; id?: string }[] }>().rows) {
        if (row.status === 'created' && row.id !== undefined && !ids.includes(row.id)) ids.push(row.id);
      }
    }
    return res;
  };
  const email = () => {
    const e = pick(o.emails);
    return random() < 0.3 ? e.toUpperCase() : e;
  };
  const operation = async (n: number) => {
    const r = random();
    const twice = random() < 0.3;
    const key = twice ? `stress-${o.seed}-${n}` : undefined;
    const both = <T>(f: () => Promise<T>) => (twice ? Promise.all([f(), f()]) : f());
    if (r < 0.35 || ids.length < 4) {
      // Some creates take an email outside the set, so there are contacts to change and merge.
      const body = { firstName: `S${n}`, email: random() < 0.4 ? `own-${o.seed}-${n}@elsewhere.example.com` : email() };
      await both(() => call('POST', '/api/v1/contacts', body, key));
    } else if (r < 0.45) {
      // The CSV import: two rows over the set, each created or, as a duplicate, skipped, updated or merged.
      const mode = pick(['skip', 'update', 'merge'] as const);
      const csv = `firstName,lastName,email\nI${n},Row,${email()}\nJ${n},Row,${email()}\n`;
      await both(() => call('POST', `/api/v1/contacts/import?onDuplicate=${mode}`, csv, key, { 'content-type': 'text/csv' }));
    } else if (r < 0.85) {
      const body = random() < 0.2 ? { email: null } : { email: email(), title: `t${n}` };
      const id = pick(ids);
      await both(() => call('PATCH', `/api/v1/contacts/${id}`, body, key));
    } else {
      const id = pick(ids);
      const survivorId = pick(ids);
      await both(() => call('POST', `/api/v1/contacts/${id}/merge`, { survivorId }, key));
    }
  };
  const worker = async () => {
    while (next < o.operations && performance.now() - started < o.maxMs) {
      const n = next++;
      await operation(n);
      done++;
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  return { contactIds: ids, statuses, operations: done, ms: performance.now() - started };
}

/**
 * The two guarantees, checked against the contact streams themselves: no two active contacts share an
 * email, and every email of the set not held by an active contact can be taken (a create with it is 201).
 */
export async function assertEmailsUnique(o: { app: FastifyInstance; store: EventStore; headers: Record<string, string>; contactIds: readonly string[]; emails: readonly string[] }): Promise<void> {
  const holders = new Map<string, string[]>();
  for (const id of o.contactIds) {
    const state = foldEvents(contactDecider, await o.store.readStream(streamName.contact(id)));
    if (state.status !== 'Active' || state.email === undefined) continue;
    const email = normalizeEmail(state.email);
    holders.set(email, [...(holders.get(email) ?? []), id]);
  }
  for (const [email, ids] of holders) assert.equal(ids.length, 1, `${email} is held by ${ids.length} active contacts: ${ids.join(', ')}`);
  for (const email of o.emails) {
    const res = await send(o.app, 'POST', '/api/v1/contacts', { firstName: 'Check', email }, o.headers);
    const holder = holders.get(normalizeEmail(email))?.[0];
    if (holder === undefined) assert.equal(res.statusCode, 201, `${email} is held by no active contact, yet a create with it answered ${res.statusCode} ${res.body}`);
    else {
      assert.equal(res.statusCode, 409, `${email} is held by ${holder}, yet a create with it answered ${res.statusCode}`);
      assert.equal(res.json().existingId, holder);
    }
  }
}

export interface InterleavingContext {
  readonly app: FastifyInstance;
  readonly pauseNextAppend: (streamId: string) => Gate;
  /** Headers of a sales user of a fresh tenant. */
  readonly headers: Record<string, string>;
  /** A fresh email, unique to the run. */
  readonly email: (local: string) => string;
}

async function createContact(c: InterleavingContext, email: string): Promise<string> {
  const res = await send(c.app, 'POST', '/api/v1/contacts', { firstName: 'Ada', email }, c.headers);
  assert.equal(res.statusCode, 201, res.body);
  return String(res.json().id);
}

/** `first` is paused between its read of the contact and its append; `second` runs to completion meanwhile. */
async function interleave<T>(c: InterleavingContext, id: string, first: () => Promise<T>, second: () => Promise<unknown>): Promise<T> {
  const gate = c.pauseNextAppend(streamName.contact(id));
  const paused = first();
  try {
    await gate.reached;
    await second();
  } finally {
    gate.release();
  }
  return paused;
}

async function expectTaken(c: InterleavingContext, email: string, holder: string): Promise<void> {
  const res = await send(c.app, 'POST', '/api/v1/contacts', { firstName: 'Other', email }, c.headers);
  assert.equal(res.statusCode, 409, `${email} should be held by ${holder}: ${res.statusCode} ${res.body}`);
  assert.equal(res.json().existingId, holder);
}

async function expectFree(c: InterleavingContext, email: string): Promise<void> {
  const res = await send(c.app, 'POST', '/api/v1/contacts', { firstName: 'Other', email }, c.headers);
  assert.equal(res.statusCode, 201, `${email} should be free: ${res.statusCode} ${res.body}`);
}

/**
 * The three reproduced races, each forced with a paused append. Each asserts who holds which email after,
 * through the API (a create with the email: 409 naming the holder, or 201).
 */
export const emailInterleavings = {
  /** X has a@. PATCH {A@, title} reads, PATCH {b@} lands, the first retries: X ends on A@, so a@ stays X's and b@ is free. */
  async caseChangeAgainstEmailChange(c: InterleavingContext): Promise<void> {
    const a = c.email('a');
    const b = c.email('b');
    const x = await createContact(c, a);
    const slow = await interleave(
      c,
      x,
      () => send(c.app, 'PATCH', `/api/v1/contacts/${x}`, { email: a.toUpperCase(), title: 'CTO' }, c.headers),
      async () => assert.equal((await send(c.app, 'PATCH', `/api/v1/contacts/${x}`, { email: b }, c.headers)).statusCode, 200),
    );
    assert.equal(slow.statusCode, 200, slow.body);
    await expectTaken(c, a, x);
    await expectFree(c, b);
  },
  /** X has a@. PATCH {c@} reads, PATCH {b@} lands, the first retries: X ends on c@; a@ and b@ are both free. */
  async twoEmailChanges(c: InterleavingContext): Promise<void> {
    const [a, b, d] = [c.email('a'), c.email('b'), c.email('c')];
    const x = await createContact(c, a);
    const slow = await interleave(
      c,
      x,
      () => send(c.app, 'PATCH', `/api/v1/contacts/${x}`, { email: d }, c.headers),
      async () => assert.equal((await send(c.app, 'PATCH', `/api/v1/contacts/${x}`, { email: b }, c.headers)).statusCode, 200),
    );
    assert.equal(slow.statusCode, 200, slow.body);
    await expectTaken(c, d, x);
    await expectFree(c, b);
    await expectFree(c, a);
  },
  /** X has a@. PATCH {b@} with key K reads, its retry (same K) overtakes and lands; the original replays. b@ stays X's. */
  async retryOvertakesOriginal(c: InterleavingContext): Promise<void> {
    const [a, b] = [c.email('a'), c.email('b')];
    const x = await createContact(c, a);
    const headers = { ...c.headers, 'idempotency-key': `overtake-${x}` };
    let retry: Awaited<ReturnType<typeof send>> | undefined;
    const original = await interleave(
      c,
      x,
      () => send(c.app, 'PATCH', `/api/v1/contacts/${x}`, { email: b }, headers),
      async () => {
        retry = await send(c.app, 'PATCH', `/api/v1/contacts/${x}`, { email: b }, headers);
      },
    );
    assert.equal(retry?.statusCode, 200, retry?.body);
    assert.equal(original.statusCode, 200, original.body);
    assert.equal(original.headers['idempotent-replayed'], 'true', 'the overtaken original answers as a replay');
    assert.equal(original.json().revision, retry!.json().revision);
    await expectTaken(c, b, x);
    await expectFree(c, a);
  },
};

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { pino } from 'pino';
import { openPglite, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import { parseEvent, type EventEnvelope } from '../../schemas/events/registry.js';
import { applyItemsIsolated, type ReplayFailure } from '../kernel/replay.js';
import type { GenerationRef } from '../kernel/target.js';
import { historyArbitrary } from '../testing/round-trip.js';
import { scriptOf } from '../kernel/coalesce.js';
import type { SqlStatement } from '../kernel/projection.js';
import { statementFolder } from './fold.js';
import { postgresProjections, type PostgresReadModel } from './index.js';
import { leadsProjection } from './leads/projection.js';
import { postgresReadModelTarget, type PostgresReadModelTarget } from './target.js';

/**
 * The batch fold (fold.ts) leaves exactly the rows of the per-event path. Generated histories of every
 * aggregate (payloads and envelopes from the schemas), the streams interleaved at random, go through all six
 * read models twice on one PGlite: one event per batch with the fold off (the per-event path), and in random
 * batches with the fold on. Every table of every model must dump identical, and the same events must fail.
 */
const log = pino({ level: 'silent' });
const once = { maxAttempts: 1, backoff: { initialMs: 0, maxMs: 0 } };

/** The streams of `events` interleaved by `schedule` (each stream keeps its order), renumbered 1…n. */
function interleave(events: readonly EventEnvelope[], schedule: readonly number[]): EventEnvelope[] {
  const streams = new Map<string, EventEnvelope[]>();
  for (const e of events) streams.set(e.streamId, [...(streams.get(e.streamId) ?? []), e]);
  const queues = [...streams.values()];
  const out: EventEnvelope[] = [];
  let k = 0;
  while (queues.length > 0) {
    const i = (schedule[k++ % Math.max(1, schedule.length)] ?? 0) % queues.length;
    out.push(queues[i]!.shift()!);
    if (queues[i]!.length === 0) queues.splice(i, 1);
  }
  return out.map((e, i) => ({ ...e, position: BigInt(i + 1) }));
}

async function dump(sql: SqlClient, target: PostgresReadModelTarget, generation: GenerationRef): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of target.projection.tables) {
    const { rows } = await sql.query<{ j: string }>(`SELECT to_jsonb(x)::text AS j FROM ${t}_g${generation.generation} x ORDER BY 1`);
    out[t] = rows.map((r) => r.j);
  }
  return out;
}

describe('batch fold of the PostgreSQL read models', () => {
  let sql: SqlClient;
  const perEvent = new Map<string, PostgresReadModelTarget>();
  const folded = new Map<string, PostgresReadModelTarget>();
  before(async () => {
    sql = pgliteClient(await openPglite());
    await sql.exec(`SET TimeZone = 'America/New_York'`);
    for (const p of postgresProjections) {
      perEvent.set(p.name, postgresReadModelTarget(sql, p, { fold: false }));
      folded.set(p.name, postgresReadModelTarget(sql, p));
      await folded.get(p.name)!.register();
    }
  });
  after(() => sql.close());

  /** Applies `events` to a fresh generation in batches of the given sizes; the failures, by event id. */
  async function applyAll(target: PostgresReadModelTarget, generation: GenerationRef, events: readonly EventEnvelope[], sizes: readonly number[]): Promise<string[]> {
    const failed: string[] = [];
    for (let at = 0, k = 0; at < events.length; k++) {
      const n = Math.max(1, sizes[k % Math.max(1, sizes.length)] ?? events.length);
      const batch = events.slice(at, at + n);
      at += n;
      await applyItemsIsolated({
        apply: (b, o) => target.apply(b, o),
        target,
        generation,
        items: batch.map((e) => ({ position: e.position, event: e })),
        after: at - n > 0 ? events[at - n - 1]!.position : undefined,
        retry: once,
        log,
        fail: async (f: ReplayFailure) => void failed.push(`${f.eventId} ${f.type}`),
      });
    }
    return failed.sort();
  }

  async function assertSame(events: readonly EventEnvelope[], sizes: readonly number[], models: readonly PostgresReadModel[] = postgresProjections): Promise<void> {
    for (const p of models) {
      const a = perEvent.get(p.name)!;
      const b = folded.get(p.name)!;
      const [ga, gb] = [await a.createShadow(), await b.createShadow()];
      try {
        const failedA = await applyAll(a, ga, events, [1]);
        const failedB = await applyAll(b, gb, events, sizes);
        assert.deepEqual(failedB, failedA, `${p.name}: the same events fail`);
        assert.deepEqual(await dump(sql, b, gb), await dump(sql, a, ga), `${p.name}: folded rows differ from the per-event rows`);
      } finally {
        await a.drop(ga);
        await b.drop(gb);
      }
    }
  }

  // endOnFailure: shrinking a history through six models takes minutes; the first failing history is printed.
  it('generated histories, streams interleaved, random batches: all six read models hold the same rows folded and per event', { timeout: 180_000 }, async () => {
    let applied = 0;
    await fc.assert(
      fc.asyncProperty(
        historyArbitrary({ maxEntities: 10, maxFollowUps: 8 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
        async (history, schedule, sizes) => {
          const events = interleave(history.events, schedule);
          applied += events.length;
          await assertSame(events, sizes);
        },
      ),
      { numRuns: 12, seed: 1313, endOnFailure: true },
    );
    assert.ok(applied > 150, `only ${applied} events applied: the generator refuses too much`);
  });

  it('with hostile input mixed in, the same events fail and the rest hold the same rows', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(historyArbitrary({ maxEntities: 5, maxFollowUps: 5, hostile: true }), fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 3 }), async (history, sizes) => {
        await assertSame(history.events, sizes);
      }),
      { numRuns: 5, seed: 1314, endOnFailure: true },
    );
  });

  // A lead captured on a second stream for an existing lead id (another producer, a replayed import): the
  // INSERT … DO NOTHING keeps the old row and the scores update it; the folded INSERT cannot, and must fall
  // back instead of writing a different row. And the same uuid spelled in upper case is the same row.
  it('a capture of an existing lead, and a key spelled in upper case, fold to the same rows as per event', async () => {
    const meta = (at: string) => ({ tenantId: 'acme', actor: { userId: 'u1', roles: ['sales'] }, correlationId: '00000000-0000-7000-8000-0000000000c1', causationId: '00000000-0000-7000-8000-0000000000c1', occurredAt: at });
    let position = 0n;
    const event = (streamId: string, revision: number, type: string, data: Record<string, unknown>, at: string): EventEnvelope =>
      parseEvent({ eventId: `00000000-0000-7000-8000-${(++position).toString().padStart(12, '0')}`, type, schemaVersion: 1, streamId, streamRevision: BigInt(revision), position, data, metadata: meta(at) });
    const lead = '0190a0b0-0000-7000-8000-00000000abcd';
    const events = [
      event(`lead-${lead}`, 0, 'LeadCaptured', { leadId: lead, name: 'First', source: 'web', capturedAt: '2026-01-01T00:00:00.000Z' }, '2026-01-01T00:00:00.000Z'),
      event(`lead-${lead}`, 1, 'LeadScored', { leadId: lead, score: 10, factors: [] }, '2026-01-02T00:00:00.000Z'),
      // The same lead captured again from another stream, then scored through that stream.
      event(`lead-0190a0b0-0000-7000-8000-00000000ffff`, 0, 'LeadCaptured', { leadId: lead, name: 'Second', source: 'email', capturedAt: '2026-02-01T00:00:00.000Z' }, '2026-02-01T00:00:00.000Z'),
      event(`lead-0190a0b0-0000-7000-8000-00000000ffff`, 1, 'LeadScored', { leadId: lead, score: 90, factors: [] }, '2026-01-01T12:00:00.000Z'),
    ];
    // Scored 10 through the upper-case spelling, then 90: moving the 90 before the 10 would leave 10.
    const upper = { ...events[1]!, data: { ...(events[1]!.data as object), leadId: lead.toUpperCase() } } as EventEnvelope;
    const later = { ...events[1]!, streamRevision: 2n, data: { ...(events[1]!.data as object), score: 90 } } as EventEnvelope;
    for (const history of [events, [events[0]!, upper], [events[0]!, upper, later]]) {
      for (const sizes of [[history.length], [1, history.length]]) await assertSame(history.map((e, i) => ({ ...e, position: BigInt(i + 1) })), sizes, [leadsProjection]);
    }
  });

  it('folds what it should: a captured and thrice scored lead is one INSERT; a barrier stops it; the folded SQL itself runs and writes the same rows', async () => {
    const fold = statementFolder(leadsProjection.ddl);
    const tables = { leads: 'leads_g9' };
    const meta = { tenantId: 't', actor: { userId: 'u', roles: ['sales'] }, correlationId: '00000000-0000-7000-8000-0000000000c1', causationId: '00000000-0000-7000-8000-0000000000c1', occurredAt: '2026-01-01T00:00:00.000Z' };
    const id = (n: number) => `0190a0b0-0000-7000-8000-${n.toString().padStart(12, '0')}`;
    let position = 0n;
    const ev = (lead: string, rev: number, type: string, data: Record<string, unknown>) =>
      parseEvent({ eventId: id(Number(++position) + 100), type, schemaVersion: 1, streamId: `lead-${lead}`, streamRevision: BigInt(rev), position, data: { leadId: lead, ...data }, metadata: meta });
    const history = [1, 2].flatMap((n) => [ev(id(n), 0, 'LeadCaptured', { name: 'x', source: 'web', capturedAt: '2026-01-01T00:00:00.000Z' }), ...[1, 2, 3].map((r) => ev(id(n), r, 'LeadScored', { score: r, factors: [] }))]);
    const statements = history.flatMap((e) => leadsProjection.project(e, tables));
    const out = fold(statements, tables);
    assert.equal(out.length, 2);
    assert.ok(out.every((s) => s.sql.startsWith('INSERT INTO leads_g9') && s.sql.includes('score')));
    const barrier = { sql: 'SELECT 1', params: [] };
    // capture + first score fold; the barrier stays; the two scores after it fold into one UPDATE.
    assert.equal(fold([...statements.slice(0, 2), barrier, ...statements.slice(2, 4)], tables).length, 3);
    // Run as they are, without the runtime's fall-back to the unfolded statements (which would hide a wrong fold).
    const rows = async (table: string, list: readonly SqlStatement[]) => {
      await sql.exec(leadsProjection.ddl({ leads: table }));
      await sql.exec(scriptOf(list.map((x) => ({ ...x, sql: x.sql.replaceAll('leads_g9', table) })), { merge: false }));
      return (await sql.query<{ j: string }>(`SELECT to_jsonb(x)::text AS j FROM ${table} x ORDER BY 1`)).rows.map((r) => r.j);
    };
    assert.deepEqual(await rows('leads_fold_a', out), await rows('leads_fold_b', statements));
  });
});

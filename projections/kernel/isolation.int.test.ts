import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { embeddedBus } from '../../platform/bus/embedded.js';
import { DLQ } from '../../platform/bus/message.js';
import { pgClient } from '../../platform/sql/client.js';
import { requireEnv } from '../../platform/testing/require-env.js';
import type { EventEnvelope } from '../../schemas/events/registry.js';
import { registerProjection } from './generations.js';
import type { PostgresProjection, Tables } from './projection.js';
import { createProjector } from './projector.js';
import { kernelTestProjection } from './test-projection.js';
import { batchOf, RawHistory, readTopic, silent, until, within } from './testing.js';

/**
 * The isolation guarantees on a real PostgreSQL server, where a NUL inside a query's text is refused as a
 * malformed message (08P01) and a terminated backend drops the connection: events fed straight to the
 * projector, bypassing the API. The bus is the embedded one (the DLQ is read back from it); Kafka's part
 * is in pipeline.int.test.ts.
 */

const NUL_SCORE = 14;
function withNul(base: PostgresProjection): PostgresProjection {
  return {
    ...base,
    project: (event: EventEnvelope, tables: Tables) =>
      event.type === 'LeadScored' && event.data.score === NUL_SCORE
        ? [{ sql: `UPDATE ${tables[base.tables[0]!]} SET tenant_id = $2 WHERE lead_id = $1`, params: [event.data.leadId, 'evil\u0000tenant'] }]
        : base.project(event, tables),
  };
}

async function openRun(options: { sleepMsPerEvent?: number } = {}) {
  const run = randomUUID().replace(/-/g, '').slice(0, 10);
  const name = `kti-${run}`;
  // The application name lets the test find (and terminate) the projector's backend.
  const sql = pgClient(requireEnv('READ_DB_URL'), { max: 2, applicationName: name });
  const admin = pgClient(requireEnv('READ_DB_URL'), { max: 1 });
  const projection = withNul(kernelTestProjection({ name, table: `kti_${run}`, sleepMsPerEvent: options.sleepMsPerEvent }));
  await registerProjection(sql, projection);
  const bus = embeddedBus({ partitions: 1 });
  const stop = new AbortController();
  const projector = createProjector({ sql, bus, projection, log: silent, retry: { maxAttempts: 2, backoff: { initialMs: 20, maxMs: 200 } } });
  const rows = async () =>
    (await admin.query<{ lead_id: string; tenant_id: string; score: number | null; events: number }>(`SELECT lead_id, tenant_id, score, events FROM kti_${run} ORDER BY lead_id`)).rows;
  return {
    name,
    sql,
    admin,
    projector,
    rows,
    apply: (records: Parameters<typeof batchOf>[0], firstOffset = 0n) => projector.handleBatch(batchOf(records, { partition: 0, firstOffset }), stop.signal),
    dlq: (n: number, ms?: number) => readTopic(bus, `annals.dlq.${name}`, n, ms),
    async close() {
      stop.abort();
      const { rows: tables } = await admin.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE tablename LIKE $1`, [`kti_${run}_g%`]);
      await admin.exec(`DROP VIEW IF EXISTS kti_${run}`);
      for (const t of tables) await admin.exec(`DROP TABLE IF EXISTS ${t.t}`);
      for (const t of ['annals_projections', 'annals_projection_generations', 'annals_projection_offsets', 'annals_projection_streams']) {
        await admin.query(`DELETE FROM ${t} WHERE name = $1`, [name]).catch(() => {});
      }
      await Promise.allSettled([sql.close(), admin.close(), bus.close()]);
    },
  };
}

describe('projector isolation on real PostgreSQL', { timeout: 120_000 }, () => {
  test('NUL in a value and in the envelope tenant: dead-lettered, the rest applied, the connection unharmed', { timeout: 60_000 }, async () => {
    const r = await openRun();
    try {
      const h = new RawHistory();
      const [a, b, evil] = [randomUUID(), randomUUID(), randomUUID()];
      const records = [h.capture('t1', a), h.capture('t2', b), h.score('t1', a, NUL_SCORE), h.capture('acme\u0000evil', evil), h.score('t2', b, 50), h.score('t1', a, 60)];
      await within(r.apply(records), 20_000, 'the batch with NULs to commit');
      const rows = await r.rows();
      assert.deepEqual(
        rows.map((x) => ({ ...x })),
        [
          { lead_id: a, tenant_id: 't1', score: 60, events: 2 },
          { lead_id: b, tenant_id: 't2', score: 50, events: 2 },
        ].sort((x, y) => (x.lead_id < y.lead_id ? -1 : 1)),
      );
      const dead = await r.dlq(3, 1_000);
      assert.deepEqual(dead.map((m) => m.key).sort(), [`lead-${a}`, `lead-${evil}`].sort());
      for (const m of dead) assert.doesNotMatch(m.headers[DLQ.code] ?? '', /08P01|3B001/, 'never a refused script or a missing savepoint');
      // And the projector goes on with the next batch.
      const c = randomUUID();
      await within(r.apply([h.capture('t3', c)], BigInt(records.length)), 20_000, 'the next batch');
      assert.equal((await r.rows()).length, 3);
    } finally {
      await r.close();
    }
  });

  test("the projector's connection terminated mid-batch (57P01): waited out, nothing dead-lettered, everything applied once", { timeout: 60_000 }, async () => {
    const r = await openRun({ sleepMsPerEvent: 20 });
    try {
      const h = new RawHistory();
      const ids = Array.from({ length: 30 }, () => randomUUID());
      const applying = r.apply(ids.map((id) => h.capture('t1', id)));
      // Terminate the backend while it is inside the batch (each event sleeps in SQL), twice: more than maxAttempts.
      for (let kill = 0; kill < 3; kill++) {
        await until(
          async () => (await r.admin.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND query LIKE '%pg_sleep%'`, [r.name])).rows.length > 0,
          20_000,
          'the projector to be inside its batch',
        );
        await r.admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [r.name]);
      }
      await within(applying, 40_000, 'the batch to commit after the terminations');
      const rows = await r.rows();
      assert.equal(rows.length, 30);
      assert.ok(rows.every((x) => x.events === 1), 'applied once each');
      assert.equal(r.projector.stats.deadLettered, 0);
      assert.equal((await r.dlq(1, 500)).length, 0, 'the DLQ is empty');
    } finally {
      await r.close();
    }
  });
});

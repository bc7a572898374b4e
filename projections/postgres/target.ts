import { tpKey } from '../../platform/bus/port.js';
import type { SqlClient, SqlExecutor } from '../../platform/sql/client.js';
import type { EventEnvelope } from '../../schemas/events/registry.js';
import { advanceGeneration, advanceStatement, applyEvents, type ApplyTarget } from '../kernel/apply.js';
import { scriptOf } from '../kernel/coalesce.js';
import { ProbeRollback, ProjectionErrorCode } from '../kernel/errors.js';
import { createGeneration, dropGeneration, readLive, registerProjection, swapGeneration, tablesOf } from '../kernel/generations.js';
import type { PostgresProjection, SqlStatement } from '../kernel/projection.js';
import { readGenerations, readOffsets, readPosition } from '../kernel/control.js';
import type { ApplyOptions, ApplyResult, GenerationRef, ReadModelTarget, TargetBatch } from '../kernel/target.js';
import { postgresPiiScanner } from './pii-scanner.js';

/** The PostgreSQL read model behind a target, for the PostgreSQL-only tools (verify diffs rows by table). */
export interface PostgresReadModelTarget extends ReadModelTarget {
  readonly store: 'postgres';
  readonly sql: SqlClient;
  readonly projection: PostgresProjection;
}

/**
 * A PostgreSQL read model as a `ReadModelTarget`: the first store, and the transactional one. Rows,
 * per-stream revision guard, consumed offsets and position high-water mark go in ONE transaction of the
 * read database, which is also where the control tables are, so a crash leaves all or nothing. The
 * batch's statements travel as one script (coalesce.ts) with the bisection fallback of apply.ts.
 *
 * GDPR: the models null their personal columns when they apply the erasure events (`ContactErased`,
 * `SubjectErased`), in the transaction of the checkpoint and ordered after every personal value of the
 * stream, so `redactSubject` has nothing left to do; the scanner (pii-scanner.ts) proves it.
 */
export function postgresReadModelTarget(sql: SqlClient, projection: PostgresProjection): PostgresReadModelTarget {
  const name = projection.name;
  const applyTarget = (generation: number): ApplyTarget => ({ name, generation, tables: tablesOf(projection, generation) });
  const ref = (generation: number, version: number): GenerationRef => ({ name, generation, version });

  /** The work of one apply, in a transaction (or savepoint) the caller owns. */
  const applyIn = async (tx: SqlExecutor, batch: TargetBatch, probe: boolean): Promise<ApplyResult> => {
    let generation: number;
    let stored: Map<string, bigint> | undefined;
    if (batch.generation === 'live') {
      // FOR SHARE: a swap (FOR UPDATE) waits for this batch, and this batch for a swap in progress.
      const live = await readLive(tx, name);
      if (!live) throw Object.assign(new Error(`read model ${name} is not registered (call register first)`), { code: ProjectionErrorCode.NotRegistered });
      generation = live.generation;
    } else generation = batch.generation.generation;
    const offsets = batch.offsets ?? [];
    if (offsets.length > 0) {
      // The checkpoint, read under a row lock: what counts against a concurrent member of a stale consumer generation.
      const { rows } = await tx.query<{ topic: string; partition: number; o: string }>(
        `SELECT topic, partition, next_offset::text AS o FROM annals_projection_offsets
          WHERE name = $1 AND (topic, partition) IN (SELECT * FROM unnest($2::text[], $3::int[])) FOR UPDATE`,
        [name, offsets.map((p) => p.topic), offsets.map((p) => p.partition)],
      );
      stored = new Map(rows.map((r) => [tpKey(r.topic, r.partition), BigInt(r.o)]));
    }
    const events: EventEnvelope[] = [];
    let position: bigint | undefined;
    for (const item of batch.items) {
      if (item.position === undefined) continue;
      if (item.source && stored) {
        const next = stored.get(tpKey(item.source.topic, item.source.partition));
        if (next !== undefined && item.source.offset < next) continue;
      }
      if (position === undefined || item.position > position) position = item.position;
      if (item.event) events.push(item.event);
    }
    const target = applyTarget(generation);
    const r = await applyEvents(tx, projection, target, events);
    if (offsets.length > 0) {
      const statement: SqlStatement = {
        sql: `INSERT INTO annals_projection_offsets(name, topic, partition, next_offset)
              SELECT $1, t, p, o FROM unnest($2::text[], $3::int[], $4::bigint[]) AS x(t, p, o)
              ON CONFLICT (name, topic, partition) DO UPDATE SET next_offset = GREATEST(annals_projection_offsets.next_offset, EXCLUDED.next_offset), updated_at = now()`,
        params: [name, offsets.map((p) => p.topic), offsets.map((p) => p.partition), offsets.map((p) => p.nextOffset.toString())],
      };
      // Position and offsets in one round trip.
      await tx.exec(scriptOf([advanceStatement(target, position, r.applied), statement].filter((x) => x !== undefined), { merge: false }));
    } else await advanceGeneration(tx, target, position, r.applied);
    if (probe) throw new ProbeRollback();
    return { ...r, maxPosition: position };
  };

  return {
    name,
    version: projection.version,
    store: 'postgres',
    eventTypes: projection.eventTypes,
    sql,
    projection,
    async register() {
      const reg = await registerProjection(sql, projection);
      return { name, generation: reg.generation, version: reg.version, needsRebuild: reg.needsRebuild, created: reg.created };
    },
    async live() {
      const live = await readLive(sql, name, false);
      return live && ref(live.generation, live.version);
    },
    async createShadow() {
      const { generation } = await createGeneration(sql, projection);
      return ref(generation, projection.version);
    },
    apply(batch: TargetBatch, options: ApplyOptions = {}) {
      return sql.transaction((tx) => applyIn(tx, batch, options.probe === true));
    },
    readOffsets: () => readOffsets(sql, name),
    readPosition: (generation) => readPosition(sql, name, generation.generation),
    generations: () => readGenerations(sql, name),
    async swap(generation, options = {}) {
      const catchUp = options.catchUp;
      await swapGeneration(
        sql,
        projection,
        generation.generation,
        catchUp &&
          (async (tx) => {
            // Each batch under a savepoint: a failing attempt or a probe rolls back to it instead of
            // failing the whole swap; a lost connection aborts the swap (the old generation stays live).
            await catchUp(async (batch, opts = {}) => {
              if (batch.generation === 'live' || batch.generation.generation !== generation.generation) {
                throw new Error(`a swap's catch-up writes generation ${generation.generation} of ${name} only`);
              }
              await tx.query('SAVEPOINT annals_rebuild_tail');
              try {
                const result = await applyIn(tx, batch, opts.probe === true);
                await tx.query('RELEASE SAVEPOINT annals_rebuild_tail');
                return result;
              } catch (e) {
                await tx.query('ROLLBACK TO SAVEPOINT annals_rebuild_tail');
                throw e;
              }
            });
          }),
      );
    },
    drop: (generation) => dropGeneration(sql, projection, generation.generation),
    // The models redact on the erasure events themselves (see above): no copy is left outside that order.
    redactSubject: async () => ({ redacted: 0 }),
    scanner: postgresPiiScanner(sql, projection),
  };
}

/** Every PostgreSQL read model as a target on one read database. */
export function postgresReadModelTargets(sql: SqlClient, projections: readonly PostgresProjection[]): PostgresReadModelTarget[] {
  return projections.map((p) => postgresReadModelTarget(sql, p));
}

import type { SqlClient, SqlExecutor } from '../../platform/sql/client.js';
import { applyEvents, type ApplyTarget } from '../kernel/apply.js';
import { ProbeRollback } from '../kernel/errors.js';
import { isFill } from '../kernel/guard.js';
import { createGeneration, dropGeneration, readLive, registerProjection, swapGeneration, tablesOf } from '../kernel/generations.js';
import type { PostgresProjection } from '../kernel/projection.js';
import { commitCheckpoint, readGenerations, readOffsets, readPosition, resolveBatch } from '../kernel/control.js';
import type { ApplyOptions, ApplyResult, GenerationRef, ReadModelTarget, TargetBatch } from '../kernel/target.js';
import { statementFolder } from './fold.js';
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
export function postgresReadModelTarget(sql: SqlClient, projection: PostgresProjection, options: { fold?: boolean } = {}): PostgresReadModelTarget {
  const name = projection.name;
  // Effects on one row within a batch go out as one statement (fold.ts); off only to compare against.
  const fold = options.fold === false ? undefined : statementFolder(projection.ddl);
  const applyTarget = (generation: number): ApplyTarget => ({ name, generation, tables: tablesOf(projection, generation) });
  const ref = (generation: number, version: number): GenerationRef => ({ name, generation, version });

  /** The work of one apply, in a transaction (or savepoint) the caller owns. */
  const applyIn = async (tx: SqlExecutor, batch: TargetBatch, probe: boolean): Promise<ApplyResult> => {
    const { generation, events, position } = await resolveBatch(tx, name, batch);
    const target = applyTarget(generation);
    // A rebuild's shadow filled in position order needs no per-stream guard (guard.ts).
    const fill = await isFill(tx, name, batch);
    const r = await applyEvents(tx, projection, target, events, { fold, guarded: !fill });
    await commitCheckpoint(tx, { name, generation, batch, fill, position, applied: r.applied });
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

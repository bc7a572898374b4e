import type { SqlClient, SqlExecutor } from '../../platform/sql/client.js';
import { migrate } from '../../platform/sql/migrate.js';
import { commitCheckpoint, readGenerations, readOffsets, readPosition, resolveBatch } from './control.js';
import { ProbeRollback, ProjectionErrorCode } from './errors.js';
import { isFill, RevisionGuard } from './guard.js';
import { readLive } from './generations.js';
import { projectionKernelMigrations } from './schema.js';
import type { ApplyOptions, ApplyResult, ExternalReadModel, GenerationRef, ReadModelTarget, TargetBatch } from './target.js';

/**
 * A read model in a store WITHOUT transactions in the read database (Elasticsearch, ClickHouse, the tests'
 * in-memory store) as a `ReadModelTarget`, by the rule of target.ts: the data first, idempotently, then the
 * checkpoint in the control tables of the read database (`sql`).
 *
 * Each apply is one transaction on `sql` around the store's write:
 *   hold (advisory locks, see applyIn) → live generation → stored offsets (skip what was consumed) →
 *   revision guard (skip duplicates; none for a fill, guard.ts) → `model.write(generation, events)` → guard,
 *   offsets, position → commit.
 * A crash (or a failure) after the write and before the commit leaves the written data and the old
 * checkpoint: the batch comes again and its second write changes nothing, because the store's write is
 * idempotent by position. So the model sees each event at least once, and the READ MODEL is as if once.
 * The hold during the write makes a swap wait for the batch (and a batch for a swap), as on PostgreSQL,
 * so no batch writes a generation that stopped being live under it; it takes no transaction id, so a slow
 * bulk request does not hold back the event store's readers (issue 13: rebuilds must not stall the pipeline).
 *
 * Generations: `model.createGeneration(n)` makes the store objects, the control tables record them
 * (`annals_projection_generations`, status building → live → retired), and `model.swap(n)` points the
 * public name (alias, table) at the live one, inside the control transaction that flips the statuses:
 * if the swap fails, nothing changed; if the commit fails after it (rare: the read database lost in
 * between), the next swap or `register` repairs it, since `model.swap` is idempotent.
 */
export function controlledTarget(sql: SqlClient, model: ExternalReadModel): ReadModelTarget {
  const name = model.name;
  const handled = new Set<string>(model.eventTypes);
  const guarded = model.revisionGuard !== false;
  const lock = (tx: SqlExecutor) => tx.query(`SELECT pg_advisory_xact_lock(hashtext('annals_projection:' || $1))`, [name]);
  const ref = (generation: number, version: number): GenerationRef => ({ name, generation, version });

  const applyIn = async (tx: SqlExecutor, batch: TargetBatch, probe: boolean): Promise<ApplyResult> => {
    if (batch.generation === 'live') {
      // The hold, without row locks: a row lock takes a transaction id for as long as the store's write
      // runs, and an open transaction id anywhere in the cluster holds back every event-store reader
      // (positions are visible below pg_snapshot_xmin). Advisory locks take none: shared against a swap
      // (which takes the model's lock exclusively), exclusive against a concurrent batch of the same
      // model (a stale consumer member), so the offsets read next are the committed ones. The
      // transaction gets its id only at the bookkeeping writes, after the store's write.
      await tx.query(`SELECT pg_advisory_xact_lock_shared(hashtext('annals_projection:' || $1)), pg_advisory_xact_lock(hashtext('annals_projection_batch:' || $1))`, [name]);
    }
    const { generation, events: resolved, position } = await resolveBatch(tx, name, batch, { rowLocks: false });
    const result: ApplyResult = { applied: 0, duplicates: 0, ignored: 0, maxPosition: position };
    const relevant = resolved.filter((e) => handled.has(e.type));
    result.ignored = resolved.length - relevant.length;
    // Without a guard (ExternalReadModel.revisionGuard false: the store is idempotent by position for every
    // event) every relevant event is written and no guard row is read or written.
    // A rebuild's shadow filled in position order needs no guard either (guard.ts).
    const fill = await isFill(tx, name, batch);
    const guard = guarded && !fill ? await RevisionGuard.read(tx, name, generation, relevant) : undefined;
    const fresh = guard ? relevant.filter((event) => guard.admit(event)) : relevant;
    result.duplicates = relevant.length - fresh.length;
    // The data first (idempotent by position), the checkpoint after it, in this transaction.
    // A fill is passed on even with no event to write: the model may follow the fills' chain (WriteContext).
    const context = fill && position !== undefined ? { fill: { after: batch.history?.after, through: position } } : {};
    if (fresh.length > 0 || context.fill) await model.write(generation, fresh, context);
    result.applied = fresh.length;
    const written = guard?.statement(name, generation);
    if (written) await tx.query(written.sql, written.params);
    await commitCheckpoint(tx, { name, generation, batch, fill, position, applied: fresh.length });
    if (probe) throw new ProbeRollback();
    return result;
  };

  const target: ReadModelTarget = {
    name,
    version: model.version,
    store: model.store,
    eventTypes: model.eventTypes,
    ...(model.preferredBatch ? { preferredBatch: model.preferredBatch } : {}),
    async register() {
      await migrate(sql, projectionKernelMigrations);
      return sql.transaction(async (tx) => {
        await lock(tx);
        const live = await readLive(tx, name, false);
        if (live) return { ...ref(live.generation, live.version), needsRebuild: live.version !== model.version, created: false };
        await model.createGeneration(1);
        await tx.query(`INSERT INTO annals_projection_generations(name, generation, version, status) VALUES ($1, 1, $2, 'live')`, [name, model.version]);
        await tx.query(`INSERT INTO annals_projections(name, version, live_generation, tables) VALUES ($1, $2, 1, '{}'::text[])`, [name, model.version]);
        await model.swap(1, undefined);
        return { ...ref(1, model.version), needsRebuild: false, created: true };
      });
    },
    async live() {
      const live = await readLive(sql, name, false);
      return live && ref(live.generation, live.version);
    },
    async createShadow() {
      await migrate(sql, projectionKernelMigrations);
      return sql.transaction(async (tx) => {
        await lock(tx);
        const { rows } = await tx.query<{ g: number | null }>(`SELECT max(generation) AS g FROM annals_projection_generations WHERE name = $1`, [name]);
        const generation = (rows[0]?.g ?? 0) + 1;
        await model.createGeneration(generation);
        await tx.query(`INSERT INTO annals_projection_generations(name, generation, version, status) VALUES ($1, $2, $3, 'building')`, [name, generation, model.version]);
        return ref(generation, model.version);
      });
    },
    apply(batch: TargetBatch, options: ApplyOptions = {}) {
      return sql.transaction((tx) => applyIn(tx, batch, options.probe === true));
    },
    readOffsets: () => readOffsets(sql, name),
    readPosition: (generation) => readPosition(sql, name, generation.generation),
    generations: () => readGenerations(sql, name),
    async swap(generation, options = {}) {
      await sql.transaction(async (tx) => {
        // Holds the live consumer off: its apply takes this lock in shared mode (applyIn). No row lock: the
        // transaction takes an id only when the catch-up or the switch writes bookkeeping.
        await lock(tx);
        const { rows } = await tx.query<{ live_generation: number }>(`SELECT live_generation FROM annals_projections WHERE name = $1`, [name]);
        const previous = rows[0]?.live_generation;
        if (options.catchUp) {
          await options.catchUp(async (batch, opts = {}) => {
            if (batch.generation === 'live' || batch.generation.generation !== generation.generation) {
              throw new Error(`a swap's catch-up writes generation ${generation.generation} of ${name} only`);
            }
            // The control rows of a failed attempt roll back to the savepoint; its data stays (idempotent).
            await tx.query('SAVEPOINT annals_swap_catch_up');
            try {
              const result = await applyIn(tx, batch, opts.probe === true);
              await tx.query('RELEASE SAVEPOINT annals_swap_catch_up');
              return result;
            } catch (e) {
              await tx.query('ROLLBACK TO SAVEPOINT annals_swap_catch_up');
              throw e;
            }
          });
        }
        await tx.query(`UPDATE annals_projection_generations SET status = 'retired', updated_at = now() WHERE name = $1 AND status = 'live'`, [name]);
        await tx.query(`UPDATE annals_projection_generations SET status = 'live', updated_at = now() WHERE name = $1 AND generation = $2`, [name, generation.generation]);
        await tx.query(
          `INSERT INTO annals_projections(name, version, live_generation, tables) VALUES ($1, $2, $3, '{}'::text[])
           ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version, live_generation = EXCLUDED.live_generation, updated_at = now()`,
          [name, generation.version, generation.generation],
        );
        await model.swap(generation.generation, previous);
      });
    },
    async drop(generation) {
      await sql.transaction(async (tx) => {
        await lock(tx);
        const live = await readLive(tx, name, false);
        if (live?.generation === generation.generation) {
          throw Object.assign(new Error(`generation ${generation.generation} of ${name} is live`), { code: ProjectionErrorCode.GenerationLive });
        }
        await model.dropGeneration(generation.generation);
        await tx.query(`DELETE FROM annals_projection_streams WHERE name = $1 AND generation = $2`, [name, generation.generation]);
        await tx.query(`DELETE FROM annals_projection_generations WHERE name = $1 AND generation = $2`, [name, generation.generation]);
      });
    },
    redactSubject: (tenantId, subjectIds) => model.redactSubject(tenantId, subjectIds),
    scanner: model.scanner,
  };
  if (model.isTransient) {
    const isTransient = model.isTransient.bind(model);
    return { ...target, isTransient };
  }
  return target;
}

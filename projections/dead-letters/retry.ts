import { encodeEvent } from '../../platform/bus/message.js';
import type { Bus } from '../../platform/bus/port.js';
import { topicOfStream } from '../../platform/bus/topics.js';
import { CodedError } from '../../platform/errors/coded-error.js';
import { defineErrors } from '../../platform/errors/catalogue.js';
import type { EventStore } from '../../platform/event-store/event-store.js';
import { checkSealedRecord } from '../../platform/event-store/read-events.js';
import type { SqlClient } from '../../platform/sql/client.js';
import type { EventEnvelope } from '../../schemas/events/registry.js';
import { ProjectionEventError } from '../kernel/errors.js';
import { raiseGuards } from '../kernel/guard.js';
import type { ReadModelTarget } from '../kernel/target.js';
import { RELAY_CONSUMER } from './collect.js';
import { getDeadLetter, listDeadLetters, recordRetryFailure, resolveDeadLetter, type DeadLetter } from './store.js';

/** `annals dlq` refusals; internal (no API answers with them), printed as one line by the CLI. */
export const DeadLetterErrorCode = defineErrors('DLQ', {
  NotFound: 'DLQ_ERR_NOT_FOUND',
  NotPending: 'DLQ_ERR_NOT_PENDING',
  UnknownConsumer: 'DLQ_ERR_UNKNOWN_CONSUMER',
  NoCoordinates: 'DLQ_ERR_NO_COORDINATES',
  EventGone: 'DLQ_ERR_EVENT_GONE',
  StillFailing: 'DLQ_ERR_STILL_FAILING',
  Raced: 'DLQ_ERR_RACED',
});

export class DeadLetterError extends CodedError {
  constructor(code: (typeof DeadLetterErrorCode)[keyof typeof DeadLetterErrorCode], message: string, details?: Record<string, unknown>) {
    super(code, message, code === DeadLetterErrorCode.NotFound ? 404 : 409, details);
    this.name = 'DeadLetterError';
  }
}

export interface RetryDeps {
  /** The read database: dead-letter table and control tables. */
  readonly sql: SqlClient;
  readonly store: EventStore;
  /** Every read model of every store this build knows, by name. */
  readonly targets: ReadonlyMap<string, ReadModelTarget>;
  /** For a relay letter: the event is published again once every read model has it. */
  readonly bus?: Bus | undefined;
  readonly actor: string;
  readonly now?: () => Date;
}

export interface RetryOutcome {
  readonly letter: DeadLetter;
  /** Events applied per read model (the letter's event and the stream's later events it re-applied, in stream order). */
  readonly applied: ReadonlyArray<{ readonly model: string; readonly applied: number; readonly fromRevision: bigint; readonly toRevision: bigint }>;
  /** Other pending letters of the same consumer and stream that this retry applied (resolved with it). */
  readonly alsoResolved: readonly bigint[];
  readonly published: boolean;
}

/**
 * Retries one pending dead letter, IN STREAM ORDER, through the read model's own apply path (the target's
 * `apply`, so its revision guard, its idempotency and its atomicity hold):
 *
 * The live consumer moved on after dead-lettering revision r of a stream: later revisions r+1 … g (g = the
 * model's revision guard for that stream) were applied on top of a state that lacks r. Applying r alone
 * now would both be refused by the guard (r <= g: "applied before") and, were it forced, land out of order.
 * So a retry lowers the stream's guard to r-1 and re-applies r, r+1 … g, in order, in one apply: the model
 * ends as if r had never failed. Re-applying r+1 … g relies on what every projection already guarantees
 * for a rebuild's catch-up (upserts keyed by entity, inserts keyed by position, ON CONFLICT DO NOTHING).
 * Events of the tail that were SKIPPED (`dlq skip`) stay out; a tail event that still fails fails the whole
 * retry, which writes nothing (the guard is restored): applying part of a tail would move rows backwards.
 *
 * A relay letter (an event the relay refused to publish, e.g. an unknown type before an upgrade) is checked
 * again as the relay checks it, applied the same way to every read model that handles its type, and then
 * published to its aggregate topic for other consumers (whose guards skip it if they are read models here).
 */
export async function retryDeadLetter(deps: RetryDeps, id: bigint): Promise<RetryOutcome> {
  const now = deps.now ?? (() => new Date());
  const letter = await getDeadLetter(deps.sql, id);
  if (!letter) throw new DeadLetterError(DeadLetterErrorCode.NotFound, `no dead letter #${id}`, { id: id.toString() });
  if (letter.status !== 'pending') throw new DeadLetterError(DeadLetterErrorCode.NotPending, `dead letter #${id} is ${letter.status} already (by ${letter.resolvedBy ?? '?'})`, { id: id.toString() });
  if (letter.streamId === undefined || letter.streamRevision === undefined) {
    throw new DeadLetterError(DeadLetterErrorCode.NoCoordinates, `dead letter #${id} has no event coordinates (an unreadable bus message); skip it`, { id: id.toString() });
  }
  try {
    const outcome = await retryLetter(deps, letter);
    await resolveDeadLetter(deps.sql, letter.id, 'retried', deps.actor, now());
    for (const other of outcome.alsoResolved) await resolveDeadLetter(deps.sql, other, 'retried', deps.actor, now());
    return outcome;
  } catch (err) {
    await recordRetryFailure(deps.sql, letter.id, ((err as Error)?.message ?? String(err)).slice(0, 2_000), now());
    throw err;
  }
}

async function retryLetter(deps: RetryDeps, letter: DeadLetter): Promise<RetryOutcome> {
  const streamId = letter.streamId!;
  const revision = letter.streamRevision!;
  const records = await deps.store.readStreamRaw(streamId, { fromRevision: revision });
  const first = records[0];
  if (!first || first.streamRevision !== revision || (letter.eventId !== undefined && first.eventId !== letter.eventId)) {
    throw new DeadLetterError(DeadLetterErrorCode.EventGone, `dead letter #${letter.id}: ${streamId} revision ${revision} is not in the event store (as that event)`, { id: letter.id.toString() });
  }
  const isRelay = letter.consumer === RELAY_CONSUMER;
  if (isRelay) {
    try {
      checkSealedRecord(first);
    } catch (err) {
      throw new DeadLetterError(DeadLetterErrorCode.StillFailing, `dead letter #${letter.id}: the relay still refuses it: ${(err as Error).message}`, { id: letter.id.toString() });
    }
  }
  const targets = isRelay ? [...deps.targets.values()] : [deps.targets.get(letter.consumer)].filter((t) => t !== undefined);
  if (targets.length === 0) {
    throw new DeadLetterError(DeadLetterErrorCode.UnknownConsumer, `dead letter #${letter.id}: no read model named ${JSON.stringify(letter.consumer)} in this build`, { id: letter.id.toString() });
  }

  // Decode the stream from r on (decrypt, upcast, validate): an erased subject reads as erased, as everywhere.
  const outcomes = await deps.store.reader.read(records);
  if (!outcomes[0]!.ok) {
    throw new DeadLetterError(DeadLetterErrorCode.StillFailing, `dead letter #${letter.id}: the event is still unreadable: ${(outcomes[0]!.error as Error)?.message ?? String(outcomes[0]!.error)}`, { id: letter.id.toString() });
  }
  const applied: Array<{ model: string; applied: number; fromRevision: bigint; toRevision: bigint }> = [];
  const alsoResolved = new Set<bigint>();
  for (const target of targets) {
    if (!target.eventTypes.includes(first.type as never)) continue;
    const skipped = new Set(
      (await listDeadLetters(deps.sql, { status: 'skipped', consumer: target.name })).filter((l) => l.streamId === streamId).map((l) => l.eventId),
    );
    const live = await target.live();
    if (!live) throw new DeadLetterError(DeadLetterErrorCode.UnknownConsumer, `read model ${target.name} is not registered in this read database`, { model: target.name });
    // The stream's guard: its row, else (a generation filled by a rebuild writes none: guard.ts) the last
    // revision the fill applied, i.e. the last one at or below the generation's history_through.
    const { row, historyThrough } = await readGuard(deps.sql, target.name, live.generation, streamId);
    const filled = historyThrough === undefined ? undefined : records.filter((r) => r.position <= historyThrough).at(-1)?.streamRevision;
    const guard = row ?? filled;
    const upTo = guard !== undefined && guard > revision ? guard : revision;
    // The tail: r … g in stream order, stopping before an event that cannot be read (it has a letter of its own).
    const tail: EventEnvelope[] = [];
    for (let i = 0; i < records.length && records[i]!.streamRevision <= upTo; i++) {
      const o = outcomes[i]!;
      if (!o.ok) break;
      if (i > 0 && skipped.has(records[i]!.eventId)) continue;
      tail.push(o.event);
    }
    await setGuard(deps.sql, target.name, live.generation, streamId, revision - 1n);
    let result;
    try {
      result = await target.apply({ generation: 'live', items: tail.map((event) => ({ position: event.position, event })) });
    } catch (err) {
      await restoreGuard(deps.sql, target.name, live.generation, streamId, guard, revision - 1n);
      if (err instanceof ProjectionEventError) {
        throw new DeadLetterError(DeadLetterErrorCode.StillFailing, `dead letter #${letter.id}: ${err.message}`, { id: letter.id.toString(), model: target.name });
      }
      throw err;
    }
    const handled = tail.filter((e) => target.eventTypes.includes(e.type as never)).length;
    if (result.applied < handled) {
      // The live consumer moved the guard between our lowering and the apply: nothing is lost (the guard is
      // where it was or higher), but this retry did not apply the tail. Running it again does.
      await restoreGuard(deps.sql, target.name, live.generation, streamId, guard, revision - 1n);
      throw new DeadLetterError(DeadLetterErrorCode.Raced, `dead letter #${letter.id}: ${target.name} applied ${streamId} concurrently; run the retry again`, { id: letter.id.toString(), model: target.name });
    }
    applied.push({ model: target.name, applied: result.applied, fromRevision: revision, toRevision: tail[tail.length - 1]!.streamRevision });
    const appliedIds = new Set(tail.map((e) => e.eventId));
    for (const other of await listDeadLetters(deps.sql, { status: 'pending', consumer: target.name })) {
      if (other.id !== letter.id && other.streamId === streamId && other.eventId !== undefined && appliedIds.has(other.eventId)) alsoResolved.add(other.id);
    }
  }
  let published = false;
  if (isRelay && deps.bus) {
    const topic = topicOfStream(streamId);
    if (topic) {
      await deps.bus.publish([{ topic, ...encodeEvent(first) }]);
      published = true;
    }
  }
  return { letter, applied, alsoResolved: [...alsoResolved], published };
}

/** Records who skipped a pending letter and when; the event stays unapplied (and out of later retries' tails). */
export async function skipDeadLetter(deps: Pick<RetryDeps, 'sql' | 'actor' | 'now'>, id: bigint): Promise<DeadLetter> {
  const letter = await getDeadLetter(deps.sql, id);
  if (!letter) throw new DeadLetterError(DeadLetterErrorCode.NotFound, `no dead letter #${id}`, { id: id.toString() });
  if (!(await resolveDeadLetter(deps.sql, id, 'skipped', deps.actor, (deps.now ?? (() => new Date()))()))) {
    throw new DeadLetterError(DeadLetterErrorCode.NotPending, `dead letter #${id} is ${letter.status} already (by ${letter.resolvedBy ?? '?'})`, { id: id.toString() });
  }
  return (await getDeadLetter(deps.sql, id))!;
}

/** The stream's guard row in `generation` (undefined: none) and the generation's `history_through`. */
async function readGuard(sql: SqlClient, name: string, generation: number, streamId: string): Promise<{ row: bigint | undefined; historyThrough: bigint | undefined }> {
  const { rows } = await sql.query<{ r: string | null; h: string | null }>(
    `SELECT (SELECT revision::text FROM annals_projection_streams WHERE name = $1 AND generation = $2 AND stream_id = $3) AS r,
            history_through::text AS h
       FROM annals_projection_generations WHERE name = $1 AND generation = $2`,
    [name, generation, streamId],
  );
  const g = rows[0];
  return { row: g?.r == null ? undefined : BigInt(g.r), historyThrough: g?.h == null ? undefined : BigInt(g.h) };
}

/** Lowers the stream's guard to `revision` (-1: nothing applied), as a row: it then decides over history_through. */
async function setGuard(sql: SqlClient, name: string, generation: number, streamId: string, revision: bigint): Promise<void> {
  await sql.query(
    `INSERT INTO annals_projection_streams(name, generation, stream_id, revision) VALUES ($1, $2, $3, $4)
     ON CONFLICT (name, generation, stream_id) DO UPDATE SET revision = LEAST(annals_projection_streams.revision, EXCLUDED.revision)`,
    [name, generation, streamId, revision.toString()],
  );
}

/**
 * Puts a guard back after a failed retry; never lowers one the live consumer raised meanwhile. No guard
 * before: the row `setGuard` wrote goes, unless the live consumer raised it.
 */
async function restoreGuard(sql: SqlClient, name: string, generation: number, streamId: string, revision: bigint | undefined, lowered: bigint): Promise<void> {
  if (revision === undefined) {
    await sql.query(`DELETE FROM annals_projection_streams WHERE name = $1 AND generation = $2 AND stream_id = $3 AND revision = $4`, [name, generation, streamId, lowered.toString()]);
    return;
  }
  const raise = raiseGuards(name, generation, [[streamId, revision]]);
  await sql.query(raise.sql, raise.params);
}

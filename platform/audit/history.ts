import type { Actor } from '../../schemas/events/envelope.js';
import type { EventEnvelope } from '../../schemas/events/registry.js';
import { aggregates, streamName, type AggregateName } from '../../schemas/events/streams.js';
import { budgetEvents } from '../../schemas/events/budget.js';
import { consentEvents } from '../../schemas/events/consent.js';
import { contactEvents } from '../../schemas/events/contact.js';
import { dealEvents } from '../../schemas/events/deal.js';
import { leadEvents } from '../../schemas/events/lead.js';
import type { EventStore, TenantScope } from '../event-store/event-store.js';
import { encodeAuditCursor, decodeAuditCursor } from './input.js';
import { diffStates, toPlain, type FieldChange, type Plain } from './plain.js';
import type { AggregateFolds } from './port.js';

/** One event of an entity's history, as an auditor reads it. */
export interface AuditEntry {
  readonly aggregate: AggregateName;
  readonly streamId: string;
  readonly streamRevision: bigint;
  readonly eventId: string;
  readonly type: string;
  readonly occurredAt: string;
  readonly position: bigint;
  readonly actor: Actor;
  readonly correlationId: string;
  readonly causationId: string;
  /**
   * The fields of the aggregate's state this event changed, before → after: the decider's own fold run
   * before and after the event, diffed generically. So the trail and `…AsOf` agree by construction, and
   * a change the decider ignores (a field it does not keep) is not invented here; see `data` for those.
   */
  readonly changes: readonly FieldChange[];
  /** The event's payload as read (personal values decrypted, or "[erased]" once the subject was erased). */
  readonly data: Plain;
  /** The subject's key was destroyed when this was read: personal values read "[erased]". */
  readonly erased: boolean;
  /** The payload paths that read as erased (`email`, `customFields.size`…). */
  readonly erasedFields: readonly string[];
}

/** The state of one aggregate instance folded up to an instant. */
export interface AsOfState {
  readonly aggregate: AggregateName;
  readonly id: string;
  readonly at: Date;
  /** The decider's state as plain JSON (see port.ts); never null here (before creation the read answers null). */
  readonly state: { readonly [key: string]: Plain };
  /** Revision and position of the last event folded; when the instance was created and last changed. */
  readonly revision: bigint;
  readonly position: bigint;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly erased: boolean;
}

export interface AuditPage {
  readonly entries: readonly AuditEntry[];
  readonly hasNextPage: boolean;
  readonly hasPreviousPage: boolean;
  readonly startCursor: string | null;
  readonly endCursor: string | null;
  readonly cursorOf: (entry: AuditEntry) => string;
}

/**
 * Whose history may be read. With a tenant (GraphQL, from the token), a stream of another tenant reads
 * as absent and `onOtherTenant` reports it (the event-store facade's tenant-scoped read). Without one
 * (`annals replay history`, an operator with the database credentials), every tenant's stream is read.
 */
export type HistoryScope = Partial<TenantScope>;

export interface HistoryReader {
  /** Every event of every aggregate stream named after `entityId`, in global position order. */
  entityHistory(entityId: string, scope: HistoryScope): Promise<AuditEntry[]>;
  /** A page of `entityHistory` after an opaque cursor. */
  auditPage(entityId: string, page: { first: number; after?: string | null | undefined }, scope: HistoryScope): Promise<AuditPage>;
  /**
   * The aggregate's state as of `at`: the stream's events up to the first one that occurred after `at`,
   * folded; null before the instance was created (or when it does not exist for this tenant).
   */
  stateAsOf(aggregate: AggregateName, id: string, at: Date, scope: HistoryScope): Promise<AsOfState | null>;
}

const typesOf: Readonly<Record<AggregateName, ReadonlySet<string>>> = {
  lead: new Set(leadEvents.map((d) => d.type)),
  contact: new Set(contactEvents.map((d) => d.type)),
  deal: new Set(dealEvents.map((d) => d.type)),
  consent: new Set(consentEvents.map((d) => d.type)),
  budget: new Set(budgetEvents.map((d) => d.type)),
};

/** The "nothing yet" state reads as null: the same generic rule for every decider (`Absent`, `none`…). */
function plainOf(state: unknown, initial: string): Plain {
  const plain = toPlain(state);
  return JSON.stringify(plain) === initial ? null : plain;
}

export function createHistoryReader(deps: { readonly store: Pick<EventStore, 'readStream'>; readonly folds: AggregateFolds }): HistoryReader {
  const { store, folds } = deps;
  const foldable = aggregates.filter((a) => folds[a] !== undefined);

  const readScoped = (streamId: string, scope: HistoryScope): Promise<EventEnvelope[]> =>
    store.readStream(streamId, scope.tenantId === undefined ? {} : { tenantId: scope.tenantId, ...(scope.onOtherTenant ? { onOtherTenant: scope.onOtherTenant } : {}) });

  /** Folds one stream event by event, recording what each changed. */
  const replay = (aggregate: AggregateName, events: readonly EventEnvelope[]): AuditEntry[] => {
    const fold = folds[aggregate]!;
    const initial = JSON.stringify(toPlain(fold.initialState()));
    let state = fold.initialState();
    let before = plainOf(state, initial);
    let erasedStream = false;
    const out: AuditEntry[] = [];
    for (const e of events) {
      if (!typesOf[aggregate].has(e.type)) continue;
      state = fold.evolve(state, e);
      const after = plainOf(state, initial);
      erasedStream ||= e.erased === true;
      out.push({
        aggregate,
        streamId: e.streamId,
        streamRevision: e.streamRevision,
        eventId: e.eventId,
        type: e.type,
        occurredAt: e.occurredAt,
        position: e.position,
        actor: e.actor,
        correlationId: e.correlationId,
        causationId: e.causationId,
        changes: diffStates(before, after, erasedStream),
        data: toPlain(e.data),
        erased: e.erased === true,
        erasedFields: (e.erasedPaths ?? []).map((p) => p.join('.')),
      });
      before = after;
    }
    return out;
  };

  const entityHistory = async (entityId: string, scope: HistoryScope): Promise<AuditEntry[]> => {
    const streams = await Promise.all(foldable.map(async (a) => replay(a, await readScoped(streamName[a](entityId), scope))));
    return streams.flat().sort((x, y) => (x.position < y.position ? -1 : x.position > y.position ? 1 : 0));
  };

  return {
    entityHistory,
    async auditPage(entityId, { first, after }, scope) {
      const from = after === undefined || after === null ? undefined : decodeAuditCursor(after, entityId);
      const all = await entityHistory(entityId, scope);
      const rest = from === undefined ? all : all.filter((e) => e.position > from);
      const entries = rest.slice(0, first);
      const cursorOf = (e: AuditEntry) => encodeAuditCursor(entityId, e.position);
      return {
        entries,
        hasNextPage: rest.length > first,
        hasPreviousPage: rest.length < all.length,
        startCursor: entries.length > 0 ? cursorOf(entries[0]!) : null,
        endCursor: entries.length > 0 ? cursorOf(entries[entries.length - 1]!) : null,
        cursorOf,
      };
    },
    async stateAsOf(aggregate, id, at, scope) {
      const fold = folds[aggregate];
      if (!fold) throw new Error(`no fold injected for aggregate ${aggregate}`);
      const events = (await readScoped(streamName[aggregate](id), scope)).filter((e) => typesOf[aggregate].has(e.type));
      // A prefix of the stream, never a subset: occurredAt comes from the deciding process's clock, so two
      // processes' skew could make revision n+1 "occur" before revision n; folding a stream with a hole in
      // it would hand `evolve` a sequence the decider never saw.
      const cut = at.getTime();
      let n = 0;
      while (n < events.length && Date.parse(events[n]!.occurredAt) <= cut) n++;
      if (n === 0) return null;
      const prefix = events.slice(0, n);
      let state = fold.initialState();
      for (const e of prefix) state = fold.evolve(state, e);
      const plain = toPlain(state);
      if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) return null;
      const last = prefix[n - 1]!;
      return {
        aggregate,
        id,
        at,
        state: plain,
        revision: last.streamRevision,
        position: last.position,
        createdAt: prefix[0]!.occurredAt,
        updatedAt: last.occurredAt,
        erased: prefix.some((e) => e.erased === true),
      };
    },
  };
}

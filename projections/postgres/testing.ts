import {
  currentVersion,
  parseEvent,
  type AnnalsEvent,
  type AnnalsEventType,
  type EventEnvelope,
} from '../../schemas/events/registry.js';
import type { Role } from '../../schemas/events/common.js';
import { openPglite, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import type { PostgresProjection, Tables } from '../kernel/projection.js';

/**
 * Test helpers for the PostgreSQL read models: build a history of valid events, replay it through a
 * projection into a fresh generation of its tables on in-memory PGlite (real PostgreSQL), read rows back.
 *
 * One PGlite per test file (opening one is slow); every replay creates a new generation (`contacts_g7`),
 * exactly as a blue-green rebuild does, so a projection that hard-codes a table or index name fails here.
 * The replay applies each event's statements in one transaction, in the given order, once (the runtime's
 * revision guard dedupes redeliveries) or twice on request, skipping types the projection does not
 * list, like the runtime.
 */

export type DataOf<T extends AnnalsEventType> = Extract<AnnalsEvent, { type: T }>['data'];

export interface EventOptions {
  readonly tenantId?: string;
  readonly occurredAt?: string;
  readonly userId?: string;
  readonly roles?: Role[];
  readonly correlationId?: string;
}

const START = Date.parse('2025-01-01T09:00:00.000Z');

/**
 * A growing history across streams: global positions and per-stream revisions are assigned in append
 * order; the clock advances one minute per event unless `occurredAt` is given. Every event goes
 * through `parseEvent`, so a test event that breaks the schema fails loudly.
 */
export class History {
  readonly events: EventEnvelope[] = [];
  private readonly revisions = new Map<string, bigint>();
  private position: bigint;
  private clock = START;

  constructor(private readonly defaults: { tenantId: string; userId?: string; firstPosition?: bigint } = { tenantId: 'tenant-a' }) {
    this.position = (defaults.firstPosition ?? 1n) - 1n;
  }

  append<T extends AnnalsEventType>(streamId: string, type: T, data: DataOf<T>, options: EventOptions = {}): EventEnvelope {
    // Revisions per tenant and stream: tests reuse one id in two tenants to prove isolation.
    const key = `${options.tenantId ?? this.defaults.tenantId}/${streamId}`;
    const revision = (this.revisions.get(key) ?? -1n) + 1n;
    this.revisions.set(key, revision);
    this.position += 1n;
    if (options.occurredAt !== undefined) this.clock = Date.parse(options.occurredAt);
    else this.clock += 60_000;
    const version = currentVersion(type);
    if (version === undefined) throw new Error(`unknown event type ${type}`);
    const event = parseEvent({
      eventId: `00000000-0000-7000-8000-${this.position.toString().padStart(12, '0')}`,
      type,
      schemaVersion: version,
      streamId,
      streamRevision: revision,
      position: this.position,
      data,
      metadata: {
        tenantId: options.tenantId ?? this.defaults.tenantId,
        actor: { userId: options.userId ?? this.defaults.userId ?? 'user-1', roles: options.roles ?? ['sales'] },
        correlationId: options.correlationId ?? `corr-${this.position}`,
        causationId: `cause-${this.position}`,
        occurredAt: new Date(this.clock).toISOString(),
      },
    });
    this.events.push(event);
    return event;
  }

  /** The time the next event would get by default (one minute after the last one). */
  get now(): string {
    return new Date(this.clock).toISOString();
  }
}

export type Row = Record<string, unknown>;

export interface Generation {
  readonly tables: Tables;
  /** Rows of a logical table, JSON-friendly (timestamps as ISO strings, int8 as numbers), ordered by `orderBy` or canonically. */
  rows(logical: string, orderBy?: string): Promise<Row[]>;
  /** Every table's rows in canonical order: two replays of the same history must dump equal. */
  dump(): Promise<Record<string, Row[]>>;
}

export interface ReplayOptions {
  /**
   * Deliver every event twice in a row (GUIDE rule 8). The runtime's revision guard makes this
   * unnecessary, but our statements are written so a duplicate changes nothing anyway.
   */
  readonly deliverTwice?: boolean;
}

export interface ReadModelDb {
  replay(events: readonly EventEnvelope[], options?: ReplayOptions): Promise<Generation>;
  close(): Promise<void>;
}

/** Opens PGlite for one projection, or uses `shared` (then `close` leaves it open). */
export async function openReadModel(projection: PostgresProjection, shared?: SqlClient): Promise<ReadModelDb> {
  const db: SqlClient = shared ?? pgliteClient(await openPglite());
  // Time zone fixed away from UTC, so a projection that relies on the session time zone shows up.
  await db.exec(`SET TimeZone = 'America/New_York'`);
  let generation = 0;
  return {
    async replay(events, options = {}) {
      generation += 1;
      const tables: Tables = Object.fromEntries(projection.tables.map((t) => [t, `${t}_g${generation}`]));
      await db.exec(projection.ddl(tables));
      const handled = new Set<string>(projection.eventTypes);
      for (const event of events) {
        if (!handled.has(event.type)) continue;
        for (let delivery = options.deliverTwice ? 2 : 1; delivery > 0; delivery--) {
          const statements = projection.project(event, tables);
          await db.transaction(async (tx) => {
            for (const s of statements) await tx.query(s.sql, s.params);
          });
        }
      }
      const rows = async (logical: string, orderBy?: string): Promise<Row[]> => {
        const physical = tables[logical];
        if (physical === undefined) throw new Error(`${projection.name} has no table ${logical}`);
        const r = await db.query<Row>(`SELECT * FROM ${physical}${orderBy ? ` ORDER BY ${orderBy}` : ''}`);
        const normalized = r.rows.map((row) => normalize(row) as Row);
        if (orderBy) return normalized;
        return normalized.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
      };
      return {
        tables,
        rows,
        async dump() {
          const out: Record<string, Row[]> = {};
          for (const t of projection.tables) out[t] = await rows(t);
          return out;
        },
      };
    },
    close: async () => {
      if (!shared) await db.close();
    },
  };
}

function normalize(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
  }
  return value;
}

/** Deterministic UUIDs for tests: `uuid(1)` → `00000000-0000-7000-8000-000000000001`. */
export function uuid(n: number, group = 'a'): string {
  const g = group.charCodeAt(0).toString(16).padStart(4, '0');
  return `0000${g}-0000-7000-8000-${n.toString().padStart(12, '0')}`;
}

import type { AnnalsEventType, EventEnvelope } from '../../schemas/events/registry.js';
import { parseStreamName, type AggregateName } from '../../schemas/events/streams.js';
import type { SqlExecutor } from '../../platform/sql/client.js';
import type { ScanFinding, ScanTarget } from '../../platform/pii/scanner.js';
import type { PostgresProjection, SqlStatement, Tables } from '../kernel/projection.js';

/**
 * Small helpers shared by the PostgreSQL read models. Everything here is pure: it builds SQL text and
 * parameter lists, never touches a connection.
 */

/**
 * Columns of each logical table that hold personal data (plaintext for now, SPEC: GDPR). Erasure nulls
 * exactly these, and the erasure certificate can scan exactly these, so the list lives beside the DDL.
 */
export type PersonalColumns = Readonly<Record<string, readonly string[]>>;

/** A PostgreSQL read model that also says where its personal data is. */
export interface PostgresReadModel extends PostgresProjection {
  readonly personalColumns: PersonalColumns;
  /**
   * Where each personal field of the handled events is kept (`<EventType>.<path>` → `table.column`, or
   * null): the six entity models derive `personalColumns` from it (personal-columns.ts).
   */
  readonly personalSources?: Readonly<Record<string, `${string}.${string}` | null>>;
  /**
   * A check of the live generation that the generic scanner (pii-scanner.ts: rows that mention the subject)
   * cannot make: the search model's term dictionary holds words, not subject ids.
   */
  readonly scanLive?: (sql: SqlExecutor, tables: Tables, target: ScanTarget) => Promise<{ findings: ScanFinding[]; examined: number }>;
}

// A plain (optionally schema-qualified) lower-case identifier: the runtime passes names like
// `contacts_g3`; anything else is refused rather than quoted, because a quoted name would make case
// significant and every index name derived from it would have to be quoted the same way.
const IDENTIFIER = /^(?:[a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$/;
const MAX_IDENTIFIER = 63; // PostgreSQL's NAMEDATALEN - 1: longer names are silently truncated

/** The physical names of `logical` tables from `tables`, checked, so SQL can interpolate them. */
export function physicalNames<const K extends string>(tables: Tables, logical: readonly K[]): Readonly<Record<K, string>> {
  const out = {} as Record<K, string>;
  for (const name of logical) {
    const physical = tables[name];
    if (physical === undefined) throw new Error(`no physical table given for logical table "${name}"`);
    if (!IDENTIFIER.test(physical) || bare(physical).length > MAX_IDENTIFIER) {
      throw new Error(`physical table name "${physical}" for "${name}" is not a plain lower-case identifier`);
    }
    out[name] = physical;
  }
  return out;
}

/** An index (or constraint) name derived from a physical table name: unique per generation, never schema-qualified. */
export function indexName(table: string, suffix: string): string {
  const name = `${bare(table)}_${suffix}`;
  if (name.length > MAX_IDENTIFIER) throw new Error(`index name "${name}" exceeds ${MAX_IDENTIFIER} characters`);
  return name;
}

function bare(table: string): string {
  return table.slice(table.lastIndexOf('.') + 1);
}

export function statement(sql: string, params: readonly unknown[] = []): SqlStatement {
  return { sql, params };
}

/**
 * int8 values travel as decimal strings: both drivers accept them, neither loses precision, and JSON
 * serialisation of a statement (logs, dead letters) does not throw on a bigint.
 */
export function int8(value: bigint): string {
  return value.toString();
}

/** `SET a = NULL, b = NULL` for the personal columns of one table. */
export function nullPersonal(columns: readonly string[]): string {
  return columns.map((c) => `${c} = NULL`).join(', ');
}

/** A type guard for the event types a projection handles, so its `switch` can be exhaustive. */
export function handles<const T extends readonly AnnalsEventType[]>(
  types: T,
): (event: EventEnvelope) => event is Extract<EventEnvelope, { type: T[number] }> {
  const set = new Set<string>(types);
  return (event: EventEnvelope): event is Extract<EventEnvelope, { type: T[number] }> => set.has(event.type);
}

export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}

/** The aggregate id of an event whose payload does not repeat it (deal and budget events): `deal-<id>` → `<id>`. */
export function streamEntityId(event: EventEnvelope, aggregate: AggregateName): string {
  const parsed = parseStreamName(event.streamId);
  if (parsed?.aggregate !== aggregate) {
    throw new Error(`${event.type} at position ${event.position} is on stream ${event.streamId}, expected ${aggregate}-<id>`);
  }
  return parsed.id;
}

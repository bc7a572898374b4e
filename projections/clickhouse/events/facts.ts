import type { DataPath } from '../../../schemas/events/personal-data.js';
import { eventDefinition, type AnnalsEventType, type EventEnvelope } from '../../../schemas/events/registry.js';
import { parseStreamName } from '../../../schemas/events/streams.js';
import { eventColumns, type EventFactRow } from '../../../schemas/read-models/clickhouse/events.js';

/**
 * The pure mapping of the analytics fact table (GUIDE rule 7): event → one row. The row is the envelope
 * plus the facts declared below, per event type, as data paths into the payload. NO PERSONAL DATA: the
 * declaration is checked against the schema marker when this module loads (`assertNoPersonalFacts`):
 * a path that is, or lies under, or contains a field marked `personal(...)` in schemas/events stops the
 * process before a single row is written. So a field newly marked personal can never reach ClickHouse,
 * and free text is never copied at all (names, notes, summaries, deal names, reasons, companies): only
 * ids, enumerations, slugs, labels, numbers, money, dates.
 */

/** Columns a fact may fill from the payload (envelope columns are always filled). */
type FactColumn = Exclude<
  keyof EventFactRow,
  | 'tenant_id' | 'position' | 'event_id' | 'event_type' | 'schema_version' | 'aggregate' | 'aggregate_id' | 'stream_id' | 'stream_revision'
  | 'occurred_at' | 'occurred_at_ms' | 'occurred_month' | 'effective_at' | 'effective_at_ms' | 'effective_day' | 'effective_month'
  | 'actor_id' | 'actor_roles' | 'correlation_id' | 'causation_id'
>;

interface FactSpec {
  /** column ← payload path */
  readonly paths?: Partial<Record<FactColumn, DataPath>>;
  /** column ← a constant (statuses implied by the event type) */
  readonly constants?: Partial<Record<FactColumn, string | number>>;
  /** The payload's own time of the business fact (else the envelope's `occurredAt`). */
  readonly effectiveAt?: DataPath;
}

const money = (prefix: readonly string[]) => ({ amount_minor: [...prefix, 'amountMinor'], currency: [...prefix, 'currency'] });

/** Every event type of the five aggregates, and what of it the fact table keeps. */
export const FACTS = {
  // lead
  LeadCaptured: { paths: { source: ['source'], campaign: ['campaign'], owner_id: ['ownerId'] }, constants: { status: 'New' }, effectiveAt: ['capturedAt'] },
  LeadAssigned: { paths: { owner_id: ['ownerId'] } },
  LeadQualified: { paths: { ...money(['budget']), authority: ['authority'], timeline: ['timeline'] }, constants: { status: 'Qualified' } },
  LeadStatusChanged: { paths: { status: ['to'], previous_status: ['from'] } },
  LeadScored: { paths: { score: ['score'] } },
  LeadActivityLogged: { paths: { kind: ['kind'], direction: ['direction'], purpose: ['marketingPurpose'] }, effectiveAt: ['occurredAt'] },
  LeadConverted: { paths: { related_id: ['contactId'], pipeline: ['deal', 'pipeline'], stage: ['deal', 'stage'], ...money(['deal', 'value']) }, constants: { status: 'Converted' } },
  LeadErased: {},
  // contact
  ContactCreated: { paths: { related_id: ['convertedFromLeadId'] } },
  ContactUpdated: {},
  ContactInteractionLogged: { paths: { kind: ['kind'], channel: ['channel'], direction: ['direction'], purpose: ['marketingPurpose'] }, effectiveAt: ['occurredAt'] },
  ContactMerged: { paths: { related_id: ['survivorId'] }, constants: { status: 'merged' } },
  ContactErased: {},
  // deal
  DealOpened: {
    paths: { related_id: ['contactId'], ...money(['value']), pipeline: ['pipeline'], stage: ['stage'], probability: ['probability'], owner_id: ['ownerId'] },
    constants: { status: 'open' },
  },
  DealStageMoved: { paths: { previous_stage: ['from'], stage: ['to'], probability: ['probability'] }, constants: { status: 'open' } },
  DealValueChanged: { paths: { ...money(['to']), previous_amount_minor: ['from', 'amountMinor'] } },
  DealWon: { paths: { stage: ['stage'], ...money(['value']), probability: ['probability'] }, constants: { status: 'won' } },
  DealLost: { paths: { stage: ['stage'], ...money(['value']), probability: ['probability'] }, constants: { status: 'lost' } },
  DealReopened: { paths: { stage: ['stage'], probability: ['probability'] }, constants: { status: 'open' } },
  // consent
  ConsentGranted: {
    paths: { subject_id: ['subjectId'], subject_type: ['subjectType'], purpose: ['purpose'], lawful_basis: ['lawfulBasis'] },
    constants: { status: 'granted' },
    effectiveAt: ['grantedAt'],
  },
  ConsentWithdrawn: { paths: { subject_id: ['subjectId'], purpose: ['purpose'] }, constants: { status: 'withdrawn' }, effectiveAt: ['withdrawnAt'] },
  SubjectErasureRequested: { paths: { subject_id: ['subjectId'], subject_type: ['subjectType'], reason: ['reason'] }, constants: { status: 'erasure_requested' }, effectiveAt: ['requestedAt'] },
  SubjectErased: { paths: { subject_id: ['subjectId'], subject_type: ['subjectType'] }, constants: { status: 'erased' }, effectiveAt: ['erasedAt'] },
  // budget
  BudgetCreated: { paths: { category: ['category'], ...money(['amount']), owner_id: ['ownerId'], period_start: ['period', 'start'], period_end: ['period', 'end'] }, constants: { status: 'open' } },
  BudgetAllocated: { paths: { campaign: ['campaign'], ...money(['amount']) } },
  BudgetSpendRecorded: { paths: { campaign: ['campaign'], ...money(['amount']), overridden: ['overridden'] }, effectiveAt: ['spentAt'] },
  BudgetThresholdReached: { paths: { threshold: ['threshold'], amount_minor: ['spentMinor'] } },
  BudgetClosed: { paths: { amount_minor: ['spentMinor'] }, constants: { status: 'closed' } },
} as const satisfies Partial<Record<AnnalsEventType, FactSpec>>;

export type FactEventType = keyof typeof FACTS;
export const factEventTypes = Object.keys(FACTS) as FactEventType[];

const startsWith = (a: DataPath, b: DataPath): boolean => b.length <= a.length && b.every((k, i) => k === '*' || a[i] === '*' || k === a[i]);

/**
 * Refuses a declaration that would copy personal data: every declared path (facts and effective time) is
 * compared with the event's personal paths from the schema marker; equal, under, or above one is refused.
 * Also refuses a path the schema does not have, so a renamed field cannot silently leave a column empty.
 */
export function assertNoPersonalFacts(facts: Partial<Record<string, FactSpec>> = FACTS): void {
  for (const [type, spec] of Object.entries(facts)) {
    const def = eventDefinition(type);
    if (!def) throw new Error(`analytics facts: unknown event type ${type}`);
    const declared: DataPath[] = [...Object.values(spec?.paths ?? {}), ...(spec?.effectiveAt ? [spec.effectiveAt] : [])] as DataPath[];
    for (const path of declared) {
      const personal = def.personalPaths.find((p) => startsWith(path, p) || startsWith(p, path));
      if (personal) throw new Error(`analytics facts: ${type} ${path.join('.')} is personal data (${personal.join('.')} is marked personal) and may not enter the fact table`);
      if (!schemaHasPath(def.data, path)) throw new Error(`analytics facts: ${type} has no field ${path.join('.')}`);
    }
  }
}

function schemaHasPath(schema: unknown, path: DataPath): boolean {
  let s = schema as { shape?: Record<string, unknown>; unwrap?: () => unknown; def?: { type?: string; in?: unknown } };
  for (const key of path) {
    // Look through optional / nullable / default / pipe (refinements keep the object's shape).
    for (let i = 0; i < 5 && s.shape === undefined; i++) {
      if (typeof s.unwrap === 'function') s = s.unwrap() as typeof s;
      else if (s.def?.type === 'pipe') s = s.def.in as typeof s;
      else break;
    }
    const next = s.shape?.[key];
    if (next === undefined) return false;
    s = next as typeof s;
  }
  return true;
}

// Checked once, when the module loads: a violation stops every process that could write the table.
assertNoPersonalFacts();

const at = (data: unknown, path: DataPath): unknown => {
  let node = data;
  for (const k of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[k];
  }
  return node;
};

/** Epoch milliseconds of each day seen ('YYYY-MM-DD' → ms, NaN for a day the calendar has not): bounded. */
const dayStarts = new Map<string, number>();
const MAX_DAYS = 10_000;
function dayStart(day: string): number {
  let ms = dayStarts.get(day);
  if (ms === undefined) {
    const t = Date.parse(`${day}T00:00:00.000Z`);
    // Date.parse rolls an impossible day over ('2023-02-29' reads as 1 March): only a day that reads back is one.
    ms = Number.isFinite(t) && new Date(t).toISOString().startsWith(day) ? t : NaN;
    if (dayStarts.size >= MAX_DAYS) dayStarts.clear();
    dayStarts.set(day, ms);
  }
  return ms;
}

/** Two ASCII digits at `i` as a number, or NaN. */
function digits2(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : NaN;
}

/**
 * The milliseconds of an instant already in the canonical form 'YYYY-MM-DDTHH:mm:ss.sssZ' (what the
 * command side stores nearly always), or undefined for any other form. Exact: the day is checked once
 * against the calendar (dayStart) and the time of day by range, so the canonical form is its own
 * `toISOString()`. The fact table's hot path: two instants per row, without Date's parse and print.
 */
export function canonicalInstantMs(s: string): number | undefined {
  if (s.length !== 24 || s.charCodeAt(10) !== 84 /* T */ || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58 || s.charCodeAt(19) !== 46 || s.charCodeAt(23) !== 90 /* Z */) {
    return undefined;
  }
  const hours = digits2(s, 11);
  const minutes = digits2(s, 14);
  const seconds = digits2(s, 17);
  const lastDigit = s.charCodeAt(22) - 48;
  const millis = digits2(s, 20) * 10 + (lastDigit >= 0 && lastDigit <= 9 ? lastDigit : NaN);
  // NaN (a non-digit) fails every comparison.
  if (!(hours < 24 && minutes < 60 && seconds < 60 && millis >= 0)) return undefined;
  const day = dayStart(s.slice(0, 10));
  if (Number.isNaN(day)) return undefined;
  return day + hours * 3_600_000 + minutes * 60_000 + seconds * 1_000 + millis;
}

/** 'YYYY-MM-DDTHH:mm:ss.sssZ' for any instant of years 0001–9999 (the gate's range); Date handles it exactly. */
function instant(iso: string): { iso: string; ms: number; day: string; month: string } {
  const canonical = canonicalInstantMs(iso);
  if (canonical !== undefined) return { iso, ms: canonical, day: iso.slice(0, 10), month: iso.slice(0, 7) };
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new Error(`analytics facts: not an instant: ${iso.slice(0, 40)}`);
  // toISOString writes years 0001–9999 with four digits (all the gate lets in), so the ISO strings
  // sort and group correctly as text, and the offset is normalised to Z.
  const out = new Date(ms).toISOString();
  return { iso: out, ms, day: out.slice(0, 10), month: out.slice(0, 7) };
}

const NUMBER_COLUMNS = new Set<string>(['probability', 'score', 'threshold', 'overridden']);
const INT64_COLUMNS = new Set<string>(['amount_minor', 'previous_amount_minor']);

/** The envelope's columns of a fact row, in table order (the payload columns follow them). */
function envelopeFacts(event: EventEnvelope, spec: FactSpec) {
  const stream = parseStreamName(event.streamId);
  const occurred = instant(event.occurredAt);
  const effIso = spec.effectiveAt ? at(event.data, spec.effectiveAt) : undefined;
  const effective = typeof effIso === 'string' ? instant(effIso) : occurred;
  return {
    tenant_id: event.tenantId,
    position: event.position.toString(),
    event_id: event.eventId,
    event_type: event.type,
    schema_version: event.schemaVersion,
    aggregate: stream?.aggregate ?? '',
    aggregate_id: stream?.id ?? '',
    stream_id: event.streamId,
    stream_revision: event.streamRevision.toString(),
    occurred_at: occurred.iso,
    occurred_at_ms: String(occurred.ms),
    occurred_month: occurred.month,
    effective_at: effective.iso,
    effective_at_ms: String(effective.ms),
    effective_day: effective.day,
    effective_month: effective.month,
    actor_id: event.actor.userId,
    actor_roles: [...event.actor.roles],
    correlation_id: event.correlationId,
    causation_id: event.causationId,
  };
}

/** The fact row of one event, or undefined for a type the table does not hold (system events). */
export function factRow(event: EventEnvelope): EventFactRow | undefined {
  const spec = (FACTS as Partial<Record<string, FactSpec>>)[event.type];
  if (spec === undefined) return undefined;
  const row: EventFactRow = {
    ...envelopeFacts(event, spec),
    owner_id: null,
    subject_id: null,
    related_id: null,
    amount_minor: null,
    currency: null,
    previous_amount_minor: null,
    probability: null,
    score: null,
    status: null,
    previous_status: null,
    pipeline: null,
    stage: null,
    previous_stage: null,
    source: null,
    campaign: null,
    category: null,
    purpose: null,
    lawful_basis: null,
    subject_type: null,
    reason: null,
    kind: null,
    direction: null,
    channel: null,
    authority: null,
    timeline: null,
    threshold: null,
    overridden: null,
    period_start: null,
    period_end: null,
  };
  const put = (column: FactColumn, value: unknown) => {
    if (value === undefined || value === null) return;
    const r = row as unknown as Record<string, unknown>;
    if (INT64_COLUMNS.has(column)) r[column] = String(value as number);
    else if (NUMBER_COLUMNS.has(column)) r[column] = typeof value === 'boolean' ? (value ? 1 : 0) : (value as number);
    else r[column] = String(value as string);
  };
  for (const [column, value] of Object.entries(spec.constants ?? {})) put(column as FactColumn, value);
  for (const [column, path] of Object.entries(spec.paths ?? {})) put(column as FactColumn, at(event.data, path as DataPath));
  return row;
}

/** Per event type, the payload columns it fills in table order: a constant, a path, or a path over a constant. */
const PLANS = new Map<string, readonly { readonly column: string; readonly path?: DataPath; readonly constant?: string | number }[]>(
  Object.entries(FACTS as Partial<Record<string, FactSpec>>).map(([type, spec]) => {
    const paths = (spec?.paths ?? {}) as Record<string, DataPath>;
    const constants = (spec?.constants ?? {}) as Record<string, string | number>;
    const columns = Object.keys(eventColumns).filter((c) => c in paths || c in constants);
    return [type, columns.map((column) => ({ column, ...(column in paths ? { path: paths[column] } : {}), ...(column in constants ? { constant: constants[column] } : {}) }))];
  }),
);

/**
 * `factRow(event)` without its NULL columns (undefined for a type the table does not hold): what one line of
 * `factJsonLines` holds, built directly. The projector's hot path: `JSON.stringify` of it is byte for byte
 * the line `factJsonLines([factRow(event)])` writes (same keys, same order, same values; the unit tests
 * compare them on every type with generated hostile payloads), without the 49-column row and its copy.
 */
export function factRecord(event: EventEnvelope): Record<string, unknown> | undefined {
  const spec = (FACTS as Partial<Record<string, FactSpec>>)[event.type];
  if (spec === undefined) return undefined;
  const record: Record<string, unknown> = envelopeFacts(event, spec);
  // As factRow: an envelope value that is null is left out too (JSON.stringify leaves out undefined itself).
  for (const key in record) if (record[key] === null) delete record[key];
  for (const step of PLANS.get(event.type)!) {
    let value = step.path ? at(event.data, step.path) : undefined;
    if (value === undefined || value === null) value = step.constant;
    if (value === undefined || value === null) continue;
    record[step.column] = INT64_COLUMNS.has(step.column) ? String(value as number) : NUMBER_COLUMNS.has(step.column) ? (typeof value === 'boolean' ? (value ? 1 : 0) : value) : String(value as string);
  }
  return record;
}

/**
 * Rows as JSONEachRow text, the NULL columns left out (JSONEachRow fills an omitted column with its
 * type's default, NULL for a Nullable one, on 18.16 and current ClickHouse alike): a fact row is mostly
 * NULLs (some 25 of 49 columns), so this about halves the text to build, send and parse. One string per
 * INSERT, built here, instead of the client's per-row stream. The bench's raw baseline sends the same text.
 */
export function factJsonLines(rows: readonly EventFactRow[]): string {
  let out = '';
  for (const row of rows) {
    const compact: Record<string, unknown> = {};
    for (const key in row) {
      const value = (row as unknown as Record<string, unknown>)[key];
      if (value !== null) compact[key] = value;
    }
    out += `${JSON.stringify(compact)}\n`;
  }
  return out;
}

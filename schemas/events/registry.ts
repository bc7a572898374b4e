import type { z } from 'zod';
import type { EventDefinition } from './define.js';
import { EventMetadata, type Envelope } from './envelope.js';
import {
  CorruptEventError,
  EventSchemaError,
  UnknownEventTypeError,
  UnsupportedEventVersionError,
  type EventCoordinates,
  type FieldIssue,
} from './errors.js';
import { personalPaths, type DataPath } from './personal-data.js';
import { ERASED_MARKER, copyJson, hasPath, personalSlots, placeholderFor, setAt } from './opaque-personal.js';
import { leadEvents, type LeadEvent } from './lead.js';
import { contactEvents, type ContactEvent } from './contact.js';
import { dealEvents, type DealEvent } from './deal.js';
import { consentEvents, type ConsentEvent } from './consent.js';
import { budgetEvents, type BudgetEvent } from './budget.js';
import { systemEvents, type SystemEvent } from './system.js';
import { upcasters } from './upcasters/index.js';
import type { Upcaster } from './upcasters/define.js';

/** Every event of every aggregate, at its current version. */
export type AnnalsEvent = LeadEvent | ContactEvent | DealEvent | ConsentEvent | BudgetEvent | SystemEvent;
export type AnnalsEventType = AnnalsEvent['type'];

/** A stored event with its envelope, discriminated on `type`. */
export type EventEnvelope<E extends { type: string; data: unknown } = AnnalsEvent> = E extends unknown ? Envelope<E> : never;

export const eventDefinitions: readonly EventDefinition[] = [
  ...leadEvents,
  ...contactEvents,
  ...dealEvents,
  ...consentEvents,
  ...budgetEvents,
  ...systemEvents,
];

const definitionsByType = new Map<string, EventDefinition>();
for (const def of eventDefinitions) {
  if (definitionsByType.has(def.type)) throw new Error(`event type ${def.type} is defined twice`);
  definitionsByType.set(def.type, def);
}

const upcastersByKey = new Map<string, Upcaster>();
for (const u of upcasters) upcastersByKey.set(`${u.type}@${u.fromVersion}`, u);

export function eventDefinition(type: string): EventDefinition | undefined {
  return definitionsByType.get(type);
}

export function currentVersion(type: string): number | undefined {
  return definitionsByType.get(type)?.version;
}

/** Personal-data paths of an event type as stored at `schemaVersion` (old versions via their upcaster schema). */
export function personalPathsOf(type: string, schemaVersion: number): readonly DataPath[] {
  const def = definitionsByType.get(type);
  if (!def) throw new UnknownEventTypeError(type);
  if (schemaVersion === def.version) return def.personalPaths;
  const u = upcastersByKey.get(`${type}@${schemaVersion}`);
  if (!u) throw new UnsupportedEventVersionError(type, schemaVersion);
  return personalPaths(u.schema);
}

/** What an adapter reads back from storage, before validation. `data`/`metadata` may still be JSON text. */
export interface RawStoredEvent {
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly streamId: string;
  readonly streamRevision: bigint;
  readonly position: bigint;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly hash?: string | undefined;
}

/** An event ready to be stored: validated at its current schema version. */
export interface ValidatedEvent {
  readonly type: AnnalsEventType;
  readonly schemaVersion: number;
  readonly data: unknown;
}

export function issuesOf(error: z.ZodError, prefix: string): FieldIssue[] {
  return error.issues.map((issue) => ({
    field: [prefix, ...issue.path.map(String)].filter(Boolean).join('.'),
    rule: issue.message,
  }));
}

/**
 * Validates an event a decider produced against its current schema. An event that fails is never
 * appended: the error names every bad field.
 */
export function validateNewEvent(event: { type: string; data: unknown }): ValidatedEvent {
  const def = definitionsByType.get(event.type);
  if (!def) throw new UnknownEventTypeError(event.type);
  const result = def.data.safeParse(event.data);
  if (!result.success) throw new EventSchemaError(event.type, issuesOf(result.error, 'data'));
  return { type: def.type as AnnalsEventType, schemaVersion: def.version, data: result.data };
}

/** How `parseEvent` treats personal values it cannot validate as they stand (see opaque-personal.ts). */
export interface ParseEventOptions {
  /**
   * The event's data subject is erased (its key destroyed): every personal value present, after
   * upcasting too, reads as ERASED_MARKER; the event carries `erased: true` and the concrete paths.
   */
  readonly erased?: boolean;
  /**
   * Personal values for which this holds (ciphertexts, at the relay) are not validated and stay as they
   * are: they were validated in clear at append. Every other field is validated as usual.
   */
  readonly sealed?: (value: unknown) => boolean;
}

/**
 * The only way any code reads an event: parse JSON, validate the envelope, upcast old versions to the
 * current one and validate the payload. Every failure names the stream and position. Readers of an
 * encrypted store call it through the event reader (platform/event-store/read-events.ts), which
 * decrypts first and passes `erased`.
 */
export function parseEvent(raw: RawStoredEvent, options: ParseEventOptions = {}): EventEnvelope {
  const at: EventCoordinates = {
    streamId: raw.streamId,
    streamRevision: raw.streamRevision,
    position: raw.position,
    eventId: raw.eventId,
  };
  const def = definitionsByType.get(raw.type);
  if (!def) throw new UnknownEventTypeError(raw.type, at);
  if (!Number.isInteger(raw.schemaVersion) || raw.schemaVersion < 1 || raw.schemaVersion > def.version) {
    throw new UnsupportedEventVersionError(raw.type, raw.schemaVersion, at);
  }

  const metadataResult = EventMetadata.safeParse(decodeJson(raw.metadata, 'metadata', at));
  if (!metadataResult.success) {
    throw new CorruptEventError(
      `metadata is invalid: ${issuesOf(metadataResult.error, 'metadata').map((i) => `${i.field}: ${i.rule}`).join('; ')}`,
      at,
    );
  }

  let data = decodeJson(raw.data, 'data', at);
  const opaque = options.erased ? () => true : options.sealed;
  for (let version = raw.schemaVersion; version < def.version; version++) {
    const upcaster = upcastersByKey.get(`${raw.type}@${version}`);
    if (!upcaster) throw new UnsupportedEventVersionError(raw.type, raw.schemaVersion, at);
    const old = parseOpaque(upcaster.schema, data, opaque, options.erased === true, `${raw.type}@v${version}`, at);
    if (!old.success) throw new EventSchemaError(`${raw.type}@v${version}`, issuesOf(old.error, 'data'), at);
    data = upcaster.up(old.data);
  }
  const parsed = parseOpaque(def.data, data, opaque, options.erased === true, raw.type, at);
  if (!parsed.success) throw new EventSchemaError(raw.type, issuesOf(parsed.error, 'data'), at);

  const m = metadataResult.data;
  return {
    eventId: raw.eventId,
    type: raw.type,
    schemaVersion: def.version,
    streamId: raw.streamId,
    streamRevision: raw.streamRevision,
    position: raw.position,
    occurredAt: m.occurredAt,
    tenantId: m.tenantId,
    actor: m.actor,
    correlationId: m.correlationId,
    causationId: m.causationId,
    subjectId: m.subjectId,
    idempotencyKey: m.idempotencyKey,
    requestHash: m.requestHash,
    data: parsed.data,
    hash: raw.hash,
    ...(options.erased ? { erased: true, erasedPaths: parsed.opaquePaths } : {}),
  } as EventEnvelope;
}

/**
 * `schema.safeParse(data)`, except that personal values `opaque` picks are swapped for a placeholder
 * their field accepts before validating, and put back afterwards (the erased marker when `erased`).
 */
function parseOpaque(
  schema: z.ZodType,
  data: unknown,
  opaque: ((value: unknown) => boolean) | undefined,
  erased: boolean,
  what: string,
  at: EventCoordinates,
): { success: true; data: unknown; opaquePaths: string[][] } | { success: false; error: z.ZodError } {
  const slots = opaque ? personalSlots(schema, data).filter((s) => opaque(s.value)) : [];
  if (slots.length === 0) {
    const r = schema.safeParse(data);
    return r.success ? { success: true, data: r.data, opaquePaths: [] } : r;
  }
  const copy = copyJson(data);
  for (const slot of slots) {
    const p = placeholderFor(slot.leaf);
    if (!p) throw new EventSchemaError(what, [{ field: ['data', ...slot.path].join('.'), rule: 'a personal field whose schema accepts no placeholder cannot be read erased or sealed' }], at);
    setAt(copy, slot.path, p.value);
  }
  const r = schema.safeParse(copy);
  if (!r.success) return r;
  const out = r.data;
  const opaquePaths: string[][] = [];
  for (const slot of slots) {
    if (!hasPath(out, slot.path)) continue;
    setAt(out, slot.path, erased ? ERASED_MARKER : slot.value);
    opaquePaths.push([...slot.path]);
  }
  return { success: true, data: out, opaquePaths };
}

function decodeJson(value: unknown, what: string, at: EventCoordinates): unknown {
  if (typeof value !== 'string' && !(value instanceof Uint8Array)) return value;
  const text = typeof value === 'string' ? value : new TextDecoder().decode(value);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CorruptEventError(`${what} is not valid JSON (${(e as Error).message})`, at);
  }
}

/**
 * Errors raised while validating or reading events. Every read-side error carries the coordinates of
 * the offending event (stream, revision, position) so it can be found and fixed, never silently dropped.
 */
export interface EventCoordinates {
  readonly streamId?: string;
  readonly streamRevision?: bigint;
  readonly position?: bigint;
  readonly eventId?: string;
}

export interface FieldIssue {
  /** Dotted path inside the event, e.g. `data.email`. */
  readonly field: string;
  readonly rule: string;
}

export abstract class EventContractError extends Error {
  abstract readonly code: string;
  constructor(message: string, readonly coordinates: EventCoordinates = {}) {
    super(message + describe(coordinates));
    this.name = new.target.name;
  }
}

/** The payload does not satisfy its zod schema. `issues` names every bad field. */
export class EventSchemaError extends EventContractError {
  readonly code = 'EVENT_ERR_SCHEMA';
  constructor(readonly eventType: string, readonly issues: readonly FieldIssue[], coordinates?: EventCoordinates) {
    super(`event ${eventType} is invalid: ${issues.map((i) => `${i.field}: ${i.rule}`).join('; ')}`, coordinates);
  }
}

export class UnknownEventTypeError extends EventContractError {
  readonly code = 'EVENT_ERR_UNKNOWN_TYPE';
  constructor(readonly eventType: string, coordinates?: EventCoordinates) {
    super(`unknown event type "${eventType}"`, coordinates);
  }
}

export class UnsupportedEventVersionError extends EventContractError {
  readonly code = 'EVENT_ERR_UNSUPPORTED_VERSION';
  constructor(readonly eventType: string, readonly schemaVersion: number, coordinates?: EventCoordinates) {
    super(`event ${eventType} has unsupported schema version ${schemaVersion}`, coordinates);
  }
}

/** The stored bytes are not valid JSON, or the envelope around the payload is malformed. */
export class CorruptEventError extends EventContractError {
  readonly code = 'EVENT_ERR_CORRUPT';
  constructor(detail: string, coordinates?: EventCoordinates) {
    super(`corrupt stored event: ${detail}`, coordinates);
  }
}

function describe(c: EventCoordinates): string {
  const parts = [
    c.streamId !== undefined ? `stream ${c.streamId}` : undefined,
    c.streamRevision !== undefined ? `revision ${c.streamRevision}` : undefined,
    c.position !== undefined ? `position ${c.position}` : undefined,
    c.eventId !== undefined ? `event ${c.eventId}` : undefined,
  ].filter(Boolean);
  return parts.length ? ` (at ${parts.join(', ')})` : '';
}

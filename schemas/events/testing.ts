import assert from 'node:assert/strict';
import { EventSchemaError, type FieldIssue } from './errors.js';
import { validateNewEvent } from './registry.js';

/** The issues an event is refused with (every bad field and its rule); fails the test if it validates. */
export function refusedIssues(event: { type: string; data: unknown }): readonly FieldIssue[] {
  try {
    validateNewEvent(event);
  } catch (e) {
    assert.ok(e instanceof EventSchemaError, `expected EventSchemaError, got ${String(e)}`);
    return e.issues;
  }
  return assert.fail(`${event.type} validated but should have been refused`);
}

/** field → rule, for tests that check the message too. */
export const schemaIssues = (event: { type: string; data: unknown }): Map<string, string> =>
  new Map(refusedIssues(event).map((i) => [i.field, i.rule]));

/** Just the fields, in the order zod reports them. */
export const badFields = (event: { type: string; data: unknown }): string[] => refusedIssues(event).map((i) => i.field);

import type { AsOfState, AuditEntry } from '../../platform/audit/history.js';
import { parseEntityId } from '../../platform/audit/input.js';
import type { Plain } from '../../platform/audit/plain.js';
import { aggregates, type AggregateName } from '../../schemas/events/streams.js';

/**
 * `annals replay history`: the auditor's view in a terminal. The reading and folding is platform/audit's
 * (the same reader as GraphQL auditTrail / …AsOf); this file only parses the entity argument and prints.
 */

/** `<uuid>` (every aggregate stream with that id: a contact and its consents) or `<aggregate>-<uuid>` (one stream). */
export function parseEntityArg(text: string): { aggregate?: AggregateName; id: string } {
  const dash = text.indexOf('-');
  const prefix = dash > 0 ? text.slice(0, dash) : '';
  if ((aggregates as readonly string[]).includes(prefix)) return { aggregate: prefix as AggregateName, id: parseEntityId(text.slice(dash + 1), 'entity') };
  return { id: parseEntityId(text, 'entity') };
}

const show = (v: Plain): string => (v === null ? '—' : typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v));

/** One block per event: time, type, stream and revision, position, actor, correlation/causation, then what changed. */
export function formatHistory(entries: readonly AuditEntry[]): string {
  const out: string[] = [];
  for (const e of entries) {
    out.push(`${e.occurredAt}  ${e.type}  ${e.streamId}@${e.streamRevision}  position ${e.position}${e.erased ? '  (subject erased)' : ''}`);
    out.push(`  actor ${e.actor.userId} [${e.actor.roles.join(',')}]  correlation ${e.correlationId}  causation ${e.causationId}`);
    if (e.changes.length === 0) out.push(`  (no change to the ${e.aggregate}'s state; data: ${show(e.data)})`);
    for (const c of e.changes) out.push(`  ${c.field}: ${show(c.before)} → ${show(c.after)}${c.erased ? '  (erased)' : ''}`);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/** The state of each stream as of the instant, field by field (the decider's state, flattened). */
export function formatAsOf(at: Date, states: readonly { aggregate: AggregateName; id: string; state: AsOfState | null }[]): string {
  const out: string[] = [];
  for (const { aggregate, id, state } of states) {
    if (!state) {
      out.push(`${aggregate}-${id} as of ${at.toISOString()}: did not exist yet`);
      continue;
    }
    out.push(`${aggregate}-${id} as of ${at.toISOString()}: revision ${state.revision}, position ${state.position}, created ${state.createdAt}, last change ${state.updatedAt}${state.erased ? ', subject erased' : ''}`);
    for (const [k, v] of Object.entries(state.state)) out.push(`  ${k}: ${show(v)}`);
  }
  return `${out.join('\n')}\n`;
}

export const historyJson = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x instanceof Date ? x.toISOString() : x), 2);

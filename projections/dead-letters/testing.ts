import type { PostgresProjection, Tables } from '../kernel/projection.js';
import type { EventEnvelope } from '../../schemas/events/registry.js';

/** The score a "buggy" projection refuses until it is fixed. */
export const POISON = 13;

/**
 * A state-setting read model for the dead-letter tests (re-applying a tail changes nothing), in which order
 * shows: `score` is the last score applied, `saw_poison` whether the poison event was ever applied. Its
 * "bug": a LeadScored with score 13 fails (division by zero) while `fixed.value` is false.
 */
export function fixableProjection(name: string, table: string): { projection: PostgresProjection; fixed: { value: boolean } } {
  const fixed = { value: false };
  const projection: PostgresProjection = {
    name,
    version: 1,
    tables: [table],
    eventTypes: ['LeadCaptured', 'LeadScored'],
    ddl: (t: Tables) => `CREATE TABLE ${t[table]} (lead_id uuid PRIMARY KEY, score integer, saw_poison boolean NOT NULL DEFAULT false, revision bigint NOT NULL)`,
    project: (e: EventEnvelope, t: Tables) => {
      if (e.type === 'LeadCaptured') return [{ sql: `INSERT INTO ${t[table]}(lead_id, revision) VALUES ($1, $2) ON CONFLICT DO NOTHING`, params: [e.data.leadId, e.streamRevision.toString()] }];
      if (e.type !== 'LeadScored') return [];
      if (e.data.score === POISON && !fixed.value) return [{ sql: `SELECT 1 / 0`, params: [] }];
      return [
        {
          sql: `UPDATE ${t[table]} SET score = $2, saw_poison = saw_poison OR $2 = ${POISON}, revision = $3 WHERE lead_id = $1`,
          params: [e.data.leadId, e.data.score, e.streamRevision.toString()],
        },
      ];
    },
  };
  return { projection, fixed };
}

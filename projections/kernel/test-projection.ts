import type { EventEnvelope } from '../../schemas/events/registry.js';
import type { PostgresProjection, SqlStatement, Tables } from './projection.js';

/**
 * A tiny read model for the kernel's own tests and benchmarks (the real ones live in projections/postgres).
 * Deliberately NOT idempotent (`events = events + 1`), so any duplicate that slips past the runtime shows
 * up in the rows. A `LeadScored` with score 13 is a poison event: its statement divides by zero.
 */
export const POISON_SCORE = 13;

export function kernelTestProjection(options: { name?: string; version?: number; table?: string; sleepMsPerEvent?: number } = {}): PostgresProjection {
  const table = options.table ?? 'kt_leads';
  const slow = (options.sleepMsPerEvent ?? 0) > 0 ? [{ sql: `SELECT pg_sleep($1::float8)`, params: [options.sleepMsPerEvent! / 1000] }] : [];
  return {
    name: options.name ?? 'kernel-test',
    version: options.version ?? 1,
    tables: [table],
    eventTypes: ['LeadCaptured', 'LeadScored'],
    ddl: (tables: Tables) => `CREATE TABLE ${tables[table]} (
  lead_id    uuid    PRIMARY KEY,
  tenant_id  text    NOT NULL,
  score      integer,
  events     integer NOT NULL,
  revision   bigint  NOT NULL,
  position   bigint  NOT NULL
);`,
    project: (event: EventEnvelope, tables: Tables): readonly SqlStatement[] => {
      const t = tables[table]!;
      switch (event.type) {
        case 'LeadCaptured':
          return [
            ...slow,
            {
              sql: `INSERT INTO ${t}(lead_id, tenant_id, events, revision, position) VALUES ($1, $2, 1, $3, $4)`,
              params: [event.data.leadId, event.tenantId, event.streamRevision.toString(), event.position.toString()],
            },
          ];
        case 'LeadScored':
          if (event.data.score === POISON_SCORE) return [{ sql: `SELECT 1 / 0`, params: [] }];
          return [
            ...slow,
            {
              sql: `UPDATE ${t} SET score = $2, events = events + 1, revision = $3, position = $4 WHERE lead_id = $1`,
              params: [event.data.leadId, event.data.score, event.streamRevision.toString(), event.position.toString()],
            },
          ];
        default:
          return [];
      }
    },
  };
}

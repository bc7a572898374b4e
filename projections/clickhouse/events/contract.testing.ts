import type { AnalyticsEngine } from '../../../platform/analytics/port.js';
import type { EventEnvelope } from '../../../schemas/events/registry.js';
import { EVENTS_VIEW, eventsTable } from '../../../schemas/read-models/clickhouse/events.js';
import { controlledTarget } from '../../kernel/controlled.js';
import { ProjectionEventError } from '../../kernel/errors.js';
import { deleteControlRows, type ContractOpen, type ContractSubject } from '../../kernel/target-contract.testing.js';
import { POISON_SCORE } from '../../kernel/test-projection.js';
import type { SqlClient } from '../../../platform/sql/client.js';
import { analyticsEventsModel } from './model.js';

/**
 * The ClickHouse target as a subject of the store-neutral contract (projections/kernel/target-contract):
 * the REAL fact-table model (analyticsEventsModel) behind `controlledTarget`. The kernel's test model is
 * read back from the fact rows: a lead per `LeadCaptured`; `events` = the lead's rows (deduplicated by
 * FINAL), `score` = its latest `LeadScored`. Score 13 is poison: the write keeps the rows before it and
 * names it, as a failing bulk item would. Each subject has its own database (the view `events` is per
 * database), dropped by `close`.
 */
export async function clickhouseContractSubject(
  read: SqlClient,
  openEngine: (database: string) => Promise<AnalyticsEngine & { dropDatabase?: () => Promise<void> }>,
  { sql, name }: ContractOpen,
): Promise<ContractSubject> {
  const engine = await openEngine(`c_${name.replace(/[^A-Za-z0-9_]/g, '_')}`);
  const model = analyticsEventsModel(engine, { name });
  let written = 0;
  const withPoison = {
    ...model,
    async write(generation: number, events: readonly EventEnvelope[]) {
      const poison = events.findIndex((e) => e.type === 'LeadScored' && e.data.score === POISON_SCORE);
      const ok = poison < 0 ? events : events.slice(0, poison);
      written += ok.length;
      await model.write(generation, ok);
      if (poison >= 0) throw new ProjectionEventError(name, events[poison]!, new Error('poison score'), true, poison);
    },
  };
  return {
    target: controlledTarget(sql, withPoison),
    async rows(generation) {
      const from = generation ? `${eventsTable(generation.generation)} FINAL` : EVENTS_VIEW;
      const rows = await engine.query<{ leadId: string; tenantId: string; score: number | null; events: string }>(
        `SELECT aggregate_id AS leadId, tenant_id AS tenantId,
                if(countIf(event_type = 'LeadScored') = 0, NULL, argMaxIf(score, stream_revision, event_type = 'LeadScored')) AS score,
                count() AS events
           FROM ${from} WHERE aggregate = 'lead' GROUP BY aggregate_id, tenant_id`,
      );
      return rows.map((r) => ({ leadId: r.leadId, tenantId: r.tenantId, score: r.score === null ? null : Number(r.score), events: Number(r.events) }));
    },
    eventsWritten: () => written,
    revisionGuard: model.revisionGuard,
    async close() {
      await deleteControlRows(read, name);
      await engine.dropDatabase?.();
      await engine.close();
    },
  };
}

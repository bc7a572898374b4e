import type { AnalyticsEngine } from '../../platform/analytics/port.js';
import { matchLeaves, type PersonalDataScanner, type ScanFinding, type ScanResult, type ScanTarget } from '../../platform/pii/scanner.js';
import { DEAL_INTERVALS_VIEW } from '../../schemas/read-models/clickhouse/deal-intervals.js';
import { EVENTS_ALL_VIEW, stringColumns } from '../../schemas/read-models/clickhouse/events.js';
import { str, strArray } from '../../schemas/read-models/clickhouse/sql.js';

/** Label columns a user types (a campaign, a category, a channel …): where a personal value could be pasted. */
const LEDGER_LABEL_COLUMNS = ['pipeline', 'stage', 'currency'] as const;
const LABEL_COLUMNS = ['source', 'campaign', 'category', 'channel', 'pipeline', 'stage', 'previous_stage', 'currency', 'actor_id', 'owner_id'] as const;

/**
 * The ClickHouse fact table's `PersonalDataScanner` (erasure certificate, issue 10). The table holds no
 * personal data by construction (projections/clickhouse/events/facts.ts); this scanner is the proof, per
 * erasure, against the live data rather than the code:
 *  1. every string column of every row of the tenant that mentions a subject (its own streams, a consent
 *     row naming it, a deal or conversion pointing to it), value by value;
 *  2. every distinct value of the columns a user types a label into, over the WHOLE tenant: a name typed
 *     as a campaign would be found here even on another entity's row.
 * Matching is the certificate's keyed hash (no plaintext reaches this code). It reads the live generation
 * without FINAL (`events_all`): a duplicate row is only scanned twice, and FINAL over many unmerged parts
 * and every string column costs memory (18.16 refused it at its 2 GB per-query limit in a test).
 */
export function clickhousePiiScanner(engine: AnalyticsEngine, modelName: string): PersonalDataScanner {
  const store = `clickhouse:${modelName}`;
  return {
    store,
    async scan(target: ScanTarget): Promise<ScanResult> {
      const findings: ScanFinding[] = [];
      const exists = await engine.query<{ n: string }>(`SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = ${str(EVENTS_ALL_VIEW)}`);
      if (exists[0]?.n === '0') return { store, found: 0, findings, examined: 0 };
      const ids = strArray(target.subjectIds);
      const rows = await engine.query<Record<string, unknown>>(
        `SELECT position, ${stringColumns.join(', ')} FROM ${EVENTS_ALL_VIEW}
          WHERE tenant_id = ${str(target.tenantId)}
            AND (has(${ids}, aggregate_id) OR has(${ids}, ifNull(subject_id, '')) OR has(${ids}, ifNull(related_id, '')))`,
      );
      let examined = rows.length;
      for (const row of rows) {
        for (const column of stringColumns) {
          matchLeaves(target.matcher, row[column], (h) => findings.push({ location: `${EVENTS_ALL_VIEW}.${column}@${String(row.position)}`, valueHash: h }));
        }
      }
      for (const column of LABEL_COLUMNS) {
        const values = await engine.query<{ v: string }>(
          `SELECT DISTINCT ifNull(${column}, '') AS v FROM ${EVENTS_ALL_VIEW} WHERE tenant_id = ${str(target.tenantId)}`,
        );
        examined += values.length;
        for (const { v } of values) matchLeaves(target.matcher, v, (h) => findings.push({ location: `${EVENTS_ALL_VIEW}.${column}`, valueHash: h }));
      }
      // The pipeline ledger copies three of those labels per deal (deal-intervals.ts): scanned as stored too,
      // so the proof covers what the store holds, not only what it was derived from.
      const ledger = await engine.query<{ n: string }>(`SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = ${str(DEAL_INTERVALS_VIEW)}`);
      if (ledger[0]?.n !== '0') {
        for (const column of LEDGER_LABEL_COLUMNS) {
          const values = await engine.query<{ v: string }>(`SELECT DISTINCT ${column} AS v FROM ${DEAL_INTERVALS_VIEW} WHERE tenant_id = ${str(target.tenantId)}`);
          examined += values.length;
          for (const { v } of values) matchLeaves(target.matcher, v, (h) => findings.push({ location: `${DEAL_INTERVALS_VIEW}.${column}`, valueHash: h }));
        }
      }
      return { store, found: findings.length, findings, examined };
    },
  };
}

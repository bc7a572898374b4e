import type { SqlClient } from '../../platform/sql/client.js';
import { jsonOrText, matchLeaves, type PersonalDataScanner, type ScanFinding, type ScanResult, type ScanTarget } from '../../platform/pii/scanner.js';
import { readLive } from '../kernel/generations.js';
import type { PostgresReadModel } from './sql.js';

/**
 * A PostgreSQL read model's `PersonalDataScanner`: every row of every table of the live generation that
 * belongs to the tenant and mentions one of the subjects' ids anywhere (its key, `contact_id` of a deal,
 * a timeline link…), every column of it (not only the declared personal columns: a value leaked into a
 * non-personal column is found too), string leaf by string leaf. Rows that do not mention the subject are
 * not searched: a common value (a first name) in another subject's row is that subject's data.
 */
export function postgresPiiScanner(sql: SqlClient, projection: Pick<PostgresReadModel, 'name' | 'tables' | 'scanLive'>): PersonalDataScanner {
  const store = `postgres:${projection.name}`;
  return {
    store,
    async scan(target: ScanTarget): Promise<ScanResult> {
      // A read database the projections service never started on has no control tables: no live generation either.
      const live = await readLive(sql, projection.name, false).catch((e: unknown) => {
        if ((e as { code?: unknown }).code === '42P01') return undefined;
        throw e;
      });
      const findings: ScanFinding[] = [];
      let examined = 0;
      if (!live) return { store, found: 0, findings, examined, incomplete: 'the read model has no live generation' };
      const patterns = target.subjectIds.map((id) => `%${id.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      for (const logical of projection.tables) {
        const table = live.tables[logical]!;
        const { rows } = await sql.query<{ j: string }>(
          `SELECT row_to_json(t)::text AS j FROM ${table} t WHERE t.tenant_id = $1 AND row_to_json(t)::text LIKE ANY($2::text[])`,
          [target.tenantId, patterns],
        );
        for (const row of rows) {
          examined++;
          const record = jsonOrText(row.j);
          const columns = record !== null && typeof record === 'object' ? Object.entries(record) : [['?', record] as const];
          for (const [column, value] of columns) matchLeaves(target.matcher, value, (h) => findings.push({ location: `${logical}.${column}`, valueHash: h }));
        }
      }
      if (projection.scanLive) {
        const extra = await projection.scanLive(sql, live.tables, target);
        findings.push(...extra.findings);
        examined += extra.examined;
      }
      return { store, found: findings.length, findings, examined };
    },
  };
}

export function postgresPiiScanners(sql: SqlClient, projections: readonly PostgresReadModel[]): PersonalDataScanner[] {
  return projections.map((p) => postgresPiiScanner(sql, p));
}

/** The current rows of every read model that mention the subjects (the GDPR export), by read model and table. */
export function postgresSubjectRows(sql: SqlClient, projections: readonly PostgresReadModel[]) {
  return async (tenantId: string, subjectIds: readonly string[]): Promise<Record<string, Record<string, unknown[]>>> => {
    const patterns = subjectIds.map((id) => `%${id.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    const out: Record<string, Record<string, unknown[]>> = {};
    for (const projection of projections) {
      const live = await readLive(sql, projection.name, false);
      if (!live) continue;
      const tables: Record<string, unknown[]> = {};
      for (const logical of projection.tables) {
        const { rows } = await sql.query<{ j: string }>(
          `SELECT row_to_json(t)::text AS j FROM ${live.tables[logical]!} t WHERE t.tenant_id = $1 AND row_to_json(t)::text LIKE ANY($2::text[])`,
          [tenantId, patterns],
        );
        if (rows.length > 0) tables[logical] = rows.map((r) => jsonOrText(r.j));
      }
      out[projection.name] = tables;
    }
    return out;
  };
}

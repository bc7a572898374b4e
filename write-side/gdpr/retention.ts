import type { Logger } from '../../platform/logging/logger.js';
import type { Actor } from '../../schemas/events/envelope.js';
import type { ErasureCertificate } from './certificates.js';
import type { ErasureWorkflow } from './workflow.js';

/** The service user the retention job erases as (recorded as the actor of its erasures and key destructions). */
export const RETENTION_ACTOR = 'system:retention';

export interface RetentionDue {
  readonly tenantId: string;
  readonly subjectId: string;
  readonly rule: string;
}

export interface RetentionReport {
  readonly certified: ReadonlyArray<{ tenantId: string; subjectId: string; rule: string; certificate: ErasureCertificate }>;
  readonly failed: ReadonlyArray<{ tenantId: string; subjectId: string; rule: string; code: string }>;
}

/**
 * One retention run: every subject due (from the composition root: projections/postgres/retention.ts) is
 * erased by the same workflow as a dpo's request, reason `retention_policy`, with the same certificate.
 * A failure is logged and left for the next run (the erasure resumes where it stopped).
 */
export async function runRetention(deps: {
  workflow: ErasureWorkflow;
  due: () => Promise<readonly RetentionDue[]>;
  log: Pick<Logger, 'warn' | 'info'>;
  clock: () => Date;
  /** Who runs it (a dpo's `annals gdpr retention run`); default the scheduled job's service user. */
  actor?: Actor;
}): Promise<RetentionReport> {
  const certified: Array<RetentionReport['certified'][number]> = [];
  const failed: Array<RetentionReport['failed'][number]> = [];
  const day = deps.clock().toISOString().slice(0, 10);
  for (const d of await deps.due()) {
    try {
      const { certificate } = await deps.workflow.erase({
        tenantId: d.tenantId,
        subjectId: d.subjectId,
        actor: deps.actor ?? { userId: RETENTION_ACTOR, roles: ['dpo'] },
        reason: 'retention_policy',
        requestId: `retention-${day}-${d.subjectId}`,
        correlationId: `retention-${day}`,
      });
      certified.push({ ...d, certificate });
    } catch (err) {
      const code = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'ERROR';
      deps.log.warn({ err, tenantId: d.tenantId, subjectId: d.subjectId, rule: d.rule }, 'gdpr retention: erasure failed; the next run retries');
      failed.push({ ...d, code });
    }
  }
  if (certified.length + failed.length > 0) deps.log.info({ certified: certified.length, failed: failed.length }, 'gdpr retention: run finished');
  return { certified, failed };
}

export interface RetentionSettings {
  /** GDPR_RETENTION_INTERVAL_MS: how often the job runs (default one day; 0 = never). */
  readonly intervalMs: number;
  /** GDPR_RETENTION_POLICIES: per-tenant overrides, JSON `{"<tenant>": {"leadLostMonths": 24, "contactInactiveMonths": 36}}`. */
  readonly perTenant: Readonly<Record<string, { leadLostMonths: number; contactInactiveMonths: number }>>;
}

/** Reads the retention settings; every bad variable is named in `issues` (the caller refuses to start). */
export function parseRetentionEnv(env: NodeJS.ProcessEnv): { settings: RetentionSettings; issues: string[] } {
  const issues: string[] = [];
  let intervalMs = 86_400_000;
  const rawInterval = env.GDPR_RETENTION_INTERVAL_MS?.trim();
  if (rawInterval) {
    const n = Number(rawInterval);
    // setInterval's limit: a longer delay would fire at once, in a loop.
    if (!Number.isSafeInteger(n) || n < 0 || n > 2_147_483_647) issues.push('GDPR_RETENTION_INTERVAL_MS must be a whole number of milliseconds from 0 (off) to 2147483647');
    else intervalMs = n;
  }
  const perTenant: Record<string, { leadLostMonths: number; contactInactiveMonths: number }> = {};
  const rawPolicies = env.GDPR_RETENTION_POLICIES?.trim();
  if (rawPolicies) {
    try {
      const parsed = JSON.parse(rawPolicies) as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      for (const [tenant, p] of Object.entries(parsed)) {
        const lead = (p as { leadLostMonths?: unknown }).leadLostMonths;
        const contact = (p as { contactInactiveMonths?: unknown }).contactInactiveMonths;
        const ok = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 1200;
        if (!ok(lead) || !ok(contact)) throw new Error(`tenant ${JSON.stringify(tenant)} needs leadLostMonths and contactInactiveMonths, whole months 1–1200`);
        perTenant[tenant] = { leadLostMonths: lead as number, contactInactiveMonths: contact as number };
      }
    } catch (e) {
      issues.push(`GDPR_RETENTION_POLICIES must be JSON {"<tenant>": {"leadLostMonths": n, "contactInactiveMonths": n}}: ${(e as Error).message}`);
    }
  }
  return { settings: { intervalMs, perTenant }, issues };
}

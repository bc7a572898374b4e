import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErasureReason } from '../../schemas/events/consent.js';
import type { WriteDeps } from '../http/context.js';
import { principalOf } from '../http/context.js';
import { HttpError, Problem } from '../http/problem.js';
import { SubjectParams } from '../http/schemas.js';
import { DomainError } from '../kernel/errors.js';
import type { ErasureRecords } from './certificates.js';
import { exportSubject, type SubjectRows } from './export.js';
import { runRetention, type RetentionDue } from './retention.js';
import { GdprErrorCode, resolveSubject, type ErasureWorkflow } from './workflow.js';

/** What the GDPR routes need beyond the command API's deps; absent (tests, a write side without key store) → 501. */
export interface GdprDeps {
  readonly workflow: ErasureWorkflow;
  readonly records: ErasureRecords;
  readonly subjectRows?: SubjectRows | undefined;
  /** The retention policies (composition root: projections/postgres/retention.ts); absent → the run route answers 501. */
  readonly retention?: RetentionDeps | undefined;
}

export interface RetentionDeps {
  /** The tenant's subjects due for erasure now, with the rule that makes each due. */
  due(tenantId: string, now: Date): Promise<readonly RetentionDue[]>;
  /** The tenant's policy (its override, else the default), to say why a subject is due. */
  policyOf(tenantId: string): { readonly leadLostMonths: number; readonly contactInactiveMonths: number };
}

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 429: Problem, 500: Problem, 501: Problem, 503: Problem };
const Loose = (id: string, description: string) => z.looseObject({ schemaVersion: z.number().int() }).meta({ id, description });
const Certificate = Loose('ErasureCertificate', 'The erasure certificate: subject, request, actor, reason, times, key destruction, and per store the values searched (salted keyed hashes), the count found (0) and the time taken.');
const ErasureStatus = z
  .looseObject({ subjectId: z.uuid(), step: z.enum(['captured', 'keys-destroyed', 'events-appended', 'certified']), certificate: Certificate.nullable() })
  .meta({ id: 'ErasureStatus', description: 'Where the erasure of a subject stands, with its certificate once certified.' });
const Verification = z
  .looseObject({ clean: z.boolean(), verifiedAt: z.string(), stores: z.array(z.looseObject({ store: z.string(), found: z.number().int() })) })
  .meta({ id: 'ErasureVerification', description: 'The certificate scan run again: `clean` is false when any store holds a searched value.' });
const SubjectExport = Loose('SubjectExport', 'Every event about the subject (decrypted), current read-model rows and consents with lawful basis and history; `erased` says whether the subject was erased.');
export const EraseBody = z.strictObject({ reason: ErasureReason.optional() }).nullish();
const RetentionQuery = z.strictObject({
  dryRun: z
    .enum(['true', 'false'], { error: 'dryRun must be true or false' })
    .default('false')
    .describe('true: list the subjects due and why, erase nothing.'),
});
const RetentionSubject = z.object({ subjectId: z.uuid(), rule: z.enum(['lead-lost', 'contact-inactive']), why: z.string() });
const RetentionRun = z
  .object({
    dryRun: z.boolean(),
    policy: z.object({ leadLostMonths: z.number().int(), contactInactiveMonths: z.number().int() }),
    due: z.array(RetentionSubject),
    certified: z.array(RetentionSubject.extend({ completedAt: z.string() })),
    failed: z.array(RetentionSubject.extend({ code: z.string() })),
  })
  .meta({
    id: 'RetentionRun',
    description: 'The subjects of the caller\'s tenant due under its retention policy and why; without dryRun, each erased by the erasure workflow (reason retention_policy) with its certificate (GET /subjects/{id}/erasure), or failed with its error code (a later run retries).',
  });

/**
 * GDPR routes (SPEC, issue 10): erasure with certificate, its status, a verification scan and the
 * subject export. dpo or admin only (permissions `subject:erase` / `subject:export`). An unknown subject
 * and another tenant's subject are both 404; the latter is logged as a security event.
 */
export async function gdprRoutes(app: FastifyInstance, deps: WriteDeps & { gdpr?: GdprDeps | undefined }): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const gdpr = (): GdprDeps => {
    if (!deps.gdpr) throw new HttpError(501, GdprErrorCode.NotConfigured, 'this write side runs without the GDPR workflow (no key store configured)');
    return deps.gdpr;
  };
  const foreign = (request: FastifyRequest, subjectId: string) => () =>
    request.log.warn({ security: 'cross-tenant-access', subjectId }, 'security event: GDPR request for a subject of another tenant refused');

  r.post(
    '/subjects/:subjectId/erase',
    {
      schema: {
        tags: ['subjects'],
        summary: 'Erase a data subject (dpo, admin): destroys its key, redacts every read model, scans every store, returns the certificate',
        description: 'Idempotent: a second request returns the first certificate. Resumable: after a failure (503 projectors behind) a retry continues where it stopped.',
        params: SubjectParams,
        body: EraseBody,
        response: { 200: Certificate, ...errors },
      },
      config: { command: 'RequestErasure', permission: 'subject:erase' },
    },
    async (request) => {
      const p = principalOf(request);
      const subjectId = request.params.subjectId;
      const outcome = await gdpr().workflow.erase(
        { tenantId: p.tenantId, subjectId, actor: { userId: p.userId, roles: [...p.roles] }, reason: request.body?.reason ?? 'subject_request', requestId: request.id, correlationId: request.correlationId },
        foreign(request, subjectId),
      );
      return outcome.certificate as unknown as z.infer<typeof Certificate>;
    },
  );

  r.post(
    '/gdpr/retention/run',
    {
      schema: {
        tags: ['subjects'],
        summary: 'Run the retention policies of the caller\'s tenant now (dpo, admin); dryRun=true lists what would be erased and why',
        description:
          'The same run `npm start` makes every GDPR_RETENTION_INTERVAL_MS, for the caller\'s tenant only, with the caller recorded as the actor. At most 1 000 subjects per rule per run. 200 even when some erasures failed: see `failed` (the next run retries them).',
        querystring: RetentionQuery,
        response: { 200: RetentionRun, ...errors },
      },
      config: { command: 'RunRetention', permission: 'subject:erase' },
    },
    async (request) => {
      const p = principalOf(request);
      const g = gdpr();
      if (!g.retention) throw new HttpError(501, GdprErrorCode.NotConfigured, 'this write side runs without the retention policies');
      const retention = g.retention;
      const policy = retention.policyOf(p.tenantId);
      const why = (rule: RetentionDue['rule']) =>
        rule === 'lead-lost' ? `lead Lost for more than ${policy.leadLostMonths} months` : `contact without interaction, active consent or consent change for ${policy.contactInactiveMonths} months`;
      const now = deps.clock();
      const due = (await retention.due(p.tenantId, now)).filter((d) => d.tenantId === p.tenantId);
      const listed = due.map((d) => ({ subjectId: d.subjectId, rule: d.rule as 'lead-lost' | 'contact-inactive', why: why(d.rule) }));
      if (request.query.dryRun === 'true') return { dryRun: true, policy, due: listed, certified: [], failed: [] };
      const report = await runRetention({ workflow: g.workflow, due: async () => due, log: request.log, clock: deps.clock, actor: { userId: p.userId, roles: [...p.roles] } });
      const entry = (d: { subjectId: string; rule: string }) => ({ subjectId: d.subjectId, rule: d.rule as 'lead-lost' | 'contact-inactive', why: why(d.rule) });
      return {
        dryRun: false,
        policy,
        due: listed,
        certified: report.certified.map((c) => ({ ...entry(c), completedAt: c.certificate.completedAt })),
        failed: report.failed.map((f) => ({ ...entry(f), code: f.code })),
      };
    },
  );

  r.get(
    '/subjects/:subjectId/erasure',
    {
      schema: { tags: ['subjects'], summary: 'The erasure of a data subject and its certificate (dpo, admin)', params: SubjectParams, response: { 200: ErasureStatus, ...errors } },
      config: { command: 'GetErasureCertificate', permission: 'subject:erase' },
    },
    async (request) => {
      const p = principalOf(request);
      const subjectId = request.params.subjectId;
      const row = await gdpr().records.get(p.tenantId, subjectId);
      if (!row) {
        await resolveSubject(deps.store, p.tenantId, subjectId, foreign(request, subjectId));
        throw new DomainError(GdprErrorCode.NotErased, 'the subject has not been erased', 'not-found');
      }
      return { subjectId, step: row.step, certificate: (row.certificate ?? null) as unknown as z.infer<typeof Certificate> | null };
    },
  );

  r.post(
    '/subjects/:subjectId/erasure/verify',
    {
      schema: { tags: ['subjects'], summary: 'Run the certificate scan again for an erased subject (dpo, admin)', params: SubjectParams, response: { 200: Verification, ...errors } },
      config: { command: 'VerifyErasure', permission: 'subject:erase' },
    },
    async (request) => {
      const p = principalOf(request);
      const subjectId = request.params.subjectId;
      const row = await gdpr().records.get(p.tenantId, subjectId);
      if (!row) await resolveSubject(deps.store, p.tenantId, subjectId, foreign(request, subjectId));
      return (await gdpr().workflow.verify(p.tenantId, subjectId)) as unknown as z.infer<typeof Verification>;
    },
  );

  r.get(
    '/subjects/:subjectId/export',
    {
      schema: { tags: ['subjects'], summary: 'Export everything about a data subject as one JSON document (dpo, admin)', params: SubjectParams, response: { 200: SubjectExport, ...errors } },
      config: { command: 'ExportSubject', permission: 'subject:export' },
    },
    async (request) => {
      const p = principalOf(request);
      const subjectId = request.params.subjectId;
      const g = gdpr();
      const type = await resolveSubject(deps.store, p.tenantId, subjectId, foreign(request, subjectId));
      const doc = await exportSubject({ store: deps.store, records: g.records, subjectRows: g.subjectRows, clock: deps.clock }, p.tenantId, subjectId, type);
      return doc as z.infer<typeof SubjectExport>;
    },
  );
}

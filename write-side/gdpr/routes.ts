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
import { GdprErrorCode, resolveSubject, type ErasureWorkflow } from './workflow.js';

/** What the GDPR routes need beyond the command API's deps; absent (tests, a write side without key store) → 501. */
export interface GdprDeps {
  readonly workflow: ErasureWorkflow;
  readonly records: ErasureRecords;
  readonly subjectRows?: SubjectRows | undefined;
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

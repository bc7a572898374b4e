import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { WriteDeps } from './http/context.js';
import { HttpError, Problem } from './http/problem.js';
import { SubjectParams } from './http/schemas.js';

/**
 * GDPR routes (SPEC: `/api/v1/subjects/{id}/erase`, `/export`, dpo or admin). The roles are checked
 * now; the work itself (crypto-shredding, certificates, export) arrives with the GDPR issue, so until
 * then an authorised caller gets 501 with a problem saying so.
 * TODO(GDPR issue): replace both handlers with the erasure process and the export.
 */
export async function subjectRoutes(app: FastifyInstance, _deps: WriteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const notYet = (what: string) => {
    throw new HttpError(501, 'GDPR_ERR_NOT_IMPLEMENTED', `${what} arrives with the GDPR issue; until then use the dpo runbook`);
  };
  const errors = { 401: Problem, 403: Problem, 429: Problem, 501: Problem };
  r.post(
    '/subjects/:subjectId/erase',
    {
      schema: { tags: ['subjects'], summary: 'Erase a data subject (dpo, admin) — not implemented yet (501)', params: SubjectParams, response: errors },
      config: { command: 'RequestErasure', permission: 'subject:erase' },
    },
    async () => notYet('erasure'),
  );
  r.get(
    '/subjects/:subjectId/export',
    {
      schema: { tags: ['subjects'], summary: 'Export a data subject\'s data (dpo, admin) — not implemented yet (501)', params: SubjectParams, response: errors },
      config: { command: 'ExportSubject', permission: 'subject:export' },
    },
    async () => notYet('export'),
  );
}

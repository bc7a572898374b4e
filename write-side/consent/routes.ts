import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { SubjectType } from '../../schemas/events/consent.js';
import { streamName } from '../../schemas/events/streams.js';
import { DomainError } from '../kernel/errors.js';
import { runCommand } from '../http/command.js';
import { envelopeOf, metadataOf, principalOf, type WriteDeps } from '../http/context.js';
import { Problem } from '../http/problem.js';
import { CommandAccepted, CommandHeaders, SubjectParams, strictDeep } from '../http/schemas.js';
import { GrantConsentData, WithdrawConsentData } from './commands.js';
import { consentDecider, ConsentErrorCode } from './decide.js';

const notFound = () => new DomainError(ConsentErrorCode.SubjectNotFound, 'the data subject (contact or lead) does not exist', 'not-found');
const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 413: Problem, 422: Problem, 429: Problem };

export const GrantConsentBody = GrantConsentData.omit({ subjectId: true, subjectType: true });
export const WithdrawConsentBody = WithdrawConsentData.omit({ subjectId: true });

/**
 * Consent routes. The subject is a contact or a lead of the caller's tenant; its type is looked up, not
 * sent, so a consent can never be recorded for a subject that does not exist or belongs to another
 * tenant (both 404, the latter logged as a security event).
 */
export async function consentRoutes(app: FastifyInstance, deps: WriteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  const subjectTypeOf = async (request: FastifyRequest, subjectId: string): Promise<SubjectType> => {
    const tenantId = principalOf(request).tenantId;
    let foreign = false;
    for (const type of ['contact', 'lead'] as const) {
      const stream = type === 'contact' ? streamName.contact(subjectId) : streamName.lead(subjectId);
      const [first] = await deps.store.readStream(stream, {
        toRevision: 0n,
        tenantId,
        onOtherTenant: () => {
          foreign = true;
        },
      });
      if (first) return type;
    }
    if (foreign) request.log.warn({ security: 'cross-tenant-access', subjectId }, 'security event: consent for a subject of another tenant refused');
    throw notFound();
  };

  r.post(
    '/consents/:subjectId/grant',
    {
      schema: {
        tags: ['consents'],
        summary: 'Grant consent for a purpose',
        headers: CommandHeaders,
        params: SubjectParams,
        body: strictDeep(GrantConsentBody),
        response: { 200: CommandAccepted, ...errors },
      },
      config: { command: 'GrantConsent', permission: 'consent:write' },
    },
    async (request, reply) => {
      const subjectId = request.params.subjectId;
      const subjectType = await subjectTypeOf(request, subjectId);
      return runCommand(request, reply, {
        store: deps.store,
        decider: consentDecider,
        streamId: streamName.consent(subjectId),
        id: subjectId,
        command: { type: 'GrantConsent', data: { ...request.body, subjectId, subjectType }, metadata: metadataOf(request, deps.clock()) },
        envelope: envelopeOf(request, { subjectId }),
        notFound,
      });
    },
  );

  r.post(
    '/consents/:subjectId/withdraw',
    {
      schema: {
        tags: ['consents'],
        summary: 'Withdraw consent for a purpose',
        headers: CommandHeaders,
        params: SubjectParams,
        body: strictDeep(WithdrawConsentBody),
        response: { 200: CommandAccepted, ...errors },
      },
      config: { command: 'WithdrawConsent', permission: 'consent:write' },
    },
    async (request, reply) => {
      const subjectId = request.params.subjectId;
      await subjectTypeOf(request, subjectId);
      return runCommand(request, reply, {
        store: deps.store,
        decider: consentDecider,
        streamId: streamName.consent(subjectId),
        id: subjectId,
        command: { type: 'WithdrawConsent', data: { ...request.body, subjectId }, metadata: metadataOf(request, deps.clock()) },
        envelope: envelopeOf(request, { subjectId }),
        notFound,
      });
    },
  );
}

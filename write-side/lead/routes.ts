import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { Id } from '../../schemas/events/common.js';
import { streamName } from '../../schemas/events/streams.js';
import { activeConsents } from '../consent/state.js';
import { consentDecider } from '../consent/decide.js';
import { claimDepsOf, emailOwner } from '../contact/email-claims.js';
import { DealErrorCode } from '../deal/decide.js';
import { defaultPipelines, stageProbability } from '../deal/pipelines.js';
import { DomainError } from '../kernel/errors.js';
import { claimIdempotentId } from '../kernel/handle-command.js';
import { crossTenant, foldEvents, readSameTenant, runCommand } from '../http/command.js';
import { envelopeOf, metadataOf, principalOf, type WriteDeps } from '../http/context.js';
import { Problem } from '../http/problem.js';
import { CommandAccepted, CommandHeaders, IdParams, strictDeep } from '../http/schemas.js';
import {
  AssignLeadData,
  CaptureLeadBody,
  ChangeLeadStatusData,
  ConvertLeadBody,
  LogLeadActivityData,
  QualifyLeadData,
  ScoreLeadData,
  type LeadCommand,
} from './commands.js';
import { LeadErrorCode, leadDecider } from './decide.js';

const notFound = () => new DomainError(LeadErrorCode.NotFound, 'the lead does not exist', 'not-found');
const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 413: Problem, 422: Problem, 429: Problem };

export const ConvertAccepted = CommandAccepted.extend({
  contactId: Id.describe('The contact the lead became (created by the conversion process, or an existing contact with the lead\'s email).'),
  dealId: Id.optional().describe('The deal the conversion process opens, when `deal` was sent.'),
}).meta({ id: 'LeadConverted' });

/** Lead routes (SPEC: Command API). Every route but capture runs against the stream named by the path. */
export async function leadRoutes(app: FastifyInstance, deps: WriteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  const run = (request: FastifyRequest, reply: FastifyReply, id: string, command: LeadCommand) =>
    runCommand(request, reply, {
      store: deps.store,
      decider: leadDecider,
      streamId: streamName.lead(id),
      id,
      command,
      envelope: envelopeOf(request, { subjectId: id }),
      notFound,
    });

  r.post(
    '/leads',
    {
      schema: {
        tags: ['leads'],
        summary: 'Capture a lead (status New)',
        headers: CommandHeaders,
        body: strictDeep(CaptureLeadBody),
        response: { 201: CommandAccepted, ...errors },
      },
      config: { command: 'CaptureLead', permission: 'lead:write' },
    },
    async (request, reply) => {
      const now = deps.clock();
      const base = envelopeOf(request, { ignoreIfMatch: true });
      const leadId = await claimIdempotentId(deps.store, base, streamName.lead, deps.ids(), 'CaptureLead', now);
      return runCommand(request, reply, {
        store: deps.store,
        decider: leadDecider,
        streamId: streamName.lead(leadId),
        id: leadId,
        created: true,
        command: { type: 'CaptureLead', data: { ...request.body, leadId }, metadata: metadataOf(request, now) },
        envelope: { ...base, subjectId: leadId },
        notFound,
      });
    },
  );

  const simple = <B extends z.ZodType>(
    path: string,
    type: 'AssignLead' | 'QualifyLead' | 'ChangeLeadStatus' | 'ScoreLead',
    body: B,
    summary: string,
    description?: string,
  ) =>
    r.post(
      `/leads/:id/${path}`,
      {
        schema: { tags: ['leads'], summary, ...(description ? { description } : {}), headers: CommandHeaders, params: IdParams, body: strictDeep(body), response: { 200: CommandAccepted, ...errors } },
        config: { command: type, permission: 'lead:write' },
      },
      async (request, reply) =>
        run(request, reply, request.params.id, { type, data: request.body, metadata: metadataOf(request, deps.clock()) } as LeadCommand),
    );

  simple('assign', 'AssignLead', AssignLeadData, 'Assign the lead to an owner');
  simple('qualify', 'QualifyLead', QualifyLeadData, 'Qualify the lead with BANT fields');
  simple(
    'status',
    'ChangeLeadStatus',
    ChangeLeadStatusData,
    'Change the lead status (New, Qualified, Nurturing, Lost)',
    'Lost needs a reason; Lost and Converted are final, except Lost → Nurturing by a manager (403 LEAD_ERR_REOPEN_REQUIRES_MANAGER).',
  );
  simple('score', 'ScoreLead', ScoreLeadData, 'Score the lead 0–100 with factors');

  r.post(
    '/leads/:id/activities',
    {
      schema: {
        tags: ['leads'],
        summary: 'Log an activity on the lead',
        description:
          'An outbound activity with `marketingPurpose` needs the lead\'s active consent for that purpose (422 LEAD_ERR_CONSENT_REQUIRED). ' +
          'Cross-field rule: `marketingPurpose` is only for outbound activities (`direction: outbound`); otherwise 422 LEAD_ERR_MARKETING_NOT_OUTBOUND.',
        headers: CommandHeaders,
        params: IdParams,
        body: strictDeep(LogLeadActivityData),
        response: { 200: CommandAccepted, ...errors },
      },
      config: { command: 'LogLeadActivity', permission: 'lead:write' },
    },
    async (request, reply) => {
      const id = request.params.id;
      const consent = foldEvents(consentDecider, await readSameTenant(request, deps.store, streamName.consent(id), principalOf(request).tenantId));
      return run(request, reply, id, {
        type: 'LogLeadActivity',
        data: request.body,
        metadata: metadataOf(request, deps.clock()),
        context: { activeConsents: activeConsents(consent) },
      });
    },
  );

  r.post(
    '/leads/:id/convert',
    {
      schema: {
        tags: ['leads'],
        summary: 'Convert the lead into a contact (and optionally a deal)',
        description:
          'Appends LeadConverted with the new contact id (and deal id). The lead-conversion process then creates the contact from the lead\'s data and opens the deal, ' +
          'asynchronously and idempotently, under the same correlation id. When an active contact already has the lead\'s email, the lead converts into that contact.',
        headers: CommandHeaders,
        params: IdParams,
        body: strictDeep(ConvertLeadBody).nullish(),
        response: { 200: ConvertAccepted, ...errors },
      },
      config: { command: 'ConvertLead', permission: 'lead:write' },
    },
    async (request, reply) => {
      const now = deps.clock();
      const id = request.params.id;
      const tenantId = principalOf(request).tenantId;
      const history = await deps.store.readStream(streamName.lead(id), {
        tenantId,
        onOtherTenant: (stream) => {
          throw crossTenant(request, stream, notFound);
        },
      });
      const deal = request.body?.deal;
      if (deal) checkPipeline(deal.pipeline, deal.stage);
      const captured = history.find((e) => e.type === 'LeadCaptured');
      const email = captured?.type === 'LeadCaptured' ? captured.data.email : undefined;
      const existing = email === undefined ? undefined : await emailOwner(claimDepsOf(deps), tenantId, email, now);
      const contactId = existing ?? deps.ids();
      const answer = await run(request, reply, id, {
        type: 'ConvertLead',
        data: { contactId, ...(deal ? { deal: { ...deal, dealId: deps.ids() } } : {}) },
        metadata: metadataOf(request, now),
      });
      // The ids the lead was converted with, also on an idempotent replay (from the stored event).
      const converted = (await deps.store.readStream(streamName.lead(id))).find((e) => e.type === 'LeadConverted');
      if (converted?.type !== 'LeadConverted') return { ...answer, contactId };
      return { ...answer, contactId: converted.data.contactId, ...(converted.data.dealId ? { dealId: converted.data.dealId } : {}) };
    },
  );
}

/** Checked before converting, so the deal the process will open cannot fail on an unknown pipeline or stage. */
function checkPipeline(pipeline: string, stage: string | undefined): void {
  if (!Object.hasOwn(defaultPipelines, pipeline)) {
    throw new DomainError(DealErrorCode.UnknownPipeline, `pipeline "${pipeline}" does not exist`, 'invariant', { pipeline, known: Object.keys(defaultPipelines) });
  }
  if (stage !== undefined && stageProbability(defaultPipelines, pipeline, stage) === undefined) {
    throw new DomainError(DealErrorCode.UnknownStage, `stage "${stage}" is not a stage of pipeline "${pipeline}"`, 'invariant', { pipeline, stage });
  }
}

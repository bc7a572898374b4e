import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { streamName } from '../../schemas/events/streams.js';
import { contactDecider } from '../contact/decide.js';
import { DomainError } from '../kernel/errors.js';
import { claimIdempotentId } from '../kernel/handle-command.js';
import { foldEvents, readSameTenant, runCommand } from '../http/command.js';
import { envelopeOf, metadataOf, principalOf, type WriteDeps } from '../http/context.js';
import { Problem } from '../http/problem.js';
import { CommandAccepted, CommandHeaders, IdParams, strictDeep } from '../http/schemas.js';
import { ChangeDealValueData, LoseDealData, MoveDealStageData, OpenDealData, ReopenDealData, WinDealData, type DealCommand } from './commands.js';
import { DealErrorCode, dealDecider } from './decide.js';

const notFound = () => new DomainError(DealErrorCode.NotFound, 'deal does not exist', 'not-found');
const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 413: Problem, 422: Problem, 429: Problem };
export const OpenDealBody = OpenDealData.omit({ dealId: true });

/** Deal routes (SPEC: Command API). Probabilities come from the pipeline's stage table, never from the body. */
export async function dealRoutes(app: FastifyInstance, deps: WriteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    '/deals',
    {
      schema: {
        tags: ['deals'],
        summary: 'Open a deal for a contact',
        description: 'The contact must be an active contact of the tenant (404 DEAL_ERR_CONTACT_NOT_FOUND otherwise).',
        headers: CommandHeaders,
        body: strictDeep(OpenDealBody),
        response: { 201: CommandAccepted, ...errors },
      },
      config: { command: 'OpenDeal', permission: 'deal:write' },
    },
    async (request, reply) => {
      const now = deps.clock();
      const tenantId = principalOf(request).tenantId;
      const contact = foldEvents(contactDecider, await readSameTenant(request, deps.store, streamName.contact(request.body.contactId), tenantId));
      if (contact.status !== 'Active') {
        throw new DomainError(DealErrorCode.ContactNotFound, 'the deal\'s contact is not an active contact of this tenant', 'not-found', { contactId: request.body.contactId });
      }
      const base = envelopeOf(request, { ignoreIfMatch: true });
      const dealId = await claimIdempotentId(deps.store, base, streamName.deal, deps.ids(), 'OpenDeal', now);
      return runCommand(request, reply, {
        store: deps.store,
        decider: dealDecider,
        streamId: streamName.deal(dealId),
        id: dealId,
        created: true,
        command: { type: 'OpenDeal', data: { ...request.body, dealId }, metadata: metadataOf(request, now) },
        envelope: base,
        notFound,
      });
    },
  );

  const run = (request: FastifyRequest, reply: FastifyReply, id: string, command: DealCommand) =>
    runCommand(request, reply, { store: deps.store, decider: dealDecider, streamId: streamName.deal(id), id, command, envelope: envelopeOf(request), notFound });

  const route = <B extends z.ZodType>(path: string, type: Exclude<DealCommand['type'], 'OpenDeal'>, body: B, summary: string, optionalBody = false) => {
    const strict = strictDeep(body);
    r.post(
      `/deals/:id/${path}`,
      {
        schema: {
          tags: ['deals'],
          summary,
          headers: CommandHeaders,
          params: IdParams,
          // Commands without required fields (win, reopen) accept an empty request.
          body: optionalBody ? strict.nullish() : strict,
          response: { 200: CommandAccepted, ...errors },
        },
        config: { command: type, permission: 'deal:write' },
      },
      async (request, reply) =>
        run(request, reply, request.params.id, { type, data: request.body ?? {}, metadata: metadataOf(request, deps.clock()) } as DealCommand),
    );
  };

  route('stage', 'MoveDealStage', MoveDealStageData, 'Move the deal to another stage of its pipeline');
  route('value', 'ChangeDealValue', ChangeDealValueData, 'Change the deal value');
  route('win', 'WinDeal', WinDealData, 'Win the deal', true);
  route('lose', 'LoseDeal', LoseDealData, 'Lose the deal (reason, competitor)');
  route('reopen', 'ReopenDeal', ReopenDealData, 'Reopen a won or lost deal (to its last stage or the one given)', true);
}

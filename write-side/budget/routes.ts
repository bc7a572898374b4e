import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { streamName } from '../../schemas/events/streams.js';
import { DomainError } from '../kernel/errors.js';
import { claimIdempotentId } from '../kernel/handle-command.js';
import { runCommand } from '../http/command.js';
import { envelopeOf, metadataOf, type WriteDeps } from '../http/context.js';
import { Problem } from '../http/problem.js';
import { CommandAccepted, CommandHeaders, IdParams, strictDeep } from '../http/schemas.js';
import { AllocateBudgetData, CloseBudgetData, CreateBudgetData, RecordSpendData, type BudgetCommand } from './commands.js';
import { BudgetErrorCode, budgetDecider } from './decide.js';

const notFound = () => new DomainError(BudgetErrorCode.NotFound, 'budget does not exist', 'not-found');
const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 413: Problem, 422: Problem, 429: Problem };
export const CreateBudgetBody = CreateBudgetData.omit({ budgetId: true });
export const RecordSpendBody = RecordSpendData.omit({ spendId: true });

/** Budget routes (SPEC: Command API). Overrun needs `override: true` from a manager (decided in the decider). */
export async function budgetRoutes(app: FastifyInstance, deps: WriteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    '/budgets',
    {
      schema: {
        tags: ['budgets'],
        summary: 'Create a budget',
        description: 'Cross-field rule no JSON Schema states: `period.end` must not be before `period.start` (422 HTTP_ERR_RULE_BROKEN naming `body.period.end`).',
        headers: CommandHeaders,
        body: strictDeep(CreateBudgetBody),
        response: { 201: CommandAccepted, ...errors },
      },
      config: { command: 'CreateBudget', permission: 'budget:write' },
    },
    async (request, reply) => {
      const now = deps.clock();
      const base = envelopeOf(request, { ignoreIfMatch: true });
      const budgetId = await claimIdempotentId(deps.store, base, streamName.budget, deps.ids(), 'CreateBudget', now);
      return runCommand(request, reply, {
        store: deps.store,
        decider: budgetDecider,
        streamId: streamName.budget(budgetId),
        id: budgetId,
        created: true,
        command: { type: 'CreateBudget', data: { ...request.body, budgetId }, metadata: metadataOf(request, now) },
        envelope: base,
        notFound,
      });
    },
  );

  const route = <B extends z.ZodType>(
    path: string,
    type: Exclude<BudgetCommand['type'], 'CreateBudget'>,
    body: B,
    summary: string,
    toData: (body: z.output<B>) => unknown,
    optionalBody = false,
    description?: string,
  ) => {
    const strict = strictDeep(body);
    r.post(
      `/budgets/:id/${path}`,
      {
        schema: {
          tags: ['budgets'],
          summary,
          ...(description ? { description } : {}),
          headers: CommandHeaders,
          params: IdParams,
          body: optionalBody ? strict.nullish() : strict,
          response: { 200: CommandAccepted, ...errors },
        },
        config: { command: type, permission: 'budget:write' },
      },
      async (request, reply) => {
        const id = request.params.id;
        const command = { type, data: toData((request.body ?? {}) as z.output<B>), metadata: metadataOf(request, deps.clock()) } as BudgetCommand;
        return runCommand(request, reply, { store: deps.store, decider: budgetDecider, streamId: streamName.budget(id), id, command, envelope: envelopeOf(request), notFound });
      },
    );
  };

  route('allocations', 'AllocateBudget', AllocateBudgetData, 'Set a campaign\'s allocation (0 removes it)', (b) => b);
  route(
    'spend',
    'RecordSpend',
    RecordSpendBody,
    'Record a spend',
    (b) => ({ ...(b as object), spendId: deps.ids() }),
    false,
    'The same externalReference twice records once. Beyond the amount needs `override: true` and the manager role (422 BUDGET_ERR_OVERRUN / 403 BUDGET_ERR_OVERRIDE_FORBIDDEN).',
  );
  route('close', 'CloseBudget', CloseBudgetData, 'Close the budget', (b) => b, true);
}

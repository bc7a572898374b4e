import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';

import { streamName } from '../../schemas/events/streams.js';
import { activeConsents } from '../consent/state.js';
import { consentDecider } from '../consent/decide.js';
import { DomainError } from '../kernel/errors.js';
import { claimIdempotentId } from '../kernel/handle-command.js';
import { runCommand, foldEvents, readSameTenant } from '../http/command.js';
import { envelopeOf, metadataOf, principalOf, type WriteDeps } from '../http/context.js';
import { Problem } from '../http/problem.js';
import { CommandAccepted, CommandHeaders, IdParams, strictDeep } from '../http/schemas.js';
import { CreateContactBody, LogContactInteractionData, MergeContactData, UpdateContactData } from './commands.js';
import { ContactErrorCode, contactDecider } from './decide.js';
import { contactImportRoutes } from './import-routes.js';
import { claimDepsOf } from './email-claims.js';
import { reserveContactKeys } from './reservations.js';

const notFound = () => new DomainError(ContactErrorCode.NotFound, 'the contact does not exist', 'not-found');
const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 413: Problem, 422: Problem, 429: Problem };

/**
 * Contact routes (SPEC: Command API). Email uniqueness and the name + company index are kept with
 * reservation streams claimed on every attempt of the contact's own command, from the state that attempt
 * appends at (reservations.ts); merge and erasure need no release (email-claims.ts, rule 2).
 */
export async function contactRoutes(app: FastifyInstance, deps: WriteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const claims = claimDepsOf(deps);
  // Its own plugin, so its text/csv body parser applies to it alone.
  await app.register(contactImportRoutes, deps);

  r.post(
    '/contacts',
    {
      schema: {
        tags: ['contacts'],
        summary: 'Create a contact',
        description: 'Email is unique among active contacts of the tenant: a second create answers 409 CONTACT_ERR_EMAIL_TAKEN with `existingId`.',
        headers: CommandHeaders,
        body: strictDeep(CreateContactBody),
        response: { 201: CommandAccepted, ...errors },
      },
      config: { command: 'CreateContact', permission: 'contact:write' },
    },
    async (request, reply) => {
      const now = deps.clock();
      const base = envelopeOf(request, { ignoreIfMatch: true });
      const contactId = await claimIdempotentId(deps.store, base, streamName.contact, deps.ids(), 'CreateContact', now);
      const envelope = { ...base, subjectId: contactId };
      return runCommand(request, reply, {
        store: deps.store,
        decider: contactDecider,
        streamId: streamName.contact(contactId),
        id: contactId,
        created: true,
        command: { type: 'CreateContact', data: { ...request.body, contactId }, metadata: metadataOf(request, now) },
        envelope,
        notFound,
        reserve: reserveContactKeys(claims, envelope, now),
      });
    },
  );

  r.patch(
    '/contacts/:id',
    {
      schema: {
        tags: ['contacts'],
        summary: 'Update the changed fields of a contact',
        description: 'Absent fields are left alone, `null` clears one; `customFields` merges key by key (`null` removes a key); `tags` replaces the set. Nothing new appends nothing.',
        headers: CommandHeaders,
        params: IdParams,
        body: strictDeep(UpdateContactData),
        response: { 200: CommandAccepted, ...errors },
      },
      config: { command: 'UpdateContact', permission: 'contact:write' },
    },
    async (request, reply) => {
      const now = deps.clock();
      const id = request.params.id;
      const envelope = envelopeOf(request, { subjectId: id });
      return runCommand(request, reply, {
        store: deps.store,
        decider: contactDecider,
        streamId: streamName.contact(id),
        id,
        command: { type: 'UpdateContact', data: request.body, metadata: metadataOf(request, now) },
        envelope,
        notFound,
        reserve: reserveContactKeys(claims, envelope, now),
      });
    },
  );

  r.post(
    '/contacts/:id/interactions',
    {
      schema: {
        tags: ['contacts'],
        summary: 'Log an interaction (email, call, meeting, note)',
        description:
          'An outbound interaction with `marketingPurpose` needs the contact\'s active consent for that purpose (422 CONTACT_ERR_CONSENT_REQUIRED). ' +
          'Cross-field rule: `marketingPurpose` is only for outbound interactions (`direction: outbound`); otherwise 422 HTTP_ERR_RULE_BROKEN.',
        headers: CommandHeaders,
        params: IdParams,
        body: strictDeep(LogContactInteractionData),
        response: { 200: CommandAccepted, ...errors },
      },
      config: { command: 'LogContactInteraction', permission: 'contact:write' },
    },
    async (request, reply) => {
      const now = deps.clock();
      const id = request.params.id;
      const tenantId = principalOf(request).tenantId;
      const consent = foldEvents(consentDecider, await readSameTenant(request, deps.store, streamName.consent(id), tenantId));
      return runCommand(request, reply, {
        store: deps.store,
        decider: contactDecider,
        streamId: streamName.contact(id),
        id,
        command: { type: 'LogContactInteraction', data: request.body, metadata: metadataOf(request, now), context: { activeConsents: activeConsents(consent) } },
        envelope: envelopeOf(request, { subjectId: id }),
        notFound,
      });
    },
  );

  r.post(
    '/contacts/:id/merge',
    {
      schema: {
        tags: ['contacts'],
        summary: 'Merge this contact (the duplicate) into a survivor',
        description: 'Manager or admin. The duplicate becomes read-only and points to the survivor; its email is released.',
        headers: CommandHeaders,
        params: IdParams,
        body: strictDeep(MergeContactData),
        response: { 200: CommandAccepted, ...errors },
      },
      config: { command: 'MergeContact', permission: 'contact:merge' },
    },
    async (request, reply) => {
      const now = deps.clock();
      const id = request.params.id;
      const tenantId = principalOf(request).tenantId;
      const envelope = envelopeOf(request, { subjectId: id });
      const survivor = foldEvents(contactDecider, await readSameTenant(request, deps.store, streamName.contact(request.body.survivorId), tenantId));
      const survivorStatus = ({ Absent: 'not-found', Active: 'active', Merged: 'merged', Erased: 'erased' } as const)[survivor.status];
      // The duplicate's email and name entry are free once it is merged: no release (email-claims.ts, rule 2).
      return runCommand(request, reply, {
        store: deps.store,
        decider: contactDecider,
        streamId: streamName.contact(id),
        id,
        command: { type: 'MergeContact', data: request.body, metadata: metadataOf(request, now), context: { survivorStatus } },
        envelope,
        notFound,
      });
    },
  );
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';

import { streamName } from '../../schemas/events/streams.js';
import { activeConsents } from '../consent/state.js';
import { consentDecider } from '../consent/decide.js';
import { DomainError } from '../kernel/errors.js';
import { claimIdempotentId } from '../kernel/handle-command.js';
import { runCommand, foldEvents, readSameTenant, crossTenant } from '../http/command.js';
import { envelopeOf, metadataOf, principalOf, type WriteDeps } from '../http/context.js';
import { Problem } from '../http/problem.js';
import { CommandAccepted, CommandHeaders, IdParams, strictDeep } from '../http/schemas.js';
import { CreateContactBody, LogContactInteractionData, MergeContactData, UpdateContactData } from './commands.js';
import { ContactErrorCode, contactDecider } from './decide.js';
import { contactImportRoutes } from './import-routes.js';
import { patched, releaseReservations, withReservations } from './reservations.js';
import type { ContactState } from './state.js';

const notFound = () => new DomainError(ContactErrorCode.NotFound, 'the contact does not exist', 'not-found');
const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 413: Problem, 422: Problem, 429: Problem };

/**
 * Contact routes (SPEC: Command API). Email uniqueness and the name + company index are kept with
 * reservation streams around the contact's own command (reservations.ts): claim first, then append the
 * contact event, release on failure, merge or change.
 */
export async function contactRoutes(app: FastifyInstance, deps: WriteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const claims = { store: deps.store, key: deps.emailHashKey };
  // Its own plugin, so its text/csv body parser applies to it alone.
  await app.register(contactImportRoutes, deps);

  /** The contact's current state, read in the caller's tenant (another tenant's contact reads as absent + security log). */
  const load = async (request: FastifyRequest, id: string): Promise<ContactState> => {
    const events = await deps.store.readStream(streamName.contact(id));
    if (events.length > 0 && events[0]!.tenantId !== principalOf(request).tenantId) throw crossTenant(request, streamName.contact(id), notFound);
    return foldEvents(contactDecider, events);
  };

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
      return withReservations(claims, envelope, contactId, { before: undefined, after: request.body }, now, {
        write: () =>
          runCommand(request, reply, {
            store: deps.store,
            decider: contactDecider,
            streamId: streamName.contact(contactId),
            id: contactId,
            created: true,
            command: { type: 'CreateContact', data: { ...request.body, contactId }, metadata: metadataOf(request, now), context: { emailOwnerId: null } },
            envelope,
            notFound,
          }),
        replayed: () => request.replayed,
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
      const before = await load(request, id);
      const run = () =>
        runCommand(request, reply, {
          store: deps.store,
          decider: contactDecider,
          streamId: streamName.contact(id),
          id,
          command: { type: 'UpdateContact', data: request.body, metadata: metadataOf(request, now), context: { emailOwnerId: null } },
          envelope,
          notFound,
        });
      // Only an active contact changes; the decider answers the others (not found, merged, erased).
      if (before.status !== 'Active') return run();
      return withReservations(claims, envelope, id, { before, after: patched(before, request.body) }, now, { write: run, replayed: () => request.replayed });
    },
  );

  r.post(
    '/contacts/:id/interactions',
    {
      schema: {
        tags: ['contacts'],
        summary: 'Log an interaction (email, call, meeting, note)',
        description: 'An outbound interaction with `marketingPurpose` needs the contact\'s active consent for that purpose (422 CONTACT_ERR_CONSENT_REQUIRED).',
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
      const before = await load(request, id);
      const survivor = foldEvents(contactDecider, await readSameTenant(request, deps.store, streamName.contact(request.body.survivorId), tenantId));
      const survivorStatus = ({ Absent: 'not-found', Active: 'active', Merged: 'merged', Erased: 'erased' } as const)[survivor.status];
      const answer = await runCommand(request, reply, {
        store: deps.store,
        decider: contactDecider,
        streamId: streamName.contact(id),
        id,
        command: { type: 'MergeContact', data: request.body, metadata: metadataOf(request, now), context: { survivorStatus } },
        envelope,
        notFound,
      });
      // The duplicate is no longer active, so its email and name entry are free again (the survivor keeps its own).
      if (before.status === 'Active' && !request.replayed) await releaseReservations(claims, envelope, id, before, 'merged', now);
      return answer;
    },
  );
}

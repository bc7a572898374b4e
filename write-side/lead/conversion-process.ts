import type { EventStore } from '../../platform/event-store/event-store.js';
import type { Logger } from '../../platform/logging/logger.js';
import type { EventEnvelope } from '../../schemas/events/registry.js';
import { streamName } from '../../schemas/events/streams.js';
import { ContactErrorCode, contactDecider } from '../contact/decide.js';
import { claimDepsOf } from '../contact/email-claims.js';
import { reserveContactKeys } from '../contact/reservations.js';
import { dealDecider } from '../deal/decide.js';
import { DEFAULT_STAGE } from '../deal/pipelines.js';
import { DomainError } from '../kernel/errors.js';
import { handleCommand, type CommandEnvelope } from '../kernel/handle-command.js';

/**
 * The lead-conversion process manager (SPEC: lead). It reacts to `LeadConverted` from a catch-up
 * subscription on `$all`, creates the contact from the lead's captured data and, when the conversion
 * asked for one, opens the deal, under the conversion's correlation id (causation = the LeadConverted
 * event).
 *
 * Idempotent by construction, so at-least-once delivery, a crash between the two steps or two instances
 * running at once never create a second contact or deal: the ids come from the LeadConverted event, and
 * each create appends with `no_stream` (handleCommand's expected revision on an empty stream), so a
 * repeat either finds the stream already there and skips, or loses the race and is refused with
 * *_ALREADY_EXISTS, which counts as done. The checkpoint (`checkpoint-lead-conversion` stream) is written
 * after the work it covers, so a crash replays a little and changes nothing.
 */
export const PROCESSOR = 'lead-conversion';
export const CHECKPOINT_STREAM = `checkpoint-${PROCESSOR}`;
/** When no conversion happened for this many events, the checkpoint still advances (bounded replay on restart). */
const CHECKPOINT_EVERY_EVENTS = 1_000;
/** SPEC leaves it open: a deal asked for at conversion without a close date is expected in 90 days. */
const DEFAULT_CLOSE_IN_DAYS = 90;

export interface ConversionDeps {
  readonly store: EventStore;
  readonly logger: Logger;
  readonly clock: () => Date;
  /** Key of the email-uniqueness hashes (the PII master key), so the new contact claims its email too. */
  readonly emailHashKey?: string;
  /** The key of the claims written before `emailHashKey` was derived (see WriteDeps.legacyEmailHashKey). */
  readonly legacyEmailHashKey?: string | undefined;
  /** Test seam: runs between the contact and the deal step (a throw simulates a crash there). */
  readonly afterContactStep?: (leadId: string) => void | Promise<void>;
}

export interface ConversionProcessOptions extends ConversionDeps {
  readonly signal: AbortSignal;
  /** Delay before retrying a batch whose handling failed for a non-domain reason (store unreachable…), in ms. */
  readonly retryDelayMs?: number;
  readonly onCaughtUp?: (position: bigint | undefined) => void;
}

/** Runs until `signal` aborts: checkpoint → catch-up → live. */
export async function startLeadConversionProcess(options: ConversionProcessOptions): Promise<void> {
  const { store, logger, signal } = options;
  const retryDelayMs = options.retryDelayMs ?? 1_000;
  let after = await readCheckpoint(store);
  let sinceCheckpoint = 0;
  logger.info({ after: after?.toString() }, 'lead-conversion process starting');

  await store.subscribeToAll({
    after,
    signal,
    ...(options.onCaughtUp ? { onCaughtUp: options.onCaughtUp } : {}),
    onBatch: async (records) => {
      let handled = false;
      for (const record of records) {
        if (record.type !== 'LeadConverted') {
          // Our own checkpoint events must not cause further checkpoints.
          if (record.streamId !== CHECKPOINT_STREAM) sinceCheckpoint++;
          continue;
        }
        // The store's reader, like every reader: decrypt, upcast, validate.
        const [event] = await store.reader.readOrThrow([record]);
        if (!event) continue;
        for (;;) {
          try {
            await processLeadConverted(options, event);
            break;
          } catch (err) {
            if (signal.aborted) return;
            // Transient (store unreachable…): the same event again after a pause, never skipped.
            logger.error({ err, streamId: event.streamId, position: event.position.toString() }, 'lead conversion failed; retrying');
            await new Promise((r) => setTimeout(r, retryDelayMs));
          }
        }
        handled = true;
      }
      const last = records[records.length - 1]!.position;
      if (handled || sinceCheckpoint >= CHECKPOINT_EVERY_EVENTS) {
        await writeCheckpoint(store, last, options.clock());
        after = last;
        sinceCheckpoint = 0;
      }
    },
  });
}

export async function readCheckpoint(store: EventStore): Promise<bigint | undefined> {
  const events = await store.readStream(CHECKPOINT_STREAM);
  const last = events[events.length - 1];
  return last?.type === 'ProcessorCheckpointed' ? BigInt(last.data.position) : undefined;
}

/** Records that every LeadConverted up to `position` is handled (also used by `annals seed`, which runs the conversions itself). */
export async function writeCheckpoint(store: EventStore, position: bigint, now: Date): Promise<void> {
  await store.append(CHECKPOINT_STREAM, [
    {
      type: 'ProcessorCheckpointed',
      data: { processor: PROCESSOR, position: position.toString() },
      metadata: {
        tenantId: 'system',
        actor: { userId: `process:${PROCESSOR}`, roles: [] },
        correlationId: PROCESSOR,
        causationId: PROCESSOR,
        occurredAt: now.toISOString(),
      },
    },
  ]);
}

/** One LeadConverted → the contact, then the deal. Safe to call any number of times for the same event. */
export async function processLeadConverted(deps: ConversionDeps, event: EventEnvelope): Promise<void> {
  if (event.type !== 'LeadConverted') return;
  const { leadId, contactId, dealId, deal } = event.data;
  const log = deps.logger.child({ correlationId: event.correlationId, tenantId: event.tenantId, streamId: event.streamId });
  const base: Omit<CommandEnvelope, 'subjectId'> = {
    tenantId: event.tenantId,
    actor: event.actor,
    correlationId: event.correlationId,
    causationId: event.eventId,
  };
  const lead = await deps.store.readStream(streamName.lead(leadId), { toRevision: event.streamRevision });
  const captured = lead.find((e) => e.type === 'LeadCaptured');
  if (captured?.type !== 'LeadCaptured') throw new Error(`lead ${leadId} has no LeadCaptured before its conversion`);
  if (captured.erased) {
    // The lead's subject was erased (GDPR) before the conversion ran: there is nothing personal left to
    // create a contact from, and retrying would never change that. Done, loudly.
    log.warn({ leadId, contactId }, 'lead conversion skipped: the lead\'s personal data is erased');
    return;
  }
  const now = deps.clock();

  // Step 1: the contact (skipped when it exists: created by an earlier run, or an existing contact the lead converted into).
  const contactStream = streamName.contact(contactId);
  if ((await deps.store.readStream(contactStream, { toRevision: 0n })).length === 0) {
    const envelope: CommandEnvelope = { ...base, subjectId: contactId };
    const d = captured.data;
    const [firstName, ...rest] = d.name.trim().split(/\s+/);
    // The email claim and the name entry are taken on every attempt of the create, from the state it
    // appends at (contact/reservations.ts), exactly as for a create through the API.
    const options = deps.emailHashKey === undefined ? {} : { reserve: reserveContactKeys(claimDepsOf({ ...deps, emailHashKey: deps.emailHashKey }), envelope, now) };
    const create = (email: string | undefined) =>
      ignoreAlreadyExists(
        handleCommand(
          deps.store,
          contactDecider,
          contactStream,
          {
            type: 'CreateContact',
            data: {
              contactId,
              convertedFromLeadId: leadId,
              firstName: firstName!,
              lastName: rest.join(' '),
              ...(email !== undefined ? { email } : {}),
              ...(d.phone !== undefined ? { phone: d.phone } : {}),
              ...(d.company !== undefined ? { company: d.company } : {}),
              customFields: {},
              tags: [],
            },
            metadata: { now, tenantId: event.tenantId, actor: event.actor },
          },
          envelope,
          options,
        ),
      );
    try {
      await create(d.email);
    } catch (e) {
      if (!(e instanceof DomainError && e.code === ContactErrorCode.EmailTaken)) throw e;
      // Another active contact took the email since the conversion: create the contact without it rather than break uniqueness.
      log.warn({ contactId, existingId: e.details?.existingId }, 'lead conversion: email already used by another contact; contact created without email');
      await create(undefined);
    }
    log.info({ leadId, contactId }, 'lead conversion: contact created');
  }

  await deps.afterContactStep?.(leadId);

  // Step 2: the deal, when the conversion asked for one.
  if (dealId === undefined || deal === undefined) return;
  const dealStream = streamName.deal(dealId);
  if ((await deps.store.readStream(dealStream, { toRevision: 0n })).length > 0) return;
  const close = new Date(Date.parse(event.occurredAt) + DEFAULT_CLOSE_IN_DAYS * 86_400_000).toISOString().slice(0, 10);
  const ownerId = lastOwner(lead) ?? captured.data.ownerId ?? event.actor.userId;
  await ignoreAlreadyExists(
    handleCommand(
      deps.store,
      dealDecider,
      dealStream,
      {
        type: 'OpenDeal',
        data: {
          dealId,
          name: deal.name,
          contactId,
          value: deal.value,
          pipeline: deal.pipeline,
          stage: deal.stage ?? DEFAULT_STAGE,
          expectedCloseDate: deal.expectedCloseDate ?? close,
          ownerId,
        },
        metadata: { now, tenantId: event.tenantId, actor: event.actor },
      },
      base,
    ),
  );
  log.info({ leadId, dealId }, 'lead conversion: deal opened');
}

function lastOwner(lead: readonly EventEnvelope[]): string | undefined {
  let owner: string | undefined;
  for (const e of lead) if (e.type === 'LeadAssigned') owner = e.data.ownerId;
  return owner;
}

async function ignoreAlreadyExists(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    // A concurrent run created it first: that is the outcome we wanted.
    if (e instanceof DomainError && /_ERR_ALREADY_EXISTS$/.test(e.code)) return;
    throw e;
  }
}

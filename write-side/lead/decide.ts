import type { LeadEvent, LeadOpenStatus, LeadStatusChanged } from '../../schemas/events/lead.js';
import { hasRole, type Decider } from '../kernel/decider.js';
import { DomainError, assertNever } from '../kernel/errors.js';
import type {
  AssignLead,
  CaptureLead,
  ChangeLeadStatus,
  ConvertLead,
  EraseLead,
  LeadCommand,
  LogLeadActivity,
  QualifyLead,
  ScoreLead,
} from './commands.js';
import { initialLeadState, type LeadState, type OpenLeadState } from './state.js';
import { defineErrors } from '../../platform/errors/catalogue.js';

/** Every code `decide` can throw; documented for the error handler and the OpenAPI description. */
export const LeadErrorCode = defineErrors('LEAD', {
  NotFound: 'LEAD_ERR_NOT_FOUND',
  AlreadyExists: 'LEAD_ERR_ALREADY_EXISTS',
  AlreadyConverted: 'LEAD_ERR_ALREADY_CONVERTED',
  Erased: 'LEAD_ERR_ERASED',
  FinalStatus: 'LEAD_ERR_FINAL_STATUS',
  InvalidTransition: 'LEAD_ERR_INVALID_TRANSITION',
  LostRequiresReason: 'LEAD_ERR_LOST_REQUIRES_REASON',
  ReopenRequiresManager: 'LEAD_ERR_REOPEN_REQUIRES_MANAGER',
  BantRequired: 'LEAD_ERR_BANT_REQUIRED',
  ActivityInFuture: 'LEAD_ERR_ACTIVITY_IN_FUTURE',
  MarketingNotOutbound: 'LEAD_ERR_MARKETING_NOT_OUTBOUND',
  ConsentRequired: 'LEAD_ERR_CONSENT_REQUIRED',
  EraseForbidden: 'LEAD_ERR_ERASE_FORBIDDEN',
});

/** Clients' clocks run a little ahead of ours; an activity "from the future" beyond this is a mistake. */
const CLOCK_SKEW_TOLERANCE_MS = 5 * 60_000;

export function decideLead(command: LeadCommand, state: LeadState): LeadEvent[] {
  if (command.type === 'CaptureLead') return capture(command, state);
  if (state.status === 'Absent') {
    throw new DomainError(LeadErrorCode.NotFound, 'the lead does not exist', 'not-found');
  }
  // Erasure is allowed from every status, a converted or lost lead included: GDPR trumps finality.
  if (command.type === 'EraseLead') return erase(command, state);
  if (state.status === 'Erased') {
    throw new DomainError(LeadErrorCode.Erased, 'the lead was erased and is read-only', 'invariant', { leadId: state.leadId });
  }
  if (state.status === 'Converted') {
    throw new DomainError(LeadErrorCode.AlreadyConverted, 'the lead is converted; conversion is final', 'invariant', {
      leadId: state.leadId,
      contactId: state.contactId,
    });
  }

  switch (command.type) {
    case 'AssignLead':
      return assign(command, state);
    case 'QualifyLead':
      return qualify(command, state);
    case 'ChangeLeadStatus':
      return changeStatus(command, state);
    case 'ScoreLead':
      return score(command, state);
    case 'LogLeadActivity':
      return logActivity(command, state);
    case 'ConvertLead':
      return convert(command, state);
    default:
      return assertNever(command, 'lead command');
  }
}

function capture({ data, metadata }: CaptureLead, state: LeadState): LeadEvent[] {
  if (state.status !== 'Absent') {
    throw new DomainError(LeadErrorCode.AlreadyExists, 'a lead with this id already exists', 'conflict', { leadId: data.leadId });
  }
  return [{ type: 'LeadCaptured', data: withoutUndefined({ ...data, capturedAt: metadata.now.toISOString() }) }];
}

function assign({ data }: AssignLead, state: OpenLeadState): LeadEvent[] {
  refuseLost(state, 'reassigned');
  if (state.ownerId === data.ownerId) return [];
  return [{ type: 'LeadAssigned', data: withoutUndefined({ leadId: state.leadId, ownerId: data.ownerId, previousOwnerId: state.ownerId }) }];
}

function qualify({ data }: QualifyLead, state: OpenLeadState): LeadEvent[] {
  refuseLost(state, 'qualified');
  return [{ type: 'LeadQualified', data: withoutUndefined({ leadId: state.leadId, ...data }) }];
}

function changeStatus({ data, metadata }: ChangeLeadStatus, state: OpenLeadState): LeadEvent[] {
  const to = data.status;
  // Asking for the status the lead already has changes nothing, so a retry is harmless.
  if (state.status === to) return [];
  if (state.status === 'Lost') {
    if (to !== 'Nurturing') {
      throw new DomainError(LeadErrorCode.FinalStatus, `a Lost lead is final; it can only be reopened to Nurturing, not ${to}`);
    }
    // Manager-only per SPEC; admin is granted everything a manager may do.
    if (!hasRole(metadata, 'manager', 'admin')) {
      throw new DomainError(LeadErrorCode.ReopenRequiresManager, 'only a manager may reopen a Lost lead to Nurturing', 'forbidden');
    }
  }
  if (to === 'New') {
    throw new DomainError(LeadErrorCode.InvalidTransition, `a lead cannot return to New (from ${state.status}); New is the capture status only`);
  }
  if (to === 'Lost' && (data.reason === undefined || data.reason.trim() === '')) {
    throw new DomainError(LeadErrorCode.LostRequiresReason, 'changing a lead to Lost requires a reason');
  }
  if (to === 'Qualified' && state.bant === undefined) {
    throw new DomainError(LeadErrorCode.BantRequired, 'a lead becomes Qualified only with BANT fields: qualify it instead');
  }
  const changed: LeadStatusChanged = {
    type: 'LeadStatusChanged',
    data: withoutUndefined({ leadId: state.leadId, from: state.status, to, reason: data.reason }),
  };
  return [changed];
}

function score({ data }: ScoreLead, state: OpenLeadState): LeadEvent[] {
  refuseLost(state, 'scored');
  return [{ type: 'LeadScored', data: { leadId: state.leadId, score: data.score, factors: data.factors } }];
}

// Activities are facts about the past, so they are still recorded on a Lost lead (a lost prospect may call back).
function logActivity({ data, metadata, context }: LogLeadActivity, state: OpenLeadState): LeadEvent[] {
  const occurredAt = data.occurredAt ?? metadata.now.toISOString();
  if (Date.parse(occurredAt) > metadata.now.getTime() + CLOCK_SKEW_TOLERANCE_MS) {
    throw new DomainError(LeadErrorCode.ActivityInFuture, 'an activity is logged after it happened: occurredAt is in the future', 'invariant', {
      occurredAt,
    });
  }
  const purpose = data.marketingPurpose;
  if (purpose !== undefined) {
    if (data.direction !== 'outbound') {
      throw new DomainError(LeadErrorCode.MarketingNotOutbound, 'marketingPurpose applies to outbound activities only', 'validation');
    }
    if (!context.activeConsents.includes(purpose)) {
      throw new DomainError(
        LeadErrorCode.ConsentRequired,
        `outbound marketing for purpose ${purpose} requires the lead's active consent for ${purpose}`,
        'invariant',
        { purpose },
      );
    }
  }
  return [{ type: 'LeadActivityLogged', data: withoutUndefined({ leadId: state.leadId, ...data, occurredAt }) }];
}

function convert({ data }: ConvertLead, state: OpenLeadState): LeadEvent[] {
  refuseLost(state, 'converted');
  if (data.deal === undefined) return [{ type: 'LeadConverted', data: { leadId: state.leadId, contactId: data.contactId } }];
  const { dealId, ...deal } = data.deal;
  return [{ type: 'LeadConverted', data: { leadId: state.leadId, contactId: data.contactId, dealId, deal: withoutUndefined(deal) } }];
}

function erase({ metadata }: EraseLead, state: Exclude<LeadState, { status: 'Absent' }>): LeadEvent[] {
  if (!hasRole(metadata, 'dpo', 'admin')) {
    throw new DomainError(LeadErrorCode.EraseForbidden, 'only a dpo or an admin may erase a lead', 'forbidden');
  }
  // Erasure is retried by the GDPR process until every store is clean; a second run appends nothing.
  if (state.status === 'Erased') return [];
  return [{ type: 'LeadErased', data: { leadId: state.leadId } }];
}

function refuseLost(state: OpenLeadState, what: string): void {
  if (state.status === 'Lost') {
    throw new DomainError(LeadErrorCode.FinalStatus, `a Lost lead is final and cannot be ${what}; a manager may reopen it to Nurturing first`);
  }
}

export function evolveLead(state: LeadState, event: LeadEvent): LeadState {
  switch (event.type) {
    case 'LeadCaptured':
      return { status: 'New', leadId: event.data.leadId, ownerId: event.data.ownerId, bant: undefined };
    case 'LeadAssigned':
      return isOpen(state) ? { ...state, ownerId: event.data.ownerId } : state;
    case 'LeadQualified': {
      if (!isOpen(state)) return state;
      const { leadId: _leadId, ...bant } = event.data;
      return { status: 'Qualified', leadId: state.leadId, ownerId: state.ownerId, bant };
    }
    case 'LeadStatusChanged':
      return isOpen(state) ? withStatus(state, event.data.to, event.data.reason) : state;
    case 'LeadScored':
    case 'LeadActivityLogged':
      // History only: no decision depends on them.
      return state;
    case 'LeadConverted':
      return { status: 'Converted', leadId: event.data.leadId, contactId: event.data.contactId, dealId: event.data.dealId };
    case 'LeadErased':
      return { status: 'Erased', leadId: event.data.leadId };
    default:
      return assertNever(event, 'lead event');
  }
}

function withStatus(state: OpenLeadState, to: LeadOpenStatus, reason: string | undefined): LeadState {
  const base = { leadId: state.leadId, ownerId: state.ownerId, bant: state.bant };
  switch (to) {
    case 'New':
    case 'Nurturing':
      return { ...base, status: to };
    case 'Qualified':
      return base.bant === undefined ? state : { ...base, status: 'Qualified', bant: base.bant };
    case 'Lost':
      return { ...base, status: 'Lost', lostReason: reason ?? '' };
    default:
      return assertNever(to, 'lead status');
  }
}

function isOpen(state: LeadState): state is OpenLeadState {
  return state.status === 'New' || state.status === 'Qualified' || state.status === 'Nurturing' || state.status === 'Lost';
}

/** Optional fields are omitted, never `undefined`, so events compare and serialise predictably. */
function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export const leadDecider: Decider<LeadCommand, LeadState, LeadEvent> = {
  decide: decideLead,
  evolve: evolveLead,
  initialState: initialLeadState,
};

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConsentPurpose, Role } from '../../schemas/events/common.js';
import type { LeadEvent } from '../../schemas/events/lead.js';
import { validateNewEvent } from '../../schemas/events/registry.js';
import type { CommandMetadata } from '../kernel/decider.js';
import { spec } from '../kernel/spec.js';
import type { LeadCommand } from './commands.js';
import { leadDecider } from './decide.js';

const leadId = '01950000-0000-7000-8000-000000000001';
const contactId = '01950000-0000-7000-8000-000000000002';
const dealId = '01950000-0000-7000-8000-000000000003';
const now = new Date('2025-03-01T10:00:00.000Z');
const meta = (...roles: Role[]): CommandMetadata => ({ now, actor: { userId: 'user-1', roles: roles.length ? roles : ['sales'] }, tenantId: 'tenant-1' });
const consents = (...activeConsents: ConsentPurpose[]) => ({ activeConsents });

// ── events ────────────────────────────────────────────────────────────────────────────────────
const captured: LeadEvent = {
  type: 'LeadCaptured',
  data: { leadId, name: 'Ada Lovelace', email: 'ada@example.com', source: 'web', capturedAt: now.toISOString() },
};
const bant = { authority: 'decision-maker', need: 'Replace spreadsheets', timeline: 'within-3-months' } as const;
const qualified: LeadEvent = { type: 'LeadQualified', data: { leadId, ...bant } };
const toNurturing: LeadEvent = { type: 'LeadStatusChanged', data: { leadId, from: 'New', to: 'Nurturing' } };
const lost: LeadEvent = { type: 'LeadStatusChanged', data: { leadId, from: 'New', to: 'Lost', reason: 'No budget this year' } };
const converted: LeadEvent = { type: 'LeadConverted', data: { leadId, contactId } };
const erased: LeadEvent = { type: 'LeadErased', data: { leadId } };

// ── commands ──────────────────────────────────────────────────────────────────────────────────
const capture = (data: Partial<Extract<LeadCommand, { type: 'CaptureLead' }>['data']> = {}): LeadCommand => ({
  type: 'CaptureLead',
  data: { leadId, name: 'Ada Lovelace', email: 'ada@example.com', source: 'web', ...data },
  metadata: meta(),
});
const assign = (ownerId = 'owner-2'): LeadCommand => ({ type: 'AssignLead', data: { ownerId }, metadata: meta() });
const qualify: LeadCommand = { type: 'QualifyLead', data: { ...bant }, metadata: meta() };
const changeStatus = (status: 'New' | 'Qualified' | 'Nurturing' | 'Lost', reason?: string, ...roles: Role[]): LeadCommand => ({
  type: 'ChangeLeadStatus',
  data: reason === undefined ? { status } : { status, reason },
  metadata: meta(...roles),
});
const score: LeadCommand = {
  type: 'ScoreLead',
  data: { score: 72, factors: [{ name: 'visited pricing page', points: 40 }, { name: 'company size', points: 32 }] },
  metadata: meta(),
};
const logActivity = (
  data: Partial<Extract<LeadCommand, { type: 'LogLeadActivity' }>['data']> = {},
  active: readonly ConsentPurpose[] = [],
): LeadCommand => ({
  type: 'LogLeadActivity',
  data: { kind: 'call', summary: 'Discussed pricing', direction: 'inbound', ...data },
  metadata: meta(),
  context: consents(...active),
});
const convert = (withDeal = false): LeadCommand => ({
  type: 'ConvertLead',
  data: withDeal
    ? { contactId, deal: { dealId, name: 'Ada — CRM rollout', value: { amountMinor: 1_200_000, currency: 'EUR' }, pipeline: 'default' } }
    : { contactId },
  metadata: meta(),
});
const erase = (...roles: Role[]): LeadCommand => ({ type: 'EraseLead', data: {}, metadata: meta(...roles) });

/** Every success also proves the produced events satisfy the published schemas. */
function accepts(given: readonly LeadEvent[], command: LeadCommand, expected: readonly LeadEvent[]): void {
  spec(leadDecider).given(given).when(command).then(expected);
  for (const e of expected) validateNewEvent(e);
}
/** The refusal, for tests that also check its class or details. */
const refusal = (given: readonly LeadEvent[], command: LeadCommand, code: string) => spec(leadDecider).given(given).when(command).thenThrows(code);
function rejects(given: readonly LeadEvent[], command: LeadCommand, code: string): void {
  refusal(given, command, code);
}

describe('lead decider', () => {
  describe('CaptureLead', () => {
    it('captures a New lead stamped with the command time', () => {
      accepts([], capture({ phone: '+44 20 7946 0000', company: 'Analytical Engines', campaign: 'spring', notes: 'Met at a fair', ownerId: 'owner-1' }), [
        {
          type: 'LeadCaptured',
          data: {
            leadId,
            name: 'Ada Lovelace',
            email: 'ada@example.com',
            phone: '+44 20 7946 0000',
            company: 'Analytical Engines',
            source: 'web',
            campaign: 'spring',
            notes: 'Met at a fair',
            ownerId: 'owner-1',
            capturedAt: '2025-03-01T10:00:00.000Z',
          },
        },
      ]);
    });
    it('omits the optional fields that were not given', () => {
      accepts([], capture({ email: undefined }), [
        { type: 'LeadCaptured', data: { leadId, name: 'Ada Lovelace', source: 'web', capturedAt: now.toISOString() } },
      ]);
    });
    it('refuses a second capture of the same id (conflict)', () => {
      const e = refusal([captured], capture(), 'LEAD_ERR_ALREADY_EXISTS');
      assert.equal(e.errorClass, 'conflict');
    });
    it('refuses to capture an erased lead id again', () => {
      rejects([captured, erased], capture(), 'LEAD_ERR_ALREADY_EXISTS');
    });
  });

  describe('AssignLead', () => {
    it('assigns an owner, remembering the previous one', () => {
      accepts([captured], assign('owner-2'), [{ type: 'LeadAssigned', data: { leadId, ownerId: 'owner-2' } }]);
      accepts([captured, { type: 'LeadAssigned', data: { leadId, ownerId: 'owner-2' } }], assign('owner-3'), [
        { type: 'LeadAssigned', data: { leadId, ownerId: 'owner-3', previousOwnerId: 'owner-2' } },
      ]);
    });
    it('changes nothing when the owner is already the one asked for', () => {
      spec(leadDecider).given([captured, { type: 'LeadAssigned', data: { leadId, ownerId: 'owner-2' } }]).when(assign('owner-2')).thenNothing();
    });
    it('refuses a lead that does not exist (not found)', () => {
      const e = refusal([], assign(), 'LEAD_ERR_NOT_FOUND');
      assert.equal(e.errorClass, 'not-found');
    });
    it('refuses a Lost lead', () => rejects([captured, lost], assign(), 'LEAD_ERR_FINAL_STATUS'));
    it('refuses a converted lead', () => rejects([captured, converted], assign(), 'LEAD_ERR_ALREADY_CONVERTED'));
    it('refuses an erased lead', () => rejects([captured, erased], assign(), 'LEAD_ERR_ERASED'));
  });

  describe('QualifyLead', () => {
    it('qualifies a New lead with BANT', () => accepts([captured], qualify, [qualified]));
    it('qualifies a Nurturing lead, with a budget', () => {
      const withBudget: LeadCommand = { ...qualify, data: { ...bant, budget: { amountMinor: 500_000, currency: 'EUR' } } };
      accepts([captured, toNurturing], withBudget, [{ type: 'LeadQualified', data: { leadId, ...bant, budget: { amountMinor: 500_000, currency: 'EUR' } } }]);
    });
    it('re-qualifies a Qualified lead (BANT evolves)', () => accepts([captured, qualified], qualify, [qualified]));
    it('refuses a lead that does not exist', () => rejects([], qualify, 'LEAD_ERR_NOT_FOUND'));
    it('refuses a Lost lead', () => rejects([captured, lost], qualify, 'LEAD_ERR_FINAL_STATUS'));
    it('refuses a converted lead', () => rejects([captured, converted], qualify, 'LEAD_ERR_ALREADY_CONVERTED'));
    it('refuses an erased lead', () => rejects([captured, erased], qualify, 'LEAD_ERR_ERASED'));
  });

  describe('ChangeLeadStatus', () => {
    it('moves New to Nurturing', () => accepts([captured], changeStatus('Nurturing'), [toNurturing]));
    it('moves a lead to Lost with its reason', () => accepts([captured], changeStatus('Lost', 'No budget this year'), [lost]));
    it('moves a previously qualified Nurturing lead back to Qualified', () => {
      const qualifiedToNurturing: LeadEvent = { type: 'LeadStatusChanged', data: { leadId, from: 'Qualified', to: 'Nurturing' } };
      accepts([captured, qualified, qualifiedToNurturing], changeStatus('Qualified'), [
        { type: 'LeadStatusChanged', data: { leadId, from: 'Nurturing', to: 'Qualified' } },
      ]);
    });
    it('lets a manager reopen a Lost lead to Nurturing', () => {
      accepts([captured, lost], changeStatus('Nurturing', 'Budget approved after all', 'manager'), [
        { type: 'LeadStatusChanged', data: { leadId, from: 'Lost', to: 'Nurturing', reason: 'Budget approved after all' } },
      ]);
    });
    it('changes nothing when the lead already has the status', () => {
      spec(leadDecider).given([captured, toNurturing]).when(changeStatus('Nurturing')).thenNothing();
    });
    it('refuses Lost without a reason', () => rejects([captured], changeStatus('Lost'), 'LEAD_ERR_LOST_REQUIRES_REASON'));
    it('refuses Lost with a blank reason', () => rejects([captured], changeStatus('Lost', '   '), 'LEAD_ERR_LOST_REQUIRES_REASON'));
    it('refuses a return to New', () => rejects([captured, toNurturing], changeStatus('New'), 'LEAD_ERR_INVALID_TRANSITION'));
    it('refuses Qualified without BANT', () => rejects([captured], changeStatus('Qualified'), 'LEAD_ERR_BANT_REQUIRED'));
    it('refuses to reopen a Lost lead without the manager role (forbidden)', () => {
      const e = refusal([captured, lost], changeStatus('Nurturing', undefined, 'sales', 'marketing'), 'LEAD_ERR_REOPEN_REQUIRES_MANAGER');
      assert.equal(e.errorClass, 'forbidden');
    });
    it('refuses to move a Lost lead anywhere but Nurturing, even for a manager', () => {
      rejects([captured, lost], changeStatus('Qualified', undefined, 'manager'), 'LEAD_ERR_FINAL_STATUS');
    });
    it('refuses a converted lead', () => rejects([captured, converted], changeStatus('Nurturing'), 'LEAD_ERR_ALREADY_CONVERTED'));
    it('refuses a lead that does not exist', () => rejects([], changeStatus('Nurturing'), 'LEAD_ERR_NOT_FOUND'));
    it('refuses an erased lead', () => rejects([captured, erased], changeStatus('Nurturing'), 'LEAD_ERR_ERASED'));
  });

  describe('ScoreLead', () => {
    it('scores a lead with its factors', () => {
      accepts([captured], score, [
        { type: 'LeadScored', data: { leadId, score: 72, factors: [{ name: 'visited pricing page', points: 40 }, { name: 'company size', points: 32 }] } },
      ]);
    });
    it('refuses a lead that does not exist', () => rejects([], score, 'LEAD_ERR_NOT_FOUND'));
    it('refuses a Lost lead', () => rejects([captured, lost], score, 'LEAD_ERR_FINAL_STATUS'));
    it('refuses a converted lead', () => rejects([captured, converted], score, 'LEAD_ERR_ALREADY_CONVERTED'));
    it('refuses an erased lead', () => rejects([captured, erased], score, 'LEAD_ERR_ERASED'));
  });

  describe('LogLeadActivity', () => {
    it('logs an activity at the command time by default', () => {
      accepts([captured], logActivity(), [
        { type: 'LeadActivityLogged', data: { leadId, kind: 'call', summary: 'Discussed pricing', direction: 'inbound', occurredAt: now.toISOString() } },
      ]);
    });
    it('logs an activity that happened earlier, even on a Lost lead', () => {
      accepts([captured, lost], logActivity({ occurredAt: '2025-02-27T09:00:00Z' }), [
        { type: 'LeadActivityLogged', data: { leadId, kind: 'call', summary: 'Discussed pricing', direction: 'inbound', occurredAt: '2025-02-27T09:00:00Z' } },
      ]);
    });
    it('logs outbound marketing when consent for that purpose is active', () => {
      accepts([captured], logActivity({ kind: 'email', direction: 'outbound', marketingPurpose: 'marketing_email' }, ['sms', 'marketing_email']), [
        {
          type: 'LeadActivityLogged',
          data: { leadId, kind: 'email', summary: 'Discussed pricing', direction: 'outbound', marketingPurpose: 'marketing_email', occurredAt: now.toISOString() },
        },
      ]);
    });
    it('refuses outbound marketing without active consent for that purpose, naming it', () => {
      const e = refusal(
        [captured],
        logActivity({ kind: 'email', direction: 'outbound', marketingPurpose: 'marketing_email' }, ['sms']),
        'LEAD_ERR_CONSENT_REQUIRED',
      );
      assert.match(e.message, /marketing_email/);
      assert.deepEqual(e.details, { purpose: 'marketing_email' });
    });
    it('refuses a marketing purpose on an inbound activity', () => {
      rejects([captured], logActivity({ direction: 'inbound', marketingPurpose: 'phone' }, ['phone']), 'LEAD_ERR_MARKETING_NOT_OUTBOUND');
    });
    it('refuses an activity in the future beyond clock skew', () => {
      rejects([captured], logActivity({ occurredAt: '2025-03-01T10:06:00Z' }), 'LEAD_ERR_ACTIVITY_IN_FUTURE');
    });
    it('refuses a lead that does not exist', () => rejects([], logActivity(), 'LEAD_ERR_NOT_FOUND'));
    it('refuses a converted lead', () => rejects([captured, converted], logActivity(), 'LEAD_ERR_ALREADY_CONVERTED'));
    it('refuses an erased lead', () => rejects([captured, erased], logActivity(), 'LEAD_ERR_ERASED'));
  });

  describe('ConvertLead', () => {
    it('converts a lead into a contact', () => accepts([captured, qualified], convert(), [converted]));
    it('converts a lead asking for a deal, carrying the deal request for the process manager', () => {
      accepts([captured], convert(true), [
        {
          type: 'LeadConverted',
          data: {
            leadId,
            contactId,
            dealId,
            deal: { name: 'Ada — CRM rollout', value: { amountMinor: 1_200_000, currency: 'EUR' }, pipeline: 'default' },
          },
        },
      ]);
    });
    it('refuses a lead that does not exist', () => rejects([], convert(), 'LEAD_ERR_NOT_FOUND'));
    it('refuses a Lost lead', () => rejects([captured, lost], convert(), 'LEAD_ERR_FINAL_STATUS'));
    it('refuses a second conversion', () => rejects([captured, converted], convert(), 'LEAD_ERR_ALREADY_CONVERTED'));
    it('refuses an erased lead', () => rejects([captured, erased], convert(), 'LEAD_ERR_ERASED'));
  });

  describe('EraseLead', () => {
    it('erases a lead for a dpo', () => accepts([captured], erase('dpo'), [erased]));
    it('erases a converted lead for an admin (erasure trumps finality)', () => accepts([captured, converted], erase('admin'), [erased]));
    it('changes nothing when the lead is already erased', () => spec(leadDecider).given([captured, erased]).when(erase('dpo')).thenNothing());
    it('refuses anyone but dpo or admin (forbidden)', () => {
      const e = refusal([captured], erase('manager'), 'LEAD_ERR_ERASE_FORBIDDEN');
      assert.equal(e.errorClass, 'forbidden');
    });
    it('refuses a lead that does not exist', () => rejects([], erase('dpo'), 'LEAD_ERR_NOT_FOUND'));
  });
});

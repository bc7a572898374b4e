import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Role } from '../../schemas/events/common.js';
import type { ConsentEvent } from '../../schemas/events/consent.js';
import type { CommandMetadata } from '../kernel/decider.js';
import { spec } from '../kernel/spec.js';
import { RequestErasureData, type ConsentCommand } from './commands.js';
import { consentDecider } from './decide.js';
import { activeConsents, type ConsentState } from './state.js';

const subjectId = '0190a6e2-7a4b-7c1d-8e2f-00000000c0de';
const now = new Date('2025-03-01T10:00:00.000Z');
const at = now.toISOString();
const meta = (...roles: Role[]): CommandMetadata => ({ now, actor: { userId: 'user-1', roles }, tenantId: 'tenant-a' });

const cmd = <T extends ConsentCommand['type']>(type: T, data: Extract<ConsentCommand, { type: T }>['data'], roles: Role[] = ['marketing']) =>
  ({ type, data, metadata: meta(...roles) }) as ConsentCommand;

const grant = (over: Partial<Extract<ConsentCommand, { type: 'GrantConsent' }>['data']> = {}) =>
  cmd('GrantConsent', {
    subjectId,
    subjectType: 'contact',
    purpose: 'marketing_email',
    lawfulBasis: 'consent',
    source: 'web form /newsletter',
    noticeVersion: '2025-01',
    ...over,
  });
const withdraw = cmd('WithdrawConsent', { subjectId, purpose: 'marketing_email', source: 'unsubscribe link' });
const requestErasure = (roles: Role[] = ['dpo']) => cmd('RequestErasure', { subjectId, subjectType: 'contact', reason: 'subject_request' }, roles);
const completeErasure = (roles: Role[] = ['dpo']) => cmd('CompleteErasure', { subjectId }, roles);

const granted: ConsentEvent = {
  type: 'ConsentGranted',
  data: {
    subjectId,
    subjectType: 'contact',
    purpose: 'marketing_email',
    lawfulBasis: 'consent',
    source: 'web form /newsletter',
    noticeVersion: '2025-01',
    grantedAt: at,
  },
};
const withdrawn: ConsentEvent = { type: 'ConsentWithdrawn', data: { subjectId, purpose: 'marketing_email', source: 'unsubscribe link', withdrawnAt: at } };
const erasureRequested: ConsentEvent = {
  type: 'SubjectErasureRequested',
  data: { subjectId, subjectType: 'contact', requestedBy: 'user-1', reason: 'subject_request', requestedAt: at },
};
const erased: ConsentEvent = { type: 'SubjectErased', data: { subjectId, subjectType: 'contact', erasedAt: at } };

const given = spec(consentDecider).given;
const fold = (events: readonly ConsentEvent[]): ConsentState => events.reduce(consentDecider.evolve, consentDecider.initialState());

describe('consent decider', () => {
  describe('GrantConsent', () => {
    it('grants a purpose, stamped with the command time', () => {
      given([]).when(grant()).then([granted]);
    });
    it('grants another purpose beside an active one', () => {
      given([granted])
        .when(grant({ purpose: 'sms' }))
        .then([{ type: 'ConsentGranted', data: { ...granted.data, purpose: 'sms' } } as ConsentEvent]);
    });
    it('is a no-op for an active purpose with the same notice version and basis', () => {
      given([granted]).when(grant({ source: 'another form' })).thenNothing();
    });
    it('records a re-grant under a new notice version', () => {
      given([granted])
        .when(grant({ noticeVersion: '2025-02' }))
        .then([{ type: 'ConsentGranted', data: { ...granted.data, noticeVersion: '2025-02' } } as ConsentEvent]);
    });
    it('grants again after a withdrawal', () => {
      given([granted, withdrawn]).when(grant()).then([granted]);
    });
    it('refuses a subject type other than the recorded one', () => {
      given([granted]).when(grant({ subjectType: 'lead' })).thenThrows('CONSENT_ERR_SUBJECT_TYPE_MISMATCH');
    });
    it('refuses while erasure is pending', () => {
      given([granted, erasureRequested]).when(grant()).thenThrows('CONSENT_ERR_ERASURE_PENDING');
    });
    it('refuses an erased subject', () => {
      given([granted, erasureRequested, erased]).when(grant()).thenThrows('CONSENT_ERR_SUBJECT_ERASED');
    });
  });

  describe('WithdrawConsent', () => {
    it('withdraws an active purpose', () => {
      given([granted]).when(withdraw).then([withdrawn]);
    });
    it('refuses a subject with no consent at all', () => {
      given([]).when(withdraw).thenThrows('CONSENT_ERR_NOT_GRANTED');
    });
    it('refuses a purpose that is not active', () => {
      given([granted, withdrawn]).when(withdraw).thenThrows('CONSENT_ERR_NOT_GRANTED');
    });
    it('refuses while erasure is pending', () => {
      given([granted, erasureRequested]).when(withdraw).thenThrows('CONSENT_ERR_ERASURE_PENDING');
    });
    it('refuses an erased subject', () => {
      given([granted, erasureRequested, erased]).when(withdraw).thenThrows('CONSENT_ERR_SUBJECT_ERASED');
    });
  });

  describe('RequestErasure', () => {
    it('records the request with the requesting user', () => {
      given([granted]).when(requestErasure()).then([erasureRequested]);
    });
    it('accepts a subject that never consented (opens the stream)', () => {
      given([]).when(requestErasure(['admin'])).then([erasureRequested]);
    });
    it('defaults the reason to a subject request (filled by the command schema)', () => {
      assert.equal(RequestErasureData.parse({ subjectId, subjectType: 'contact' }).reason, 'subject_request');
      given([])
        .when(cmd('RequestErasure', { subjectId, subjectType: 'lead', reason: 'retention_policy' }, ['admin']))
        .thenMatches(([e]) => assert.equal(e?.type === 'SubjectErasureRequested' && e.data.reason, 'retention_policy'));
    });
    it('is a no-op when already requested', () => {
      given([erasureRequested]).when(requestErasure()).thenNothing();
    });
    it('refuses a role other than dpo or admin', () => {
      const err = given([granted]).when(requestErasure(['manager'])).thenThrows('CONSENT_ERR_FORBIDDEN');
      assert.equal(err.errorClass, 'forbidden');
    });
    it('refuses a subject type other than the recorded one', () => {
      given([granted])
        .when(cmd('RequestErasure', { subjectId, subjectType: 'lead', reason: 'subject_request' }, ['dpo']))
        .thenThrows('CONSENT_ERR_SUBJECT_TYPE_MISMATCH');
    });
    it('refuses an erased subject', () => {
      given([erasureRequested, erased]).when(requestErasure()).thenThrows('CONSENT_ERR_SUBJECT_ERASED');
    });
  });

  describe('CompleteErasure', () => {
    it('marks the subject erased, without personal data', () => {
      given([granted, erasureRequested]).when(completeErasure()).then([erased]);
    });
    it('refuses when erasure was never requested', () => {
      given([granted]).when(completeErasure()).thenThrows('CONSENT_ERR_ERASURE_NOT_REQUESTED');
    });
    it('refuses an empty stream', () => {
      given([]).when(completeErasure()).thenThrows('CONSENT_ERR_ERASURE_NOT_REQUESTED');
    });
    it('refuses a role other than dpo or admin', () => {
      given([erasureRequested]).when(completeErasure(['sales'])).thenThrows('CONSENT_ERR_FORBIDDEN');
    });
    it('refuses an already erased subject', () => {
      given([erasureRequested, erased]).when(completeErasure()).thenThrows('CONSENT_ERR_SUBJECT_ERASED');
    });
  });

  describe('activeConsents', () => {
    it('is empty for a subject without events', () => {
      assert.deepEqual(activeConsents(fold([])), []);
    });
    it('lists the granted purposes in the canonical order, without withdrawn ones', () => {
      const sms: ConsentEvent = { type: 'ConsentGranted', data: { ...granted.data, purpose: 'sms' } } as ConsentEvent;
      const profiling: ConsentEvent = { type: 'ConsentGranted', data: { ...granted.data, purpose: 'profiling' } } as ConsentEvent;
      assert.deepEqual(activeConsents(fold([profiling, granted, sms])), ['marketing_email', 'sms', 'profiling']);
      assert.deepEqual(activeConsents(fold([profiling, granted, sms, withdrawn])), ['sms', 'profiling']);
    });
    it('is empty once erasure is requested, and after erasure', () => {
      assert.deepEqual(activeConsents(fold([granted, erasureRequested])), []);
      assert.deepEqual(activeConsents(fold([granted, erasureRequested, erased])), []);
    });
  });
});

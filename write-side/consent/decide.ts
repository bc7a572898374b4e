import type { ConsentEvent } from '../../schemas/events/consent.js';
import { hasRole, type CommandMetadata, type Decider } from '../kernel/decider.js';
import { DomainError, assertNever } from '../kernel/errors.js';
import type { ConsentCommand } from './commands.js';
import { evolveConsent, initialConsentState, type ConsentState } from './state.js';
import { defineErrors } from '../../platform/errors/catalogue.js';

export const ConsentErrorCode = defineErrors('CONSENT', {
  NotGranted: 'CONSENT_ERR_NOT_GRANTED',
  SubjectErased: 'CONSENT_ERR_SUBJECT_ERASED',
  ErasurePending: 'CONSENT_ERR_ERASURE_PENDING',
  ErasureNotRequested: 'CONSENT_ERR_ERASURE_NOT_REQUESTED',
  SubjectTypeMismatch: 'CONSENT_ERR_SUBJECT_TYPE_MISMATCH',
  Forbidden: 'CONSENT_ERR_FORBIDDEN',
  /** The subject of a consent command is not a contact or lead of the caller's tenant (routes). */
  SubjectNotFound: 'CONSENT_ERR_SUBJECT_NOT_FOUND',
});
export type ConsentErrorCode = (typeof ConsentErrorCode)[keyof typeof ConsentErrorCode];

function decide(command: ConsentCommand, state: ConsentState): ConsentEvent[] {
  const now = command.metadata.now.toISOString();
  switch (command.type) {
    case 'GrantConsent': {
      const d = command.data;
      refuseAfterErasure(state);
      if (state.status === 'recorded') {
        checkSubjectType(state.subjectType, d.subjectType);
        const current = state.grants[d.purpose];
        // Same purpose, basis and notice: the consent already in force says exactly this; recording it
        // again would only make "granted twice" noise in the audit trail. A new notice version or basis
        // is a new consent and is recorded.
        if (current && current.noticeVersion === d.noticeVersion && current.lawfulBasis === d.lawfulBasis) return [];
      }
      return [
        {
          type: 'ConsentGranted',
          data: {
            subjectId: d.subjectId,
            subjectType: d.subjectType,
            purpose: d.purpose,
            lawfulBasis: d.lawfulBasis,
            source: d.source,
            noticeVersion: d.noticeVersion,
            grantedAt: now,
          },
        },
      ];
    }
    case 'WithdrawConsent': {
      const d = command.data;
      refuseAfterErasure(state);
      if (state.status !== 'recorded' || state.grants[d.purpose] === undefined) {
        throw new DomainError(ConsentErrorCode.NotGranted, `there is no active consent for purpose "${d.purpose}" to withdraw`, 'invariant', {
          purpose: d.purpose,
        });
      }
      return [{ type: 'ConsentWithdrawn', data: { subjectId: d.subjectId, purpose: d.purpose, source: d.source, withdrawnAt: now } }];
    }
    case 'RequestErasure': {
      const d = command.data;
      requireErasureRole(command.metadata);
      switch (state.status) {
        case 'erased':
          throw erased();
        case 'erasure-requested':
          // Retention runs and retried requests ask again; the first request stands.
          return [];
        case 'recorded':
          checkSubjectType(state.subjectType, d.subjectType);
          break;
        case 'none':
          // A subject who never consented to anything can still be erased; this opens the stream.
          break;
        default:
          return assertNever(state, 'consent state');
      }
      return [
        {
          type: 'SubjectErasureRequested',
          data: {
            subjectId: d.subjectId,
            subjectType: d.subjectType,
            requestedBy: command.metadata.actor.userId,
            reason: d.reason,
            requestedAt: now,
          },
        },
      ];
    }
    case 'CompleteErasure': {
      requireErasureRole(command.metadata);
      switch (state.status) {
        case 'erased':
          throw erased();
        case 'none':
        case 'recorded':
          throw new DomainError(
            ConsentErrorCode.ErasureNotRequested,
            'erasure can only be completed after it was requested',
            'invariant',
          );
        case 'erasure-requested':
          return [{ type: 'SubjectErased', data: { subjectId: state.subjectId, subjectType: state.subjectType, erasedAt: now } }];
        default:
          return assertNever(state, 'consent state');
      }
    }
    default:
      return assertNever(command, 'consent command');
  }
}

export const consentDecider: Decider<ConsentCommand, ConsentState, ConsentEvent> = {
  decide,
  evolve: evolveConsent,
  initialState: initialConsentState,
};

function refuseAfterErasure(state: ConsentState): void {
  if (state.status === 'erased') throw erased();
  if (state.status === 'erasure-requested') {
    throw new DomainError(ConsentErrorCode.ErasurePending, 'the subject has requested erasure; consent can no longer change', 'invariant');
  }
}

function erased(): DomainError {
  return new DomainError(ConsentErrorCode.SubjectErased, 'the subject has been erased; nothing can be recorded for it', 'invariant');
}

function checkSubjectType(recorded: string, given: string): void {
  if (recorded !== given) {
    throw new DomainError(ConsentErrorCode.SubjectTypeMismatch, `the subject is a ${recorded}, not a ${given}`, 'invariant', {
      recorded,
      given,
    });
  }
}

/** SPEC (auth): erasure needs dpo or admin. Checked here too, so no route or job can forget it. */
function requireErasureRole(metadata: CommandMetadata): void {
  if (!hasRole(metadata, 'dpo', 'admin')) {
    throw new DomainError(ConsentErrorCode.Forbidden, 'erasure needs the dpo or admin role', 'forbidden');
  }
}

import { ConsentPurpose } from '../../schemas/events/common.js';
import type { ConsentEvent, LawfulBasis, SubjectType } from '../../schemas/events/consent.js';
import { assertNever } from '../kernel/errors.js';

/** What an active consent for one purpose rests on. The (personal) source is not kept: no rule needs it. */
export interface ActiveConsent {
  readonly lawfulBasis: LawfulBasis;
  readonly noticeVersion: string;
  readonly grantedAt: string;
}

export type ConsentGrants = Readonly<Partial<Record<ConsentPurpose, ActiveConsent>>>;

export type ConsentState =
  /** No event yet: the subject never granted anything. */
  | { readonly status: 'none' }
  | { readonly status: 'recorded'; readonly subjectId: string; readonly subjectType: SubjectType; readonly grants: ConsentGrants }
  /** Erasure asked for, key not yet destroyed: nothing may be processed on consent any more. */
  | {
      readonly status: 'erasure-requested';
      readonly subjectId: string;
      readonly subjectType: SubjectType;
      readonly requestedAt: string;
    }
  | { readonly status: 'erased'; readonly subjectId: string; readonly subjectType: SubjectType; readonly erasedAt: string };

export const initialConsentState = (): ConsentState => ({ status: 'none' });

export function evolveConsent(state: ConsentState, event: ConsentEvent): ConsentState {
  switch (event.type) {
    case 'ConsentGranted': {
      const { subjectId, subjectType, purpose, lawfulBasis, noticeVersion, grantedAt } = event.data;
      const grants = state.status === 'recorded' ? state.grants : {};
      return { status: 'recorded', subjectId, subjectType, grants: { ...grants, [purpose]: { lawfulBasis, noticeVersion, grantedAt } } };
    }
    case 'ConsentWithdrawn': {
      if (state.status !== 'recorded') return state;
      const { [event.data.purpose]: _withdrawn, ...rest } = state.grants;
      return { ...state, grants: rest };
    }
    case 'SubjectErasureRequested':
      return {
        status: 'erasure-requested',
        subjectId: event.data.subjectId,
        subjectType: event.data.subjectType,
        requestedAt: event.data.requestedAt,
      };
    case 'SubjectErased':
      return { status: 'erased', subjectId: event.data.subjectId, subjectType: event.data.subjectType, erasedAt: event.data.erasedAt };
    default:
      return assertNever(event, 'consent event');
  }
}

/**
 * The purposes the subject may be contacted or processed for right now, in a stable order. Used by
 * other aggregates' command handlers (e.g. refusing an outbound marketing interaction, SPEC: consent).
 * Empty once erasure is requested: the subject asked to be forgotten, so no consent is relied on.
 */
export function activeConsents(state: ConsentState): ConsentPurpose[] {
  switch (state.status) {
    case 'recorded':
      return ConsentPurpose.options.filter((p) => state.grants[p] !== undefined);
    case 'none':
    case 'erasure-requested':
    case 'erased':
      return [];
    default:
      return assertNever(state, 'consent state');
  }
}

export function hasActiveConsent(state: ConsentState, purpose: ConsentPurpose): boolean {
  return activeConsents(state).includes(purpose);
}

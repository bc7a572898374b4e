import type { Bant } from '../../schemas/events/lead.js';

/**
 * What `decide` needs to know about a lead, and no more: personal data stays in the events (the
 * conversion process manager reads it from the stream). The union on `status` makes impossible
 * leads unrepresentable: a Qualified lead always has BANT, a Lost lead always has its reason, a
 * Converted or Erased lead has nothing left to change.
 */
interface OpenLead {
  readonly leadId: string;
  readonly ownerId: string | undefined;
  /** Kept after leaving Qualified, so a lead nurtured after qualification may return to Qualified. */
  readonly bant: Bant | undefined;
}

export type LeadState =
  | { readonly status: 'Absent' }
  | (OpenLead & { readonly status: 'New' | 'Nurturing' })
  | (OpenLead & { readonly status: 'Qualified'; readonly bant: Bant })
  | (OpenLead & { readonly status: 'Lost'; readonly lostReason: string })
  | { readonly status: 'Converted'; readonly leadId: string; readonly contactId: string; readonly dealId: string | undefined }
  | { readonly status: 'Erased'; readonly leadId: string };

export type OpenLeadState = Extract<LeadState, { status: 'New' | 'Qualified' | 'Nurturing' | 'Lost' }>;

export const initialLeadState = (): LeadState => ({ status: 'Absent' });

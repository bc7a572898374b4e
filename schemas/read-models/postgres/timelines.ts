import { defineView } from './view.js';

/**
 * Read model `timelines`: a contact's timeline, one row per entry, and `timeline_links`, which maps a deal
 * or a lead subject to its contact.
 */

export type TimelineEntryType =
  | 'contact_created'
  | 'contact_updated'
  | 'interaction'
  | 'merged_into'
  | 'merged_from'
  | 'contact_erased'
  | 'consent_granted'
  | 'consent_withdrawn'
  | 'erasure_requested'
  | 'subject_erased'
  | 'deal_opened'
  | 'deal_stage_moved'
  | 'deal_value_changed'
  | 'deal_won'
  | 'deal_lost'
  | 'deal_reopened'
  | 'lead_converted';

export interface TimelineRow {
  readonly tenant_id: string;
  readonly contact_id: string;
  readonly position: bigint;
  readonly entry_type: TimelineEntryType;
  readonly event_type: string;
  readonly event_id: string;
  readonly occurred_at: Date;
  readonly recorded_at: Date;
  readonly actor_id: string;
  readonly related_id: string | null;
  readonly details: unknown;
  readonly summary: string | null;
  readonly outcome: string | null;
  readonly erased_at: Date | null;
}

export const timelinesView = defineView<TimelineRow>()('timelines', [
  'tenant_id', 'contact_id', 'position', 'entry_type', 'event_type', 'event_id', 'occurred_at', 'recorded_at',
  'actor_id', 'related_id', 'details', 'summary', 'outcome', 'erased_at',
]);

export interface TimelineLinkRow {
  readonly tenant_id: string;
  readonly ref_id: string;
  readonly kind: 'deal' | 'lead_subject';
  readonly contact_id: string | null;
}

export const timelineLinksView = defineView<TimelineLinkRow>()('timeline_links', [
  'tenant_id', 'ref_id', 'kind', 'contact_id',
]);

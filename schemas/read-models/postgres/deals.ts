import { defineView } from './view.js';

/**
 * Read model `deals`: one row per deal, current state, and `deal_stage_history`, one row per stage change.
 */

export interface DealRow {
  readonly tenant_id: string;
  readonly deal_id: string;
  readonly name: string;
  readonly contact_id: string;
  readonly pipeline: string;
  readonly stage: string;
  readonly probability: number;
  readonly value_minor: bigint;
  readonly currency: string;
  readonly weighted_value_minor: string;
  readonly owner_id: string;
  readonly status: 'open' | 'won' | 'lost';
  readonly expected_close_date: string;
  readonly opened_at: Date;
  readonly closed_at: Date | null;
  readonly lost_reason: string | null;
  readonly competitor: string | null;
  readonly stage_entered_at: Date;
  readonly updated_at: Date;
  readonly revision: bigint;
  readonly position: bigint;
}

export const dealsView = defineView<DealRow>()('deals', [
  'tenant_id', 'deal_id', 'name', 'contact_id', 'pipeline', 'stage', 'probability', 'value_minor', 'currency',
  'weighted_value_minor', 'owner_id', 'status', 'expected_close_date', 'opened_at', 'closed_at', 'lost_reason',
  'competitor', 'stage_entered_at', 'updated_at', 'revision', 'position',
]);

export interface DealStageHistoryRow {
  readonly tenant_id: string;
  readonly deal_id: string;
  readonly position: bigint;
  readonly revision: bigint;
  readonly change: 'opened' | 'moved' | 'won' | 'lost' | 'reopened';
  readonly from_stage: string | null;
  readonly to_stage: string;
  readonly probability: number;
  readonly status: 'open' | 'won' | 'lost';
  readonly at: Date;
  readonly actor_id: string;
}

export const dealStageHistoryView = defineView<DealStageHistoryRow>()('deal_stage_history', [
  'tenant_id', 'deal_id', 'position', 'revision', 'change', 'from_stage', 'to_stage', 'probability', 'status', 'at',
  'actor_id',
]);

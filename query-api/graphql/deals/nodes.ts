import type { DealStageHistoryRow } from '../../../schemas/read-models/postgres/index.js';
import { int32, int8, int8Text, toEnum } from '../common/rows.js';
import type { DealRead } from './loaders.js';

/**
 * A deal as GraphQL reads it: the read-model row behind getters named after the schema's fields, so a
 * field is a property read, evaluated only when selected. graphql-jit compiles a field without a resolver
 * to exactly that, while a resolver costs a call with its own resolve info, path, arguments and callbacks
 * (a 50-deal page with contact and stage history made ~1,000 resolver calls that only renamed columns:
 * ~30% of the query API's CPU per request, bench/query-api.ts profile). Relationships (contact,
 * stageHistory) keep their resolvers: they batch through the request's loaders.
 *
 * `row` is the row itself, for the relationship resolvers; `__typename` answers the SearchResult union.
 */
export class DealNode {
  constructor(readonly row: DealRead) {}
  get __typename(): 'Deal' {
    return 'Deal';
  }
  get id(): string {
    return this.row.deal_id;
  }
  get name(): string {
    return this.row.name;
  }
  get contactId(): string {
    return this.row.contact_id;
  }
  get pipeline(): string {
    return this.row.pipeline;
  }
  get stage(): string {
    return this.row.stage;
  }
  get probability(): number {
    return int32(this.row.probability);
  }
  get value(): { minor: bigint; currency: string } {
    return { minor: int8(this.row.value_minor), currency: this.row.currency };
  }
  get weightedValueMinor(): number {
    return Number(this.row.weighted_value_minor);
  }
  get ownerId(): string {
    return this.row.owner_id;
  }
  get status(): string {
    return toEnum(this.row.status);
  }
  get expectedCloseDate(): string {
    return this.row.expected_close_day;
  }
  get openedAt(): Date {
    return this.row.opened_at;
  }
  get closedAt(): Date | null {
    return this.row.closed_at;
  }
  get lostReason(): string | null {
    return this.row.lost_reason;
  }
  get competitor(): string | null {
    return this.row.competitor;
  }
  get stageEnteredAt(): Date {
    return this.row.stage_entered_at;
  }
  get updatedAt(): Date {
    return this.row.updated_at;
  }
  get revision(): number {
    return int32(this.row.revision);
  }
  get position(): string {
    return int8Text(this.row.position);
  }
}

/** One stage change of a deal (deal_stage_history), as GraphQL reads it (see DealNode). */
export class DealStageChangeNode {
  constructor(readonly row: DealStageHistoryRow) {}
  get change(): string {
    return this.row.change;
  }
  get fromStage(): string | null {
    return this.row.from_stage;
  }
  get toStage(): string {
    return this.row.to_stage;
  }
  get probability(): number {
    return int32(this.row.probability);
  }
  get status(): string {
    return toEnum(this.row.status);
  }
  get at(): Date {
    return this.row.at;
  }
  get actorId(): string {
    return this.row.actor_id;
  }
  get revision(): number {
    return int32(this.row.revision);
  }
  get position(): string {
    return int8Text(this.row.position);
  }
}

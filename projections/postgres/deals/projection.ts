import type { SqlStatement, Tables } from '../../kernel/projection.js';
import type { EventEnvelope } from '../../../schemas/events/registry.js';
import { dealsView, dealStageHistoryView } from '../../../schemas/read-models/postgres/deals.js';
import {
  assertNever,
  handles,
  indexName,
  int8,
  physicalNames,
  statement,
  streamEntityId,
  type PostgresReadModel,
} from '../sql.js';
import { personalColumnsOf, type PersonalSources } from '../personal-columns.js';

/**
 * Read model `deals`: one row per deal (current state) plus `deal_stage_history`, one row per stage
 * change of a deal (opened, moved, won, lost, reopened), keyed by the event's position.
 *
 * - Only DealOpened repeats the deal id in its payload; the others name the deal by their stream
 *   (`deal-<id>`), so the id comes from the stream name.
 * - `weighted_value_minor` = value × probability / 100, a generated column, so it can never disagree
 *   with the value and probability beside it. numeric(22,2): exact (percent of an integer has at most
 *   two decimals), summable per stage and pipeline without rounding drift.
 * - Won and lost deals keep the stage they were closed in (`stage`), with probability 100 / 0 from the
 *   event; `status` says open / won / lost. A history row for a win or loss has from = to = that stage.
 * - A reopen's history row takes `from_stage` from the deal row (the event only names the new stage);
 *   the statement reads it before the deal row is updated, in the same transaction.
 * - Deals hold no personal data (the person is the contact, referenced by id): nothing to erase here.
 */
const TABLES = [dealsView.name, dealStageHistoryView.name] as const;
const eventTypes = ['DealOpened', 'DealStageMoved', 'DealValueChanged', 'DealWon', 'DealLost', 'DealReopened'] as const;
const isHandled = handles(eventTypes);

/** Where each personal field of the handled events is kept (personal-columns.ts): the personal columns derive from it. */
const personalSources: PersonalSources = {};
const personalColumns = personalColumnsOf(TABLES, personalSources);

function ddl(tables: Tables): string {
  const { deals: t, deal_stage_history: h } = physicalNames(tables, TABLES);
  return `
CREATE TABLE ${t} (
  tenant_id            text          NOT NULL,
  deal_id              uuid          NOT NULL,
  name                 text          NOT NULL,
  contact_id           uuid          NOT NULL,
  pipeline             text          NOT NULL,
  stage                text          NOT NULL,
  probability          smallint      NOT NULL CHECK (probability BETWEEN 0 AND 100),
  value_minor          bigint        NOT NULL,
  currency             char(3)       NOT NULL,
  weighted_value_minor numeric(22,2) GENERATED ALWAYS AS (((value_minor::numeric * probability) / 100)::numeric(22,2)) STORED,
  owner_id             text          NOT NULL,
  status               text          NOT NULL CHECK (status IN ('open', 'won', 'lost')),
  expected_close_date  date          NOT NULL,
  opened_at            timestamptz   NOT NULL,
  closed_at            timestamptz,
  lost_reason          text,
  competitor           text,
  stage_entered_at     timestamptz   NOT NULL,
  updated_at           timestamptz   NOT NULL,
  revision             bigint        NOT NULL,
  position             bigint        NOT NULL,
  PRIMARY KEY (tenant_id, deal_id)
);
CREATE INDEX ${indexName(t, 'tenant_pipeline_stage_idx')} ON ${t} (tenant_id, pipeline, stage) WHERE status = 'open';
CREATE INDEX ${indexName(t, 'tenant_contact_idx')} ON ${t} (tenant_id, contact_id);
CREATE INDEX ${indexName(t, 'tenant_owner_idx')} ON ${t} (tenant_id, owner_id, status);
CREATE INDEX ${indexName(t, 'tenant_status_close_idx')} ON ${t} (tenant_id, status, expected_close_date);
-- The query API's default order (deals, most recently updated first, id as tie-breaker): a page is an index range scan.
CREATE INDEX ${indexName(t, 'tenant_updated_idx')} ON ${t} (tenant_id, updated_at DESC, deal_id DESC);

CREATE TABLE ${h} (
  tenant_id   text        NOT NULL,
  deal_id     uuid        NOT NULL,
  position    bigint      NOT NULL,
  revision    bigint      NOT NULL,
  change      text        NOT NULL CHECK (change IN ('opened', 'moved', 'won', 'lost', 'reopened')),
  from_stage  text,
  to_stage    text        NOT NULL,
  probability smallint    NOT NULL,
  status      text        NOT NULL CHECK (status IN ('open', 'won', 'lost')),
  at          timestamptz NOT NULL,
  actor_id    text        NOT NULL,
  PRIMARY KEY (tenant_id, deal_id, position)
);
CREATE INDEX ${indexName(h, 'tenant_at_idx')} ON ${h} (tenant_id, at);
`;
}

function project(event: EventEnvelope, tables: Tables): readonly SqlStatement[] {
  if (!isHandled(event)) return [];
  const { deals: t, deal_stage_history: h } = physicalNames(tables, TABLES);
  const tenant = event.tenantId;
  const dealId = event.type === 'DealOpened' ? event.data.dealId : streamEntityId(event, 'deal');

  /** UPDATE of the deal row: $1 tenant, $2 deal, $3 time, $4 revision, $5 position; `sets` use $6.. for `params`. */
  const update = (sets: string[], params: unknown[]): SqlStatement => {
    const all = [tenant, dealId, event.occurredAt, int8(event.streamRevision), int8(event.position), ...params];
    return statement(
      `UPDATE ${t} SET ${[...sets, 'updated_at = $3::timestamptz', 'revision = $4::bigint', 'position = $5::bigint'].join(', ')}
       WHERE tenant_id = $1 AND deal_id = $2`,
      all,
    );
  };
  const history = (change: string, from: string | null, to: string, probability: number, status: string): SqlStatement =>
    statement(
      `INSERT INTO ${h} (tenant_id, deal_id, position, revision, change, from_stage, to_stage, probability, status, at, actor_id)
       VALUES ($1, $2, $3::bigint, $4::bigint, $5, $6, $7, $8, $9, $10::timestamptz, $11)
       ON CONFLICT (tenant_id, deal_id, position) DO NOTHING`,
      [tenant, dealId, int8(event.position), int8(event.streamRevision), change, from, to, probability, status, event.occurredAt, event.actor.userId],
    );

  switch (event.type) {
    case 'DealOpened': {
      const d = event.data;
      return [
        statement(
          `INSERT INTO ${t} (tenant_id, deal_id, name, contact_id, pipeline, stage, probability, value_minor, currency, owner_id, status,
             expected_close_date, opened_at, stage_entered_at, updated_at, revision, position)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8::bigint, $9, $10, 'open', $11::date, $12::timestamptz, $12::timestamptz, $12::timestamptz, $13::bigint, $14::bigint)
           ON CONFLICT (tenant_id, deal_id) DO NOTHING`,
          [
            tenant,
            dealId,
            d.name,
            d.contactId,
            d.pipeline,
            d.stage,
            d.probability,
            d.value.amountMinor,
            d.value.currency,
            d.ownerId,
            d.expectedCloseDate,
            event.occurredAt,
            int8(event.streamRevision),
            int8(event.position),
          ],
        ),
        history('opened', null, d.stage, d.probability, 'open'),
      ];
    }
    case 'DealStageMoved': {
      const d = event.data;
      return [
        history('moved', d.from, d.to, d.probability, 'open'),
        update(['stage = $6', 'probability = $7', 'stage_entered_at = $3::timestamptz'], [d.to, d.probability]),
      ];
    }
    case 'DealValueChanged':
      return [update(['value_minor = $6::bigint', 'currency = $7'], [event.data.to.amountMinor, event.data.to.currency])];
    case 'DealWon': {
      const d = event.data;
      return [
        history('won', d.stage, d.stage, d.probability, 'won'),
        update(
          [`status = 'won'`, 'stage = $6', 'probability = $7', 'value_minor = $8::bigint', 'currency = $9', 'closed_at = $3::timestamptz'],
          [d.stage, d.probability, d.value.amountMinor, d.value.currency],
        ),
      ];
    }
    case 'DealLost': {
      const d = event.data;
      return [
        history('lost', d.stage, d.stage, d.probability, 'lost'),
        update(
          [
            `status = 'lost'`,
            'stage = $6',
            'probability = $7',
            'value_minor = $8::bigint',
            'currency = $9',
            'closed_at = $3::timestamptz',
            'lost_reason = $10',
            'competitor = $11',
          ],
          [d.stage, d.probability, d.value.amountMinor, d.value.currency, d.reason, d.competitor ?? null],
        ),
      ];
    }
    case 'DealReopened': {
      const d = event.data;
      return [
        // from_stage is read from the deal row before the update below changes it.
        statement(
          `INSERT INTO ${h} (tenant_id, deal_id, position, revision, change, from_stage, to_stage, probability, status, at, actor_id)
           SELECT $1, $2, $3::bigint, $4::bigint, 'reopened', d.stage, $5, $6, 'open', $7::timestamptz, $8
           FROM ${t} d WHERE d.tenant_id = $1 AND d.deal_id = $2
           ON CONFLICT (tenant_id, deal_id, position) DO NOTHING`,
          [tenant, dealId, int8(event.position), int8(event.streamRevision), d.stage, d.probability, event.occurredAt, event.actor.userId],
        ),
        update(
          [`status = 'open'`, 'stage = $6', 'probability = $7', 'closed_at = NULL', 'lost_reason = NULL', 'competitor = NULL', 'stage_entered_at = $3::timestamptz'],
          [d.stage, d.probability],
        ),
      ];
    }
    default:
      return assertNever(event);
  }
}

export const dealsProjection: PostgresReadModel = {
  name: 'deals',
  // 2: the (tenant_id, updated_at DESC, deal_id DESC) index of the query API's default order.
  version: 2,
  tables: TABLES,
  eventTypes,
  personalColumns,
  personalSources,
  ddl,
  project,
};

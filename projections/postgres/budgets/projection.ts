import type { SqlStatement, Tables } from '../../kernel/projection.js';
import type { EventEnvelope } from '../../../schemas/events/registry.js';
import { budgetsView, budgetAllocationsView, budgetSpendView } from '../../../schemas/read-models/postgres/budgets.js';
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
 * Read model `budgets`: one row per budget with its running figures, `budget_allocations` (current
 * allocation per campaign) and `budget_spend` (one line per recorded spend).
 *
 * - Only BudgetCreated repeats the budget id in its payload; the others name it by their stream.
 * - `remaining_minor` (amount − spent, negative on an overrun), `unallocated_minor` (amount −
 *   allocated), `overrun` and `thresholds_reached` are generated columns: they cannot drift from
 *   the figures they derive from.
 * - `allocated_minor` is recomputed from the allocation rows after each allocation (an allocation SETS
 *   a campaign's amount; 0 removes the row), so it always equals their sum.
 * - `spent_minor` is incremented by the spend line actually inserted (a data-modifying CTE), so it is
 *   O(1) per spend and a duplicate line (same spend id) adds nothing.
 * - Thresholds: the time each was first reached (BudgetThresholdReached), so "which budgets passed 80%
 *   this week" is a range query. BudgetClosed carries the final figures and they overwrite the
 *   running ones (the event is the record; they agree unless a bug says otherwise).
 * - No personal data: vendors are organisations, campaigns labels.
 */
const TABLES = [budgetsView.name, budgetAllocationsView.name, budgetSpendView.name] as const;
const eventTypes = ['BudgetCreated', 'BudgetAllocated', 'BudgetSpendRecorded', 'BudgetThresholdReached', 'BudgetClosed'] as const;
const isHandled = handles(eventTypes);

/** Where each personal field of the handled events is kept (personal-columns.ts): the personal columns derive from it. */
const personalSources: PersonalSources = {};
const personalColumns = personalColumnsOf(TABLES, personalSources);

function ddl(tables: Tables): string {
  const { budgets: t, budget_allocations: a, budget_spend: s } = physicalNames(tables, TABLES);
  return `
CREATE TABLE ${t} (
  tenant_id          text        NOT NULL,
  budget_id          uuid        NOT NULL,
  name               text        NOT NULL,
  category           text        NOT NULL,
  period_start       date        NOT NULL,
  period_end         date        NOT NULL,
  currency           char(3)     NOT NULL,
  amount_minor       bigint      NOT NULL,
  allocated_minor    bigint      NOT NULL DEFAULT 0,
  spent_minor        bigint      NOT NULL DEFAULT 0,
  remaining_minor    bigint      GENERATED ALWAYS AS (amount_minor - spent_minor) STORED,
  unallocated_minor  bigint      GENERATED ALWAYS AS (amount_minor - allocated_minor) STORED,
  overrun            boolean     GENERATED ALWAYS AS (spent_minor > amount_minor) STORED,
  threshold_80_at    timestamptz,
  threshold_100_at   timestamptz,
  thresholds_reached smallint[]  GENERATED ALWAYS AS (array_remove(ARRAY[
                       CASE WHEN threshold_80_at IS NOT NULL THEN 80 END,
                       CASE WHEN threshold_100_at IS NOT NULL THEN 100 END]::smallint[], NULL)) STORED,
  owner_id           text        NOT NULL,
  status             text        NOT NULL CHECK (status IN ('open', 'closed')),
  created_at         timestamptz NOT NULL,
  closed_at          timestamptz,
  updated_at         timestamptz NOT NULL,
  revision           bigint      NOT NULL,
  position           bigint      NOT NULL,
  PRIMARY KEY (tenant_id, budget_id)
);
CREATE INDEX ${indexName(t, 'tenant_status_idx')} ON ${t} (tenant_id, status, period_start);
CREATE INDEX ${indexName(t, 'tenant_owner_idx')} ON ${t} (tenant_id, owner_id);
CREATE INDEX ${indexName(t, 'tenant_category_idx')} ON ${t} (tenant_id, category);

CREATE TABLE ${a} (
  tenant_id    text        NOT NULL,
  budget_id    uuid        NOT NULL,
  campaign     text        NOT NULL,
  amount_minor bigint      NOT NULL,
  currency     char(3)     NOT NULL,
  updated_at   timestamptz NOT NULL,
  position     bigint      NOT NULL,
  PRIMARY KEY (tenant_id, budget_id, campaign)
);
CREATE INDEX ${indexName(a, 'tenant_campaign_idx')} ON ${a} (tenant_id, campaign);

CREATE TABLE ${s} (
  tenant_id          text        NOT NULL,
  budget_id          uuid        NOT NULL,
  spend_id           uuid        NOT NULL,
  vendor             text        NOT NULL,
  campaign           text        NOT NULL,
  amount_minor       bigint      NOT NULL,
  currency           char(3)     NOT NULL,
  spent_at           timestamptz NOT NULL,
  external_reference text        NOT NULL,
  overridden         boolean     NOT NULL,
  recorded_at        timestamptz NOT NULL,
  actor_id           text        NOT NULL,
  position           bigint      NOT NULL,
  PRIMARY KEY (tenant_id, budget_id, spend_id)
);
CREATE INDEX ${indexName(s, 'tenant_budget_spent_at_idx')} ON ${s} (tenant_id, budget_id, spent_at);
CREATE INDEX ${indexName(s, 'tenant_campaign_idx')} ON ${s} (tenant_id, campaign, spent_at);
CREATE INDEX ${indexName(s, 'tenant_reference_idx')} ON ${s} (tenant_id, budget_id, external_reference);
`;
}

function project(event: EventEnvelope, tables: Tables): readonly SqlStatement[] {
  if (!isHandled(event)) return [];
  const { budgets: t, budget_allocations: a, budget_spend: s } = physicalNames(tables, TABLES);
  const tenant = event.tenantId;
  const budgetId = event.type === 'BudgetCreated' ? event.data.budgetId : streamEntityId(event, 'budget');
  const revision = int8(event.streamRevision);
  const position = int8(event.position);

  /** UPDATE of the budget row: $1 tenant, $2 budget, $3 time, $4 revision, $5 position; `sets` use $6.. for `params`. */
  const update = (sets: string[], params: unknown[]): SqlStatement =>
    statement(
      `UPDATE ${t} SET ${[...sets, 'updated_at = $3::timestamptz', 'revision = $4::bigint', 'position = $5::bigint'].join(', ')}
       WHERE tenant_id = $1 AND budget_id = $2`,
      [tenant, budgetId, event.occurredAt, revision, position, ...params],
    );

  switch (event.type) {
    case 'BudgetCreated': {
      const d = event.data;
      return [
        statement(
          `INSERT INTO ${t} (tenant_id, budget_id, name, category, period_start, period_end, currency, amount_minor, owner_id, status,
             created_at, updated_at, revision, position)
           VALUES ($1, $2, $3, $4, $5::date, $6::date, $7, $8::bigint, $9, 'open', $10::timestamptz, $10::timestamptz, $11::bigint, $12::bigint)
           ON CONFLICT (tenant_id, budget_id) DO NOTHING`,
          [
            tenant,
            budgetId,
            d.name,
            d.category,
            d.period.start,
            d.period.end,
            d.amount.currency,
            d.amount.amountMinor,
            d.ownerId,
            event.occurredAt,
            revision,
            position,
          ],
        ),
      ];
    }
    case 'BudgetAllocated': {
      const d = event.data;
      const allocation =
        d.amount.amountMinor === 0
          ? statement(`DELETE FROM ${a} WHERE tenant_id = $1 AND budget_id = $2 AND campaign = $3`, [tenant, budgetId, d.campaign])
          : statement(
              `INSERT INTO ${a} (tenant_id, budget_id, campaign, amount_minor, currency, updated_at, position)
               VALUES ($1, $2, $3, $4::bigint, $5, $6::timestamptz, $7::bigint)
               ON CONFLICT (tenant_id, budget_id, campaign) DO UPDATE SET
                 amount_minor = EXCLUDED.amount_minor, currency = EXCLUDED.currency, updated_at = EXCLUDED.updated_at, position = EXCLUDED.position`,
              [tenant, budgetId, d.campaign, d.amount.amountMinor, d.amount.currency, event.occurredAt, position],
            );
      return [
        allocation,
        update([`allocated_minor = (SELECT coalesce(sum(x.amount_minor), 0) FROM ${a} x WHERE x.tenant_id = $1 AND x.budget_id = $2)`], []),
      ];
    }
    case 'BudgetSpendRecorded': {
      const d = event.data;
      return [
        statement(
          `WITH line AS (
             INSERT INTO ${s} (tenant_id, budget_id, spend_id, vendor, campaign, amount_minor, currency, spent_at, external_reference,
               overridden, recorded_at, actor_id, position)
             VALUES ($1, $2, $6, $7, $8, $9::bigint, $10, $11::timestamptz, $12, $13, $3::timestamptz, $14, $5::bigint)
             ON CONFLICT (tenant_id, budget_id, spend_id) DO NOTHING
             RETURNING amount_minor)
           UPDATE ${t} SET spent_minor = spent_minor + coalesce((SELECT sum(amount_minor) FROM line), 0),
             updated_at = $3::timestamptz, revision = $4::bigint, position = $5::bigint
           WHERE tenant_id = $1 AND budget_id = $2`,
          [
            tenant,
            budgetId,
            event.occurredAt,
            revision,
            position,
            d.spendId,
            d.vendor,
            d.campaign,
            d.amount.amountMinor,
            d.amount.currency,
            d.spentAt,
            d.externalReference,
            d.overridden,
            event.actor.userId,
          ],
        ),
      ];
    }
    case 'BudgetThresholdReached': {
      const column = event.data.threshold === 80 ? 'threshold_80_at' : 'threshold_100_at';
      return [update([`${column} = coalesce(${column}, $3::timestamptz)`], [])];
    }
    case 'BudgetClosed': {
      const d = event.data;
      return [
        update(
          [`status = 'closed'`, 'closed_at = $3::timestamptz', 'spent_minor = $6::bigint', 'allocated_minor = $7::bigint', 'amount_minor = $8::bigint'],
          [d.spentMinor, d.allocatedMinor, d.amountMinor],
        ),
      ];
    }
    default:
      return assertNever(event);
  }
}

export const budgetsProjection: PostgresReadModel = {
  name: 'budgets',
  version: 1,
  tables: TABLES,
  eventTypes,
  personalColumns,
  personalSources,
  ddl,
  project,
};

import { eventColumns } from '../../schemas/read-models/clickhouse/events.js';
import { str } from '../../schemas/read-models/clickhouse/sql.js';

/**
 * A fast bulk load of N synthetic fact rows, generated INSIDE the engine (`INSERT … SELECT … FROM
 * numbers(N)`, accepted by ClickHouse 18.16 and chDB alike): no row crosses the network or the V8 heap,
 * so 10,000,000 rows load in a minute or two. Six events per entity; entities 0–3 of every 10 are leads
 * (capture → score → qualify → convert or nurture → activity → assign), 4–7 deals (open → move → move →
 * value change → won, lost or move → value change), 8–9 budgets (create → allocate → four spends), two
 * years of times (2023–2024), one tenant. Only the benchmark uses it; the figures of the real projector
 * are checked against the events in the test suites.
 */
export function syntheticInsertSql(table: string, tenantId: string, n: number, offset = 0): string {
  const e = `intDiv(number + ${offset}, 6)`;
  const r = `((number + ${offset}) % 6)`;
  const h = `cityHash64(${e})`;
  const kind = `(${e} % 10)`;
  const isLead = `${kind} < 4`;
  const isDeal = `${kind} >= 4 AND ${kind} < 8`;
  const t = `(toInt64(1672531200000) + toInt64(${h} % 60000000000) + ${r} * 86400000 * toInt64(1 + ${h} % 9))`;
  const iso = `concat(replaceOne(toString(toDateTime(intDiv(${t}, 1000), 'UTC')), ' ', 'T'), '.000Z')`;
  const month = `substring(${iso}, 1, 7)`;
  const outcome = `(${h} % 3)`;
  const type = `multiIf(
    ${isLead}, arrayElement(['LeadCaptured', 'LeadScored', 'LeadQualified', if(${h} % 3 = 0, 'LeadConverted', 'LeadStatusChanged'), 'LeadActivityLogged', 'LeadAssigned'], ${r} + 1),
    ${isDeal}, arrayElement(['DealOpened', 'DealStageMoved', 'DealStageMoved', 'DealValueChanged', multiIf(${outcome} = 0, 'DealWon', ${outcome} = 1, 'DealLost', 'DealStageMoved'), 'DealValueChanged'], ${r} + 1),
    arrayElement(['BudgetCreated', 'BudgetAllocated', 'BudgetSpendRecorded', 'BudgetSpendRecorded', 'BudgetSpendRecorded', 'BudgetSpendRecorded'], ${r} + 1))`;
  const aggregate = `multiIf(${isLead}, 'lead', ${isDeal}, 'deal', 'budget')`;
  const id = `concat(lower(hex(${h})), '-0000-7000-8000-', lower(hex(${e})))`;
  const amount = `toInt64(100 + (cityHash64(number) % 5000000))`;
  const cols: Record<string, string> = {
    tenant_id: str(tenantId),
    position: `toUInt64(number + ${offset} + 1)`,
    event_id: `concat('e', toString(number + ${offset}))`,
    event_type: `__type`,
    schema_version: 'toUInt16(1)',
    aggregate: aggregate,
    aggregate_id: id,
    stream_id: `concat(${aggregate}, '-', ${id})`,
    stream_revision: `toUInt64(${r})`,
    occurred_at: iso,
    occurred_at_ms: t,
    occurred_month: month,
    effective_at: iso,
    effective_at_ms: t,
    effective_day: `substring(${iso}, 1, 10)`,
    effective_month: month,
    actor_id: `concat('user-', toString(${h} % 50))`,
    actor_roles: `['sales']`,
    correlation_id: `concat('c', toString(${e}))`,
    causation_id: `concat('c', toString(number + ${offset}))`,
    owner_id: `if(__type IN ('LeadCaptured', 'DealOpened', 'BudgetCreated'), (concat('owner-', toString(${h} % 20))), NULL)`,
    subject_id: 'NULL',
    related_id: 'NULL',
    amount_minor: `if(__type IN ('LeadQualified', 'DealOpened', 'DealValueChanged', 'DealWon', 'DealLost', 'BudgetCreated', 'BudgetAllocated', 'BudgetSpendRecorded'), (${amount}), NULL)`,
    currency: `if(__type IN ('LeadQualified', 'DealOpened', 'DealValueChanged', 'DealWon', 'DealLost', 'BudgetCreated', 'BudgetAllocated', 'BudgetSpendRecorded'), ('EUR'), NULL)`,
    previous_amount_minor: 'NULL',
    probability: `multiIf(__type = 'DealOpened', (toInt16(10)), __type = 'DealStageMoved', (toInt16(arrayElement([20, 50, 75], if(${r} = 4, 3, ${r})))), __type = 'DealWon', (toInt16(100)), __type = 'DealLost', (toInt16(0)), NULL)`,
    score: `if(__type = 'LeadScored', (toInt16(${h} % 101)), NULL)`,
    status: `multiIf(__type = 'LeadCaptured', ('New'), __type = 'LeadQualified', ('Qualified'), __type = 'LeadConverted', ('Converted'), __type = 'LeadStatusChanged', ('Nurturing'), __type IN ('DealOpened', 'DealStageMoved'), ('open'), __type = 'DealWon', ('won'), __type = 'DealLost', ('lost'), __type = 'BudgetCreated', ('open'), NULL)`,
    previous_status: 'NULL',
    pipeline: `if(__type = 'DealOpened', (if(${h} % 4 = 0, 'enterprise', 'default')), NULL)`,
    stage: `multiIf(__type = 'DealOpened', ('prospecting'), __type = 'DealStageMoved', (arrayElement(['qualification', 'proposal', 'negotiation'], if(${r} = 4, 3, ${r}))), __type IN ('DealWon', 'DealLost'), ('proposal'), NULL)`,
    previous_stage: 'NULL',
    source: `if(__type = 'LeadCaptured', (arrayElement(['web', 'email', 'phone', 'event', 'referral', 'social', 'other'], (${h} % 7) + 1)), NULL)`,
    campaign: `if(__type IN ('LeadCaptured', 'BudgetAllocated', 'BudgetSpendRecorded'), (arrayElement(['spring', 'summer', 'autumn', 'winter'], (${h} % 4) + 1)), NULL)`,
    category: `if(__type = 'BudgetCreated', (arrayElement(['events', 'ads', 'content'], (${h} % 3) + 1)), NULL)`,
    purpose: 'NULL',
    lawful_basis: 'NULL',
    subject_type: 'NULL',
    reason: 'NULL',
    kind: `if(__type = 'LeadActivityLogged', ('call'), NULL)`,
    direction: 'NULL',
    channel: 'NULL',
    authority: 'NULL',
    timeline: 'NULL',
    threshold: 'NULL',
    overridden: `if(__type = 'BudgetSpendRecorded', (toUInt8(0)), NULL)`,
    period_start: `if(__type = 'BudgetCreated', ('2023-01-01'), NULL)`,
    period_end: `if(__type = 'BudgetCreated', ('2024-12-31'), NULL)`,
  };
  const names = Object.keys(eventColumns);
  for (const c of names) if (cols[c] === undefined) throw new Error(`synthetic: no expression for ${c}`);
  return `INSERT INTO ${table} (${names.join(', ')})
SELECT ${names.map((c) => `${cols[c]} AS ${c}`).join(',\n       ')}
FROM (SELECT number, ${type} AS __type FROM system.numbers LIMIT ${n})`;
}

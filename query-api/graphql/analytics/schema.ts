/** SDL of the analytics area: the ready aggregates over the ClickHouse fact table (docs/analytics.md). */
export const typeDefs = /* GraphQL */ `
extend type Query {
  """
  Analytics over the ClickHouse fact table of every event (server) or chDB (embedded), for the caller's
  tenant only (from the token). Money is in minor units per currency, never summed across currencies.
  """
  analytics: Analytics!
}

"How rows are grouped in time."
enum AnalyticsGranularity {
  MONTH
  "2024-Q2"
  QUARTER
  YEAR
  "One bucket for the whole period: 'all'."
  ALL
}

"Months, inclusive, as YYYY-MM (years 0001-9999). An absent bound is open."
input AnalyticsPeriod {
  from: String
  to: String
}

type Analytics {
  "Captured → qualified → converted, as cohorts of leads captured in each period (by capture time) per source."
  leadFunnel(period: AnalyticsPeriod, granularity: AnalyticsGranularity = MONTH, sources: [String!]): [LeadFunnelRow!]!
  "The open pipeline at the end of each month of the period (both bounds required, at most 240 months)."
  pipelineByStage(period: AnalyticsPeriod!, pipelines: [String!]): [PipelineStageRow!]!
  "Days deals spend per stage (stays ending in the period) and the win rate (deals whose last outcome falls in the period)."
  dealVelocity(period: AnalyticsPeriod, pipelines: [String!]): DealVelocity!
  "Budget spend per period (by spentAt) and category, against the amount and current allocation of the budgets that spent."
  spendByMonth(period: AnalyticsPeriod, granularity: AnalyticsGranularity = MONTH, categories: [String!]): [SpendRow!]!
}

type LeadFunnelRow {
  "YYYY-MM, YYYY-Qn, YYYY or 'all'."
  period: String!
  source: String!
  captured: Int!
  "Captured in this cohort and ever qualified (a lead converted without qualification counts)."
  qualified: Int!
  converted: Int!
  "qualified / captured"
  qualificationRate: Float!
  "converted / captured"
  conversionRate: Float!
}

type PipelineStageRow {
  "The month at whose end the snapshot is taken (YYYY-MM)."
  period: String!
  pipeline: String!
  stage: String!
  currency: String!
  deals: Int!
  value: Minor!
  "floor(sum(value × probability) / 100)"
  weightedValue: Minor!
}

type DealVelocity {
  stages: [StageVelocity!]!
  outcomes: [DealOutcome!]!
}

type StageVelocity {
  pipeline: String!
  stage: String!
  "Completed stays in this stage (entered by open, move or reopen; left by the next stage event)."
  stays: Int!
  averageDays: Float!
  maxDays: Float!
}

type DealOutcome {
  pipeline: String!
  won: Int!
  lost: Int!
  "won / (won + lost)"
  winRate: Float!
}

type SpendRow {
  period: String!
  category: String!
  currency: String!
  spent: Minor!
  "Sum of the amounts of the budgets that spent in this period."
  amount: Minor!
  "Sum of their current allocations (latest per campaign)."
  allocated: Minor!
  budgets: Int!
  "spent / allocated (null when nothing is allocated)."
  spentOfAllocated: Float
}
`;

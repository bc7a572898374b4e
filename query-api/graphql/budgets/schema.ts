/** SDL of the budgets area: Budget, its connection and filters, its allocations and spend. */
export const typeDefs = /* GraphQL */ `
extend type Query {
  "One budget of the caller's tenant, or null."
  budget(id: ID!): Budget
  "Budgets of the caller's tenant, filtered and ordered (default: most recently created first)."
  budgets(filter: BudgetFilter, orderBy: BudgetOrder, first: Int, after: String, last: Int, before: String): BudgetConnection!
}

enum BudgetStatus {
  OPEN
  CLOSED
}

type Budget {
  id: ID!
  name: String!
  category: String!
  periodStart: Date!
  periodEnd: Date!
  amount: Money!
  allocated: Money!
  spent: Money!
  "amount − spent (negative when overrun)."
  remaining: Money!
  "amount − allocated."
  unallocated: Money!
  overrun: Boolean!
  "Thresholds (percent of amount) reached so far: 80, 100."
  thresholdsReached: [Int!]!
  threshold80At: DateTime
  threshold100At: DateTime
  ownerId: String!
  status: BudgetStatus!
  createdAt: DateTime!
  closedAt: DateTime
  updatedAt: DateTime!
  revision: Int!
  position: String!
  "Allocations per campaign."
  allocations: [BudgetAllocation!]!
  "Spend records, most recent first."
  spend(first: Int = 50): [BudgetSpend!]!
}

type BudgetAllocation {
  campaign: String!
  amount: Money!
  updatedAt: DateTime!
}

type BudgetSpend {
  id: ID!
  vendor: String!
  campaign: String!
  amount: Money!
  spentAt: DateTime!
  externalReference: String!
  "Recorded past the budget with a manager's override."
  overridden: Boolean!
  recordedAt: DateTime!
  actorId: String!
}

type BudgetConnection {
  edges: [BudgetEdge!]!
  nodes: [Budget!]!
  pageInfo: PageInfo!
  "Counted only when selected."
  totalCount: Int!
}

type BudgetEdge {
  cursor: String!
  node: Budget!
}

input BudgetFilter {
  status: [BudgetStatus!]
  ownerId: String
  category: String
  currency: String
  overrun: Boolean
  "Budgets whose period overlaps [periodFrom, periodTo]."
  periodFrom: Date
  periodTo: Date
  createdAfter: DateTime
  createdBefore: DateTime
  updatedAfter: DateTime
  updatedBefore: DateTime
  "Amount range in minor units (inclusive)."
  amountMin: Minor
  amountMax: Minor
}

enum BudgetOrderField {
  CREATED_AT
  UPDATED_AT
  PERIOD_START
  AMOUNT
}

input BudgetOrder {
  field: BudgetOrderField! = CREATED_AT
  direction: SortDirection! = DESC
}
`;

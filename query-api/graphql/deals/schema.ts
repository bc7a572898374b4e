/** SDL of the deals area: Deal, its connection and filters, its stage history, the pipeline summary, Contact.deals. */
export const typeDefs = /* GraphQL */ `
extend type Query {
  "One deal of the caller's tenant, or null."
  deal(id: ID!): Deal
  "Deals of the caller's tenant, filtered and ordered (default: most recently updated first)."
  deals(filter: DealFilter, orderBy: DealOrder, first: Int, after: String, last: Int, before: String): DealConnection!
  "A pipeline's stages with the number of deals, their value and weighted value (per currency). Default: open deals."
  pipeline(pipeline: String!, status: [DealStatus!] = [OPEN]): Pipeline!
}

enum DealStatus {
  OPEN
  WON
  LOST
}

type Deal {
  id: ID!
  name: String!
  "The deal's contact (null only if that contact is not in the read model yet)."
  contact: Contact
  contactId: ID!
  pipeline: String!
  stage: String!
  "Percent, from the pipeline's stage table."
  probability: Int!
  value: Money!
  "value × probability, in minor units (may have a fraction of a minor unit)."
  weightedValueMinor: Float!
  ownerId: String!
  status: DealStatus!
  expectedCloseDate: Date!
  openedAt: DateTime!
  closedAt: DateTime
  lostReason: String
  competitor: String
  stageEnteredAt: DateTime!
  updatedAt: DateTime!
  revision: Int!
  position: String!
  "Every stage change, oldest first (opened, moved, won, lost, reopened)."
  stageHistory: [DealStageChange!]!
}

type DealStageChange {
  change: String!
  fromStage: String
  toStage: String!
  probability: Int!
  status: DealStatus!
  at: DateTime!
  actorId: String!
  revision: Int!
  position: String!
}

type DealConnection {
  edges: [DealEdge!]!
  nodes: [Deal!]!
  pageInfo: PageInfo!
  "Counted only when selected."
  totalCount: Int!
}

type DealEdge {
  cursor: String!
  node: Deal!
}

input DealFilter {
  status: [DealStatus!]
  ownerId: String
  pipeline: String
  stage: [String!]
  contactId: ID
  currency: String
  "Value range in minor units (inclusive)."
  valueMin: Minor
  valueMax: Minor
  openedAfter: DateTime
  openedBefore: DateTime
  updatedAfter: DateTime
  updatedBefore: DateTime
  expectedCloseFrom: Date
  expectedCloseTo: Date
}

enum DealOrderField {
  UPDATED_AT
  OPENED_AT
  VALUE
  EXPECTED_CLOSE_DATE
}

input DealOrder {
  field: DealOrderField! = UPDATED_AT
  direction: SortDirection! = DESC
}

type Pipeline {
  pipeline: String!
  "Stages by probability, then name; only stages holding at least one deal of the chosen statuses."
  stages: [PipelineStage!]!
  count: Int!
}

type PipelineStage {
  stage: String!
  probability: Int!
  count: Int!
  "Sum of the deals' values, one entry per currency."
  value: [Money!]!
  "Sum of the weighted values, one entry per currency (minor units, rounded to a whole minor unit)."
  weightedValue: [Money!]!
}

extend type Contact {
  "The contact's deals, most recently updated first."
  deals(first: Int = 20, status: [DealStatus!]): [Deal!]!
}
`;

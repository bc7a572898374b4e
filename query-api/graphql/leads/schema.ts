/** SDL of the leads area: Lead, its connection and filters, its conversion links. */
export const typeDefs = /* GraphQL */ `
extend type Query {
  "One lead of the caller's tenant, or null."
  lead(id: ID!): Lead
  "Leads of the caller's tenant, filtered and ordered (default: most recently captured first)."
  leads(filter: LeadFilter, orderBy: LeadOrder, first: Int, after: String, last: Int, before: String): LeadConnection!
}

enum LeadStatus {
  NEW
  QUALIFIED
  NURTURING
  LOST
  CONVERTED
}

enum LeadSource {
  WEB
  EMAIL
  PHONE
  EVENT
  REFERRAL
  SOCIAL
  OTHER
}

"""
A lead. Personal fields (name, email, phone, notes, bant.need, lostReason) are masked for callers without
read:personal (analyst) and read "[erased]" once the lead's data subject is erased (GDPR).
"""
type Lead {
  id: ID!
  name: String
  email: String
  phone: String
  notes: String
  company: String
  source: LeadSource!
  campaign: String
  ownerId: String
  status: LeadStatus!
  "0-100, null until scored."
  score: Int
  scoreFactors: JSON
  scoredAt: DateTime
  bant: Bant
  qualifiedAt: DateTime
  lostAt: DateTime
  lostReason: String
  "The contact this lead was converted into."
  convertedContact: Contact
  "The deal opened by the conversion, if one was asked for."
  convertedDeal: Deal
  convertedAt: DateTime
  capturedAt: DateTime!
  lastActivityAt: DateTime!
  lastActivityKind: String
  "Untouched for 30 days while open (New, Qualified, Nurturing) and not erased."
  inactive: Boolean!
  "When the lead becomes (or became) inactive if nothing happens; null when it cannot (final status, erased)."
  inactiveAt: DateTime
  erased: Boolean!
  erasedAt: DateTime
  updatedAt: DateTime!
  revision: Int!
  position: String!
}

"BANT qualification: budget, authority, need (personal), timeline."
type Bant {
  budget: Money
  authority: String
  need: String
  timeline: String
}

type LeadConnection {
  edges: [LeadEdge!]!
  nodes: [Lead!]!
  pageInfo: PageInfo!
  "Counted only when selected."
  totalCount: Int!
}

type LeadEdge {
  cursor: String!
  node: Lead!
}

input LeadFilter {
  status: [LeadStatus!]
  source: [LeadSource!]
  ownerId: String
  campaign: String
  "Company, case-insensitive exact match."
  company: String
  "true: only inactive leads (untouched for 30 days while open); false: only the others."
  inactive: Boolean
  scoreMin: Int
  scoreMax: Int
  capturedAfter: DateTime
  capturedBefore: DateTime
  updatedAfter: DateTime
  updatedBefore: DateTime
}

enum LeadOrderField {
  CAPTURED_AT
  UPDATED_AT
  LAST_ACTIVITY_AT
  "Unscored leads sort as the lowest score."
  SCORE
}

input LeadOrder {
  field: LeadOrderField! = CAPTURED_AT
  direction: SortDirection! = DESC
}

extend type Contact {
  "The lead this contact was converted from."
  convertedFromLead: Lead
}
`;

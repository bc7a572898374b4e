/** SDL of the contacts area: Contact, its connection and filters, its timeline. */
export const typeDefs = /* GraphQL */ `
extend type Query {
  "One contact of the caller's tenant, or null (unknown id, or an id of another tenant)."
  contact(id: ID!): Contact
  "Contacts of the caller's tenant, filtered and ordered (default: most recently updated first)."
  contacts(filter: ContactFilter, orderBy: ContactOrder, first: Int, after: String, last: Int, before: String): ContactConnection!
}

enum ContactStatus {
  ACTIVE
  "Merged into a survivor (mergedInto); read-only."
  MERGED
  "Erased (GDPR): personal fields read \\"[erased]\\"."
  ERASED
}

"""
A contact. Personal fields (firstName, lastName, email, phone, customFields, the timeline's summary and
outcome) are masked for callers without the read:personal permission (analyst), e.g. a***@example.com,
and read "[erased]" once the contact's data subject is erased (GDPR).
"""
type Contact {
  id: ID!
  firstName: String
  lastName: String
  email: String
  phone: String
  company: String
  title: String
  tags: [String!]!
  customFields: JSON
  status: ContactStatus!
  "True once the data subject was erased (GDPR)."
  erased: Boolean!
  "The survivor this contact was merged into."
  mergedInto: Contact
  mergedAt: DateTime
  createdAt: DateTime!
  updatedAt: DateTime!
  lastInteractionAt: DateTime
  erasedAt: DateTime
  "Stream revision of the contact this row reflects."
  revision: Int!
  "Global position of the last event applied to this row (a decimal string)."
  position: String!
  "The contact's timeline, newest first (by occurredAt: a back-dated interaction sorts where it belongs)."
  timeline(first: Int = 20, types: [String!]): [TimelineEntry!]!
}

type ContactConnection {
  edges: [ContactEdge!]!
  nodes: [Contact!]!
  pageInfo: PageInfo!
  "Counted only when selected."
  totalCount: Int!
}

type ContactEdge {
  cursor: String!
  node: Contact!
}

input ContactFilter {
  status: [ContactStatus!]
  "Contacts carrying every one of these tags."
  tags: [String!]
  "Contacts carrying at least one of these tags."
  anyTags: [String!]
  "Company, case-insensitive exact match."
  company: String
  "Email, case-insensitive exact match (needs read:personal)."
  email: String
  createdAfter: DateTime
  createdBefore: DateTime
  updatedAfter: DateTime
  updatedBefore: DateTime
  "No interaction logged since this instant (never interacted counts)."
  noInteractionSince: DateTime
}

enum ContactOrderField {
  CREATED_AT
  UPDATED_AT
  LAST_INTERACTION_AT
}

input ContactOrder {
  field: ContactOrderField! = UPDATED_AT
  direction: SortDirection! = DESC
}

"One entry of a contact's timeline (interactions, consent, deals, merges, erasure)."
type TimelineEntry {
  "contact_created, interaction, deal_stage_moved, consent_granted, … (schemas/read-models/postgres/timelines.ts)."
  type: String!
  eventType: String!
  eventId: ID!
  occurredAt: DateTime!
  recordedAt: DateTime!
  actorId: String!
  "The related entity (a deal, a lead, the other contact of a merge)."
  relatedId: ID
  "Non-personal facts of the entry."
  details: JSON!
  "Personal free text (an interaction's summary)."
  summary: String
  outcome: String
  position: String!
}
`;

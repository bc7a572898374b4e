const META = `
  "The instant asked for."
  at: DateTime!
  """
  The aggregate's status as its decider knew it then, upper-cased (contact: ACTIVE, MERGED, ERASED; lead:
  NEW, QUALIFIED, NURTURING, LOST, CONVERTED, ERASED; deal: OPEN, WON, LOST; budget: OPEN, CLOSED).
  """
  status: String!
  "When the first event of the stream occurred, and the last one folded."
  createdAt: DateTime!
  updatedAt: DateTime!
  "Revision and global position (decimal string) of the last event folded."
  revision: Int!
  position: String!
  "Some event folded was read with the subject's key destroyed: personal values read \\"[erased]\\"."
  erased: Boolean!
  "The whole state the write side's decider held at that instant, as JSON (the typed fields are a view of it)."
  state: JSON!`;

export const typeDefs = /* GraphQL */ `
"A contact as of an instant: the contact stream's events up to it, folded by the contact decider."
type ContactAsOf {
  id: ID!
${META}
  firstName: String
  lastName: String
  email: String
  phone: String
  company: String
  title: String
  tags: [String!]!
  customFields: JSON
  "The survivor, once merged."
  mergedInto: ID
}

"A lead as of an instant. The lead decider keeps no contact details (see auditTrail's data for those)."
type LeadAsOf {
  id: ID!
${META}
  ownerId: String
  "Budget, authority, need, timeline as last qualified."
  bant: JSON
  lostReason: String
  convertedContactId: ID
  convertedDealId: ID
}

"A deal as of an instant."
type DealAsOf {
  id: ID!
${META}
  contactId: ID
  ownerId: String
  pipeline: String
  stage: String
  probability: Int
  value: Money
  lostReason: String
}

type BudgetAsOfAllocation {
  campaign: String!
  amount: Money!
}

"A budget as of an instant."
type BudgetAsOf {
  id: ID!
${META}
  amount: Money
  periodStart: Date
  periodEnd: Date
  allocations: [BudgetAsOfAllocation!]!
  spent: Money
  thresholdsReached: [Int!]!
}

extend type Query {
  """
  The state as of \`at\`: the stream's events that occurred at or before \`at\` (the events' occurredAt), folded
  with the write side's own deciders. null before the entity existed, for an unknown id, and for another
  tenant's id (logged). Auditor, dpo and admin only.
  """
  contactAsOf(id: ID!, at: DateTime!): ContactAsOf
  leadAsOf(id: ID!, at: DateTime!): LeadAsOf
  dealAsOf(id: ID!, at: DateTime!): DealAsOf
  budgetAsOf(id: ID!, at: DateTime!): BudgetAsOf
}
`;

/** SDL of the consents area: a data subject's consent per purpose. */
export const typeDefs = /* GraphQL */ `
extend type Query {
  "The consents of a data subject (a contact or a lead) of the caller's tenant, one per purpose ever recorded."
  consents(subjectId: ID!): [Consent!]!
}

enum ConsentStatus {
  GRANTED
  WITHDRAWN
}

"""
The current consent of one data subject for one purpose. \`source\` is personal (free text: masked for
analysts, "[erased]" after erasure).
"""
type Consent {
  subjectId: ID!
  "contact or lead (null when only a withdrawal was ever recorded before the subject was known)."
  subjectType: String
  purpose: String!
  status: ConsentStatus!
  "Granted and not erased: what an outbound marketing interaction checks."
  active: Boolean!
  lawfulBasis: String
  source: String
  noticeVersion: String
  grantedAt: DateTime
  withdrawnAt: DateTime
  changedAt: DateTime!
  erasedAt: DateTime
  revision: Int!
  position: String!
}

extend type Contact {
  "The contact's consents, one per purpose."
  consents: [Consent!]!
}

extend type Lead {
  "The lead's consents, one per purpose."
  consents: [Consent!]!
}
`;

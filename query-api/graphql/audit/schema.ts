export const typeDefs = /* GraphQL */ `
"""
One event of an entity's history, as the event store holds it. Readable by auditor, dpo and admin only
(AUTH_ERR_FORBIDDEN otherwise). Personal values are shown in clear to them; once the data subject was
erased they read "[erased]" and are flagged.
"""
type AuditEvent {
  "Event type (ContactCreated, DealStageMoved, …)."
  type: String!
  "When the command that produced it was decided (the event's occurredAt)."
  occurredAt: DateTime!
  "Global position in the event store (a decimal string: 64-bit); X-Consistent-With takes such a value."
  position: String!
  "The stream (contact-<id>, consent-<id>, …) and the event's revision in it."
  streamId: String!
  revision: Int!
  actor: AuditActor!
  correlationId: String!
  causationId: String!
  """
  The fields of the aggregate's state this event changed, before → after (the write side's own fold run
  before and after the event). Fields the aggregate does not keep (a lead's contact details, an
  interaction's summary) appear in \`data\`, not here.
  """
  changes: [FieldChange!]!
  "The event's payload (personal values in clear, or \\"[erased]\\")."
  data: JSON!
  "The data subject was erased: personal values read \\"[erased]\\"."
  erased: Boolean!
  "Paths in \`data\` that read as erased."
  erasedFields: [String!]!
}

type AuditActor {
  userId: String!
  roles: [String!]!
}

"One field of the aggregate's state an event changed. \`null\` means absent."
type FieldChange {
  "Dotted path in the state: company, value.amountMinor, allocations.spring, grants.sms.lawfulBasis."
  field: String!
  before: JSON
  after: JSON
  "The value reads \\"[erased]\\" (the subject's key was destroyed)."
  erased: Boolean!
}

type AuditEventEdge {
  cursor: String!
  node: AuditEvent!
}

type AuditEventConnection {
  edges: [AuditEventEdge!]!
  pageInfo: PageInfo!
}

extend type Query {
  """
  Every event of the entity with this id, oldest first: its own stream and its consent stream (a contact
  or lead id is also a data subject id). Auditor, dpo and admin only. Another tenant's id reads as an
  empty trail (and is logged as a security event).
  """
  auditTrail(entityId: ID!, first: Int = 50, after: String): AuditEventConnection!
}
`;

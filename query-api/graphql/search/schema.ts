/** SDL of the search area (SPEC "GraphQL": `search(text, types, first): [SearchResult!]!`). */
export const typeDefs = /* GraphQL */ `
extend type Query {
  """
  Contacts, leads and deals of the caller's tenant whose name, email or company matches \`text\`, best match
  first. Tolerates a typo ("Jonh Smiht" finds John Smith) and a partial word ("smi", "acm"); an email can be
  typed from its start. Merged duplicates and erased subjects are never found. Any text is accepted (it is
  normalised; nothing usable answers []). Callers without read:personal (analysts) get masked results and
  are matched on business text only (companies, job titles, deal names), so a hit never confirms a name or
  an email. Elasticsearch when configured, else PostgreSQL full-text + trigram search: same results.
  """
  search(text: String!, types: [SearchType!], first: Int = 20): [SearchResult!]!
}

enum SearchType {
  CONTACT
  LEAD
  DEAL
}

"A search hit: the entity itself, as \`contact(id)\`, \`lead(id)\` or \`deal(id)\` would answer it."
union SearchResult = Contact | Lead | Deal
`;

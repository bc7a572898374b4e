/**
 * The search read model's document: one per contact, lead and deal, the same in every store (the
 * Elasticsearch indices `contacts`, `leads`, `deals` and the embedded adapter's `search_documents` table),
 * so both search adapters answer the same suite over the same documents.
 *
 * - Every document carries its tenant; every search filters on it inside the query.
 * - `state` says whether it is findable: only `active` documents are. A merged duplicate (`merged`, pointing
 *   at its survivor) and an erased subject (`erased`, personal fields null) stay as tombstones, so a late
 *   or redelivered older event can never bring them back (their version is the newest position).
 * - `position` is the global position of the last event folded into it: Elasticsearch's external version.
 * - Personal values (`firstName`, `lastName`, a lead's `name`, `email`) are stored as the exact values the
 *   events carried, leaf by leaf, so the erasure scanner (which matches whole values) can prove they are gone.
 *   Searchable full names are derived from them by the store (ES `copy_to`, a generated column in SQL).
 */
export const searchKinds = ['contact', 'lead', 'deal'] as const;
export type SearchKind = (typeof searchKinds)[number];

export const searchStates = ['active', 'merged', 'erased'] as const;
export type SearchState = (typeof searchStates)[number];

export interface SearchDocument {
  readonly tenantId: string;
  readonly kind: SearchKind;
  readonly id: string;
  readonly state: SearchState;
  /** Contacts: personal (the erasure nulls them). */
  readonly firstName: string | null;
  readonly lastName: string | null;
  /** A lead's name (personal) or a deal's name (business text); null for contacts (see first/last name). */
  readonly name: string | null;
  /** Personal (contacts, leads). */
  readonly email: string | null;
  readonly company: string | null;
  readonly title: string | null;
  /** The entity's own status: contact active/merged/erased, lead New…Converted, deal open/won/lost. */
  readonly status: string;
  /** Deals: the contact; leads: the contact they were converted into. */
  readonly contactId: string | null;
  /** Contacts merged into a survivor. */
  readonly mergedInto: string | null;
  /** Global position of the last event folded in (the document's version). */
  readonly position: number;
  readonly updatedAt: string;
}

/** The personal fields of a search document: nulled by erasure, searched by the erasure scanner. */
export const searchPersonalFields = ['firstName', 'lastName', 'email'] as const satisfies readonly (keyof SearchDocument)[];
/** A lead's `name` is personal too; a deal's is business text (deals carry no personal data). */
export const personalFieldsOf = (kind: SearchKind): readonly (keyof SearchDocument)[] =>
  kind === 'lead' ? [...searchPersonalFields, 'name'] : kind === 'contact' ? searchPersonalFields : [];

/** The full name a contact is found by. */
export const displayName = (d: Pick<SearchDocument, 'firstName' | 'lastName' | 'name'>): string | null =>
  d.name ?? ([d.firstName, d.lastName].filter((x) => x !== null && x !== '').join(' ') || null);

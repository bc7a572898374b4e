import type { SearchKind } from '../search/documents.js';

/**
 * The Elasticsearch read model: aliases `contacts`, `leads`, `deals` over versioned indices
 * (`contacts_v3` = generation 3, GUIDE rule 9), rebuilt blue-green by creating the next generation's three
 * indices and moving the three aliases in ONE `_aliases` call. Readers only ever name the aliases.
 *
 * `prefix` namespaces a deployment (or a test) on a shared cluster: `t42_contacts` → `t42_contacts_v1`.
 */
export const searchAliases = { contact: 'contacts', lead: 'leads', deal: 'deals' } as const satisfies Record<SearchKind, string>;

export const aliasOf = (kind: SearchKind, prefix = ''): string => `${prefix}${searchAliases[kind]}`;
export const indexOf = (kind: SearchKind, generation: number, prefix = ''): string => `${aliasOf(kind, prefix)}_v${generation}`;
/**
 * A document's `_id`: tenant and entity id, length-prefixed so no two pairs collide. The tenant is part of
 * the key, so the same entity id in two tenants (imports, tests) are two documents, never one overwritten.
 */
export const documentIdOf = (tenantId: string, id: string): string => `${tenantId.length}:${tenantId}:${id}`;

/** Every generation's index of a kind (`contacts_v*`): erasure and its scanner reach building and retired ones too. */
export const allGenerationsOf = (kind: SearchKind, prefix = ''): string => `${aliasOf(kind, prefix)}_v*`;

/** The kind an index or alias name belongs to (a search hit names its concrete index). */
export function kindOfIndex(index: string, prefix = ''): SearchKind | undefined {
  for (const [kind, alias] of Object.entries(searchAliases) as [SearchKind, string][]) {
    const name = `${prefix}${alias}`;
    if (index === name || index.startsWith(`${name}_v`)) return kind;
  }
  return undefined;
}

/** Mapping changes need a new generation (a rebuild): bump the model version with them. */
const text = {
  type: 'text',
  // `index_prefixes` indexes each term's 1-10 character prefixes, so a partial word ("smi", "acm") is a
  // term lookup, not a scan of the term dictionary. Core Elasticsearch (no analysis-common needed).
  index_prefixes: { min_chars: 1, max_chars: 10 },
  // The exact value, lower-cased by the built-in `lowercase` normalizer: exact and prefix matches on the
  // whole value (an email prefix "jsmith@ac", a company "acme corporation").
  fields: { keyword: { type: 'keyword', normalizer: 'lowercase', ignore_above: 512 } },
} as const;
const keyword = { type: 'keyword' } as const;
/** Stored in `_source` (the scanner and a rebuild read it), searched only through `name`. */
const copiedToName = { type: 'keyword', index: false, doc_values: false, copy_to: 'name' } as const;

export const searchIndexMappings = {
  // A typo in a field name must fail the write, not create an unsearchable field.
  dynamic: 'strict',
  properties: {
    tenantId: keyword,
    kind: keyword,
    id: keyword,
    state: keyword,
    status: keyword,
    firstName: copiedToName,
    lastName: copiedToName,
    name: text,
    email: text,
    company: text,
    title: { type: 'text' },
    contactId: keyword,
    mergedInto: keyword,
    position: { type: 'long' },
    updatedAt: { type: 'date' },
  },
} as const;

export const searchIndexSettings = {
  number_of_shards: 1,
  // One node here; a cluster raises it. A replica is not needed for correctness: a rebuild recreates all.
  number_of_replicas: 0,
  // External versions of deleted documents are kept this long (a late event within it cannot resurrect a
  // deleted document). We never delete a document on an event (tombstones instead), so this is a margin.
  'index.gc_deletes': '1h',
} as const;

import type { SearchKind } from '../../schemas/read-models/search/documents.js';

/**
 * The search port (SPEC: GraphQL `search`, fuzzy over names, emails and companies, best match first).
 * Two adapters with the same semantics, chosen by configuration: Elasticsearch (ELASTICSEARCH_URL set,
 * elasticsearch.ts) and PostgreSQL full-text + pg_trgm in the read database (embedded default,
 * postgres.ts). Both pass one suite (suite.ts): the same queries find the same documents at the top.
 *
 * Guarantees of every adapter:
 * - only documents of `tenantId` are ever returned: the tenant is a filter INSIDE the store's query, never
 *   a post-filter (so a better-matching document of another tenant cannot even take a slot of `first`);
 * - only findable documents (state `active`: not merged away, not erased);
 * - best match first (score descending, ties by id so a page is stable);
 * - any text is accepted (NUL, lone surrogates, 10 000 characters, Lucene/regex/LIKE syntax): it is
 *   normalised (text.ts) and never reaches a query language unescaped; nothing usable → no hits, not an error.
 */
export interface SearchRequest {
  readonly tenantId: string;
  readonly text: string;
  /** Restrict to these kinds (default: all three). */
  readonly kinds?: readonly SearchKind[];
  /** How many hits (clamped to 1..MAX_SEARCH_FIRST; default DEFAULT_SEARCH_FIRST). */
  readonly first?: number;
  /**
   * Whether personal values (names of people, emails) are matched (default true). False for a caller who
   * may not read them (an analyst): masking the answer is not enough, because a hit for "jsmith@globex.com"
   * would confirm the email; such a caller's text is matched against business text only (companies, job
   * titles, deal names).
   */
  readonly matchPersonal?: boolean;
  /**
   * Read-your-writes (X-Consistent-With): everything the search model has checkpointed must be visible.
   * Elasticsearch makes writes searchable at its next refresh (1 s); with `fresh` the adapter refreshes the
   * aliases first. PostgreSQL is visible at commit already.
   */
  readonly fresh?: boolean;
}

export interface SearchHit {
  readonly kind: SearchKind;
  readonly id: string;
  /** Relevance; comparable within one answer only (adapters score differently). */
  readonly score: number;
}

export interface SearchPort {
  readonly adapter: 'elasticsearch' | 'postgres';
  search(request: SearchRequest): Promise<SearchHit[]>;
}

export const DEFAULT_SEARCH_FIRST = 20;
export const MAX_SEARCH_FIRST = 100;

export function clampFirst(first: number | undefined): number {
  if (first === undefined || !Number.isFinite(first)) return DEFAULT_SEARCH_FIRST;
  return Math.min(MAX_SEARCH_FIRST, Math.max(1, Math.trunc(first)));
}

/**
 * A tenant id no document can carry (NUL cannot be stored in PostgreSQL text; a lone surrogate cannot be
 * encoded in UTF-8): such a tenant owns nothing, so the adapters answer "no hits" without asking the store.
 * Tenant ids are compared exactly otherwise (`ACME` is not `acme`).
 */
export const tenantCanOwnDocuments = (tenantId: string): boolean =>
  tenantId !== '' && !tenantId.includes('\u0000') && (tenantId as string & { isWellFormed(): boolean }).isWellFormed();

export type { SearchKind };

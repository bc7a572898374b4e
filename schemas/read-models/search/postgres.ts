import type { SearchKind, SearchState } from './documents.js';

/**
 * The embedded search model in PostgreSQL/PGlite: view `search_documents` over the live generation's table
 * (blue-green like every PostgreSQL read model). One row per search document (documents.ts) kept as jsonb,
 * plus generated columns that the search reads and indexes: the lower-cased name, email and company, one
 * `search_text` with a pg_trgm GIN index (typo tolerance: word similarity), a `simple` tsvector with a
 * GIN index (whole and prefix words), and `business_text` (companies, titles, deal names: what a caller
 * without read:personal is matched against) with its own trigram index. The projector (projections/postgres/search) writes `doc` and
 * `position` only; PostgreSQL derives the rest, so the reader's columns can never disagree with the document.
 *
 * The DDL lives here, beside the view, because the search adapter's queries are written against these
 * exact generated columns and indexes (query-api/search/postgres.ts): reader and writer share one definition.
 */
export interface SearchDocumentRow {
  readonly tenant_id: string;
  readonly kind: SearchKind;
  readonly id: string;
  readonly doc: unknown;
  readonly position: bigint;
  readonly state: SearchState;
  readonly name: string;
  readonly email: string;
  readonly company: string;
  readonly search_text: string;
  readonly tsv: string;
  readonly business_text: string;
}

export const searchDocumentsView = {
  name: 'search_documents',
  columns: ['tenant_id', 'kind', 'id', 'doc', 'position', 'state', 'name', 'email', 'company', 'search_text', 'tsv', 'business_text'],
} as const satisfies { name: string; columns: readonly (keyof SearchDocumentRow)[] };

// Generated columns must be IMMUTABLE expressions: `||` and coalesce, not concat_ws (which is only stable).
const field = (f: string) => `coalesce(doc->>'${f}', '')`;
const fullName = `lower(coalesce(doc->>'name', ${field('firstName')} || ' ' || ${field('lastName')}))`;
const searchText = `lower(${fullName} || ' ' || ${field('email')} || ' ' || ${field('company')} || ' ' || ${field('title')})`;
/** What a caller without read:personal is matched against: companies, titles, deal names (never a person's name or email). */
const businessText = `lower(${field('company')} || ' ' || ${field('title')} || CASE WHEN kind = 'deal' THEN ' ' || ${field('name')} ELSE '' END)`;

/** CREATE statements of one generation's table `table` (and its indexes, named after it). */
export function searchDocumentsDdl(table: string, indexName: (suffix: string) => string): string {
  return `
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE TABLE ${table} (
  tenant_id   text   NOT NULL,
  kind        text   NOT NULL CHECK (kind IN ('contact', 'lead', 'deal')),
  id          text   NOT NULL,
  doc         jsonb  NOT NULL,
  position    bigint NOT NULL,
  state       text   GENERATED ALWAYS AS (doc->>'state') STORED,
  name        text   GENERATED ALWAYS AS (${fullName}) STORED,
  email       text   GENERATED ALWAYS AS (lower(${field('email')})) STORED,
  company     text   GENERATED ALWAYS AS (lower(${field('company')})) STORED,
  search_text text   GENERATED ALWAYS AS (${searchText}) STORED,
  tsv         tsvector GENERATED ALWAYS AS (to_tsvector('simple', ${searchText})) STORED,
  business_text text GENERATED ALWAYS AS (${businessText}) STORED,
  PRIMARY KEY (tenant_id, kind, id)
);
CREATE INDEX ${indexName('trgm_idx')} ON ${table} USING gin (search_text gin_trgm_ops);
CREATE INDEX ${indexName('tsv_idx')} ON ${table} USING gin (tsv);
CREATE INDEX ${indexName('business_trgm_idx')} ON ${table} USING gin (business_text gin_trgm_ops);
CREATE INDEX ${indexName('email_idx')} ON ${table} (tenant_id, email text_pattern_ops);
`;
}

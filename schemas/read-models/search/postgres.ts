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
 *
 * TYPOS go through the term dictionary `search_terms` (searchTermsDdl below), not through trigram similarity
 * over every document: the personal search text has no trigram index of its own any more.
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
CREATE INDEX ${indexName('tsv_idx')} ON ${table} USING gin (tsv);
CREATE INDEX ${indexName('business_trgm_idx')} ON ${table} USING gin (business_text gin_trgm_ops);
CREATE INDEX ${indexName('email_idx')} ON ${table} (tenant_id, email text_pattern_ops);
`;
}

/**
 * The term dictionary `search_terms`: per tenant, every distinct word of the fuzzy-matchable text (names,
 * companies, job titles; not emails, which are matched by prefix only, as on Elasticsearch) of the tenant's
 * ACTIVE documents, with how many of them carry it. A typo is matched against these words (pg_trgm, its own
 * small trigram index: the pg_trgm documentation's recipe for spelling suggestions), and the documents
 * are then found by the chosen words exactly, in the tsvector index; see query-api/search/postgres.ts.
 *
 * Maintained by a row trigger on the documents table, in the transaction of the document change, whatever
 * writes it (the projector's create / patch / redact, a bulk load, a test loader):
 * - the words of a document count only while it is `active`: a merge or an erasure takes all its words out;
 * - `refs` is the number of active documents of the tenant carrying the word; at 0 the row is deleted, so an
 *   erased person's surname that nobody else in the tenant carries is gone from the dictionary in the
 *   erasure's own transaction (the search model's scanner checks that no word outlives its documents);
 * - an update that leaves the words unchanged (most patches) touches nothing;
 * - per tenant: a word of another tenant is never a candidate (and the documents query filters on the
 *   tenant again), so no tenant's vocabulary shapes another's answers.
 * The terms are the lexemes `to_tsvector('simple', …)` makes of that text, so each is a lexeme of the
 * document's `tsv` too, and `tsv @@ 'term'::tsquery` finds exactly the documents that carry it.
 */
export interface SearchTermRow {
  readonly tenant_id: string;
  readonly term: string;
  readonly refs: number;
}
export const searchTermsView = { name: 'search_terms', columns: ['tenant_id', 'term', 'refs'] } as const satisfies {
  name: string;
  columns: readonly (keyof SearchTermRow)[];
};

/** The dictionary words of a documents-table row `r` (sorted, distinct): a text[] expression. */
export const termsOf = (r: string): string =>
  `tsvector_to_array(to_tsvector('simple', ${r}.name || ' ' || ${r}.company || ' ' || coalesce(${r}.doc->>'title', '')))`;

/**
 * CREATE statements of one generation's dictionary `terms` for documents table `docs`: the table, its trigram
 * index, the trigger function (one per generation: static SQL, so its plans are cached) and the trigger.
 * `DROP TABLE … CASCADE` of a generation drops its trigger but not its function (a function body is not a
 * dependency in PostgreSQL), so each new generation's DDL first drops the functions whose documents table is
 * gone: at most the last dropped generation's function (code, no data) waits for the next rebuild.
 */
export function searchTermsDdl(docs: string, terms: string, indexName: (suffix: string) => string): string {
  const fn = indexName('terms_fn');
  return `
DO $sweep$
DECLARE f text;
BEGIN
  FOR f IN SELECT format('%I.%I', n.nspname, p.proname) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE p.proname LIKE 'search\\_documents\\_%\\_terms\\_fn' AND to_regclass(format('%I.%I', n.nspname, left(p.proname, -9))) IS NULL
  LOOP
    EXECUTE 'DROP FUNCTION ' || f || '()';
  END LOOP;
END
$sweep$;
CREATE TABLE ${terms} (
  tenant_id text    NOT NULL,
  term      text    NOT NULL,
  refs      integer NOT NULL CHECK (refs > 0),
  PRIMARY KEY (tenant_id, term)
);
-- fastupdate off: new words go straight into the index. With the default pending list (flushed by a vacuum,
-- which an embedded database never runs) every lookup would scan the list word by word, and the planner,
-- seeing it, would rather compute the similarity of every word of the tenant.
CREATE INDEX ${indexName('terms_trgm_idx')} ON ${terms} USING gin (term gin_trgm_ops) WITH (fastupdate = off);
CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  gone text[] := '{}';
  came text[] := '{}';
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.state = 'active' THEN gone := ${termsOf('OLD')}; END IF;
  IF TG_OP <> 'DELETE' AND NEW.state = 'active' THEN came := ${termsOf('NEW')}; END IF;
  IF TG_OP = 'UPDATE' AND OLD.tenant_id = NEW.tenant_id THEN
    IF gone = came THEN RETURN NULL; END IF;
    SELECT ARRAY(SELECT unnest(gone) EXCEPT SELECT unnest(came)), ARRAY(SELECT unnest(came) EXCEPT SELECT unnest(gone)) INTO gone, came;
  END IF;
  IF cardinality(gone) > 0 THEN
    DELETE FROM ${terms} WHERE tenant_id = OLD.tenant_id AND term = ANY(gone) AND refs = 1;
    UPDATE ${terms} SET refs = refs - 1 WHERE tenant_id = OLD.tenant_id AND term = ANY(gone);
  END IF;
  IF cardinality(came) > 0 THEN
    INSERT INTO ${terms} AS t (tenant_id, term, refs) SELECT NEW.tenant_id, w, 1 FROM unnest(came) AS w
      ON CONFLICT (tenant_id, term) DO UPDATE SET refs = t.refs + 1;
  END IF;
  RETURN NULL;
END
$fn$;
CREATE TRIGGER ${indexName('terms_trg')} AFTER INSERT OR UPDATE OR DELETE ON ${docs} FOR EACH ROW EXECUTE FUNCTION ${fn}();
`;
}

/** The dictionary as it must be, recomputed from the documents (a bulk fill after a load; the tests' and the scanner's reference). */
export const searchTermsFromDocuments = (docs: string, tenantFilter = 'true'): string =>
  `SELECT d.tenant_id, w AS term, count(*)::int AS refs FROM ${docs} d, unnest(${termsOf('d')}) AS w WHERE d.state = 'active' AND ${tenantFilter} GROUP BY d.tenant_id, w`;

/** A term as a tsquery literal (exact lexeme, no normalisation): quotes doubled, backslashes escaped. */
export const tsLexeme = (term: string): string => `'${term.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

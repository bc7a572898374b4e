import type { SqlClient } from '../../platform/sql/client.js';
import { searchKinds } from '../../schemas/read-models/search/documents.js';
import { searchDocumentsView, searchTermsView, tsLexeme } from '../../schemas/read-models/search/postgres.js';
import { clampFirst, tenantCanOwnDocuments, type SearchHit, type SearchPort, type SearchRequest } from './port.js';
import { closestTerms, escapeLike, searchTerms, transpositions } from './text.js';

/**
 * The embedded search adapter: PostgreSQL full-text + pg_trgm over the `search_documents` view (PGlite in
 * `npm start`, or the read database's PostgreSQL), same semantics as Elasticsearch:
 * - typos: through the tenant's term dictionary (`search_terms`: the distinct words of names, companies
 *   and titles, schemas/read-models/search/postgres.ts): each query word is matched against the WORDS by
 *   trigram word similarity (`term %> word`, a small trigram index; threshold WORD_THRESHOLD for this
 *   transaction only), the closest words by edit distance are kept (closestTerms in text.ts: "jonh" →
 *   john, "smiht" → smith, as Elasticsearch's fuzzy query picks terms), and the documents carrying them
 *   come from the tsvector index exactly; candidates are scored by strict word similarity as before;
 * - partial words: `word:*` prefix lexemes on the `simple` tsvector (GIN index);
 * - an email prefix: `email LIKE 'x%'` (btree, text_pattern_ops) with a strong boost;
 * - the exact full name or company adds a bonus.
 * Tenant, kinds and `state = 'active'` are in the WHERE clause of every candidate query.
 *
 * BOUNDED WORK. Elasticsearch ranks only the best documents (block-max WAND); PostgreSQL would score every
 * candidate, and "smi" or "acme" has tens of thousands at a million contacts. So candidates come from
 * index-driven layers, each capped at CANDIDATES_PER_LAYER, and only their union is scored:
 *   exact: every word as a prefix lexeme (AND: "john:* & smith:*", the tsvector index), and the text as
 *          an email prefix (the btree);
 *   fuzzy: only when the exact layers found nothing (a typo): the dictionary words close to each query
 *          word (one small query), then the documents carrying a chosen word for EVERY query word
 *          (AND of ORs in the tsvector index); then for ANY word, only when that found nothing either.
 *          Trigram similarity is never computed over the documents to find them (at 1M contacts that
 *          was the slow part: short trigrams such as " jo" are in a large share of all names).
 * The cap makes a very common term return SOME of its equally good matches, not a scan: an exact or
 * prefix match of every word outranks any fuzzy one, so fuzzy work is spent only where it can matter.
 */
export interface PostgresSearchOptions {
  /** pg_trgm word-similarity threshold for candidates (default 0.3: one typo in a four-letter word is 0.4). */
  readonly wordThreshold?: number;
  /** Candidates per layer before scoring (default 200). */
  readonly candidatesPerLayer?: number;
}

const WORD_THRESHOLD = 0.3;
const CANDIDATES_PER_LAYER = 200;
/** Dictionary words considered per query word (the most similar first), before the edit-distance choice. */
const SHORTLIST = 200;

export function postgresSearch(sql: SqlClient, options: PostgresSearchOptions = {}): SearchPort {
  const threshold = options.wordThreshold ?? WORD_THRESHOLD;
  if (!(threshold > 0 && threshold <= 1)) throw new RangeError('wordThreshold must be in (0, 1]');
  const cap = options.candidatesPerLayer ?? CANDIDATES_PER_LAYER;
  if (!Number.isInteger(cap) || cap < 1) throw new RangeError('candidatesPerLayer must be a positive integer');
  const view = searchDocumentsView.name;
  const dictionary = searchTermsView.name;
  return {
    adapter: 'postgres',
    async search(request: SearchRequest): Promise<SearchHit[]> {
      const terms = searchTerms(request.text);
      if (terms.text === '' || !tenantCanOwnDocuments(request.tenantId)) return [];
      const kinds = request.kinds && request.kinds.length > 0 ? [...new Set(request.kinds)] : [...searchKinds];
      const params: unknown[] = [request.tenantId, kinds, terms.text, `${escapeLike(terms.text)}%`, clampFirst(request.first)];
      const p = (value: unknown): string => {
        params.push(value);
        return `$${params.length}`;
      };
      const words = terms.words.map((w) => p(w));
      const personal = request.matchPersonal !== false;
      // A caller without read:personal is matched against business text only (port.ts: matchPersonal).
      const text = personal ? 'd.search_text' : 'd.business_text';
      // A text with an "@" is an email being typed: the email prefix alone finds it exactly (its prefix
      // lexemes, "ac:*", would each match a large share of every email's domain part).
      const typingEmail = personal && terms.text.includes('@');
      const or = personal && terms.lexemes.length > 0 ? p(terms.lexemes.map((l) => `${l}:*`).join(' | ')) : undefined;
      /** `params` and, after them, the parameters of one query only (every parameter a query is sent must appear in it). */
      const own = (...values: unknown[]) => {
        const list = [...params, ...values];
        return { list, ref: (i: number) => `$${params.length + 1 + i}` };
      };

      const scope = `d.tenant_id = $1 AND d.state = 'active' AND d.kind = ANY($2::text[])`;
      const score = [
        ...words.map((w) => `strict_word_similarity(${w}, ${text})`),
        ...(or ? [`ts_rank(d.tsv, to_tsquery('simple', ${or}))`] : []),
        ...(personal
          ? [
              `CASE WHEN d.email <> '' AND d.email LIKE $4 THEN 2 ELSE 0 END`,
              `CASE WHEN d.name = $3 OR d.company = $3 THEN 1 ELSE 0 END`,
              `CASE WHEN d.name LIKE $4 OR d.company LIKE $4 THEN 0.5 ELSE 0 END`,
            ]
          : [`CASE WHEN d.company = $3 OR (d.kind = 'deal' AND d.name = $3) THEN 1 ELSE 0 END`, `CASE WHEN ${text} LIKE $4 THEN 0.5 ELSE 0 END`]),
      ];
      /**
       * One layer of candidates, scored as they are read (the heap row is at hand: no second lookup by key).
       * Only the LIMIT's rows are scored: the projection runs below the Limit node.
       */
      const layer = (condition: string, limit = cap) =>
        `(SELECT d.kind, d.id, (${score.join(' + ')}) AS score FROM ${view} d WHERE ${scope} AND ${condition} LIMIT ${limit})`;
      /** The best `first` of the candidates `c` (a CTE chain ending in `c`); a document found by two layers once. */
      const ranked = (ctes: string) => `
        WITH ${ctes}
        SELECT c.kind, c.id, max(c.score)::float8 AS score FROM c GROUP BY c.kind, c.id ORDER BY 3 DESC, c.id LIMIT $5`;
      type Row = { kind: SearchHit['kind']; id: string; score: number };

      // SET LOCAL: the lowered threshold lives and dies with this transaction, never leaks to a pooled connection.
      const rows = await sql.transaction(async (tx) => {
        // enable_seqscan off: the dictionary is small enough that the planner would rather compute trigram
        // similarity for every word of the tenant than use its trigram index (tens of ms at a thousand words).
        await tx.query(`SELECT set_config('pg_trgm.word_similarity_threshold', $1, true), set_config('enable_seqscan', 'off', true)`, [String(threshold)]);
        if (!personal) {
          // Business text (companies, titles, deal names) has no dictionary: few words per document, and an
          // analyst's search is not on the latency target. Trigram word similarity on its own index, all
          // words first, then any word.
          const all = layer(words.map((w) => `${text} %> ${w}`).join(' AND '));
          const any = words.length > 1 ? layer(`(${words.map((w) => `${text} %> ${w}`).join(' OR ')})`) : undefined;
          const ctes = `b AS MATERIALIZED (SELECT * FROM ${all} f),
            c AS (SELECT * FROM b${any ? ` UNION ALL SELECT * FROM ${any} f WHERE NOT EXISTS (SELECT 1 FROM b)` : ''})`;
          return (await tx.query<Row>(ranked(ctes), params)).rows;
        }
        // 1. Exact words, prefixes and the email prefix: index lookups, no similarity computed.
        const prefixes = !typingEmail && terms.lexemes.length > 0 ? own(terms.lexemes.map((l) => `${l}:*`).join(' & ')) : undefined;
        const exact = [...(prefixes ? [layer(`d.tsv @@ to_tsquery('simple', ${prefixes.ref(0)})`)] : []), layer(`d.email LIKE $4`, 50)];
        const found = (await tx.query<Row>(ranked(`c AS (${exact.join('\n UNION ALL ')})`), prefixes?.list ?? params)).rows;
        // An exact or prefix match of every word outranks any fuzzy one: fuzzy work only for a typo.
        if (found.length > 0) return found;
        // 2. A typo: the dictionary words close to each query word (a small table, its own trigram index).
        // The tenant is filtered after the trigram lookup (OFFSET 0 keeps it out of the subquery): on the
        // tenant's key index instead, PostgreSQL would compute the similarity of every word of the tenant.
        const variants = terms.words.flatMap((w, i) => transpositions(w).map((v) => [v, i + 1] as const));
        const near = (
          await tx.query<{ i: number; term: string }>(
            `SELECT w.i::int AS i, t.term
               FROM unnest($2::text[]) WITH ORDINALITY AS w(word, i)
               CROSS JOIN LATERAL (
                 SELECT t.term FROM (SELECT t.tenant_id, t.term FROM ${dictionary} t WHERE t.term %> w.word OFFSET 0) t
                  WHERE t.tenant_id = $1
                  ORDER BY similarity(w.word, t.term) DESC, t.term
                  LIMIT ${SHORTLIST}) t
             UNION ALL
             SELECT v.i, t.term FROM unnest($3::text[], $4::int[]) AS v(term, i) JOIN ${dictionary} t ON t.tenant_id = $1 AND t.term = v.term`,
            [request.tenantId, terms.words, variants.map(([v]) => v), variants.map(([, i]) => i)],
          )
        ).rows;
        const chosen = terms.words.map((w, i) => closestTerms(w, near.filter((r) => r.i === i + 1).map((r) => r.term)));
        const anyWord = [...new Set(chosen.flat())];
        if (anyWord.length === 0) return [];
        // 3. The documents carrying a chosen word for every query word, else for any: exact lexemes, tsvector index.
        const orOf = (ts: readonly string[]) => `(${ts.map(tsLexeme).join(' | ')})`;
        const matching = (ref: string) => layer(`d.tsv @@ ${ref}::tsquery`);
        let q: ReturnType<typeof own>;
        let ctes: string;
        if (chosen.every((c) => c.length > 0) && chosen.length > 1) {
          q = own(chosen.map(orOf).join(' & '), orOf(anyWord));
          ctes = `b AS MATERIALIZED (SELECT * FROM ${matching(q.ref(0))} f),
             c AS (SELECT * FROM b UNION ALL SELECT * FROM ${matching(q.ref(1))} f WHERE NOT EXISTS (SELECT 1 FROM b))`;
        } else {
          q = own(orOf(anyWord));
          ctes = `c AS (SELECT * FROM ${matching(q.ref(0))} f)`;
        }
        return (await tx.query<Row>(ranked(ctes), q.list)).rows;
      });
      return rows.map((r) => ({ kind: r.kind, id: r.id, score: Number(r.score) }));
    },
  };
}

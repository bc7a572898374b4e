import type { SqlClient } from '../../platform/sql/client.js';
import { searchKinds } from '../../schemas/read-models/search/documents.js';
import { searchDocumentsView } from '../../schemas/read-models/search/postgres.js';
import { clampFirst, tenantCanOwnDocuments, type SearchHit, type SearchPort, type SearchRequest } from './port.js';
import { escapeLike, searchTerms } from './text.js';

/**
 * The embedded search adapter: PostgreSQL full-text + pg_trgm over the `search_documents` view (PGlite in
 * `npm start`, or the read database's PostgreSQL), same semantics as Elasticsearch:
 * - typos: word similarity per query word (`search_text %> word`, trigram GIN index, threshold lowered
 *   to WORD_THRESHOLD for this transaction only), scored by strict word similarity, so "jonh" still
 *   reaches "john" and "smiht" ranks "smith" above "smithers";
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
 *   fuzzy: every word by trigram word similarity (AND: a bitmap AND of the words on the trigram index),
 *          run only when the exact layers found nothing (a typo); then any word (OR), only when that
 *          found nothing either.
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

export function postgresSearch(sql: SqlClient, options: PostgresSearchOptions = {}): SearchPort {
  const threshold = options.wordThreshold ?? WORD_THRESHOLD;
  if (!(threshold > 0 && threshold <= 1)) throw new RangeError('wordThreshold must be in (0, 1]');
  const cap = options.candidatesPerLayer ?? CANDIDATES_PER_LAYER;
  if (!Number.isInteger(cap) || cap < 1) throw new RangeError('candidatesPerLayer must be a positive integer');
  const view = searchDocumentsView.name;
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
      const and = personal && !typingEmail && terms.lexemes.length > 0 ? p(terms.lexemes.map((l) => `${l}:*`).join(' & ')) : undefined;
      const or = personal && terms.lexemes.length > 0 ? p(terms.lexemes.map((l) => `${l}:*`).join(' | ')) : undefined;

      const scope = `d.tenant_id = $1 AND d.state = 'active' AND d.kind = ANY($2::text[])`;
      const layer = (condition: string, limit = cap) => `(SELECT d.tenant_id, d.kind, d.id FROM ${view} d WHERE ${scope} AND ${condition} LIMIT ${limit})`;
      // Exact words, prefixes and the email prefix: cheap (tsvector and btree lookups, no similarity computed).
      const exact = [...(and ? [layer(`d.tsv @@ to_tsquery('simple', ${and})`)] : []), ...(personal ? [layer(`d.email LIKE $4`, 50)] : [])];
      // Typos: trigram word similarity (costly per row): only when the exact layers do not fill the answer.
      const fuzzyAll = layer(words.map((w) => `${text} %> ${w}`).join(' AND '));
      // Any word (OR): the widest and costliest scan, only when no document is close on every word.
      const fuzzyAny = words.length > 1 ? layer(`(${words.map((w) => `${text} %> ${w}`).join(' OR ')})`) : undefined;
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
      // The fuzzy layers sit under a one-time filter: PostgreSQL does not run them at all when an exact or
      // prefix match exists (which would outrank any fuzzy one). Trigram candidates are the costly part at
      // scale (short trigrams such as " jo" are in a large share of all names), so they are for typos only.
      const query = `
        WITH a AS MATERIALIZED (${exact.length > 0 ? exact.join('\n UNION ') : `SELECT NULL::text AS tenant_id, NULL::text AS kind, NULL::text AS id WHERE false`}),
        b AS MATERIALIZED (SELECT * FROM ${fuzzyAll} f WHERE NOT EXISTS (SELECT 1 FROM a)),
        b2 AS (${fuzzyAny ? `SELECT * FROM ${fuzzyAny} f WHERE NOT EXISTS (SELECT 1 FROM a) AND NOT EXISTS (SELECT 1 FROM b)` : `SELECT * FROM b WHERE false`}),
        c AS (SELECT * FROM a UNION SELECT * FROM b UNION SELECT * FROM b2)
        SELECT d.kind, d.id, (${score.join(' + ')})::float8 AS score
          FROM c JOIN ${view} d ON d.tenant_id = c.tenant_id AND d.kind = c.kind AND d.id = c.id
         ORDER BY score DESC, d.id
         LIMIT $5`;
      // SET LOCAL: the lowered threshold lives and dies with this transaction, never leaks to a pooled connection.
      const rows = await sql.transaction(async (tx) => {
        await tx.query(`SELECT set_config('pg_trgm.word_similarity_threshold', $1, true)`, [String(threshold)]);
        return (await tx.query<{ kind: SearchHit['kind']; id: string; score: number }>(query, params)).rows;
      });
      return rows.map((r) => ({ kind: r.kind, id: r.id, score: Number(r.score) }));
    },
  };
}

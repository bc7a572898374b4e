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
 * Tenant, kinds and `state = 'active'` are in the WHERE clause of the one query.
 */
export interface PostgresSearchOptions {
  /** pg_trgm word-similarity threshold for candidates (default 0.3: one typo in a four-letter word is 0.4). */
  readonly wordThreshold?: number;
}

const WORD_THRESHOLD = 0.3;

export function postgresSearch(sql: SqlClient, options: PostgresSearchOptions = {}): SearchPort {
  const threshold = options.wordThreshold ?? WORD_THRESHOLD;
  if (!(threshold > 0 && threshold <= 1)) throw new RangeError('wordThreshold must be in (0, 1]');
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
      const tsq = personal && terms.lexemes.length > 0 ? p(terms.lexemes.map((l) => `${l}:*`).join(' | ')) : undefined;
      const candidates = [
        ...words.map((w) => `${text} %> ${w}`),
        ...(tsq ? [`d.tsv @@ to_tsquery('simple', ${tsq})`] : []),
        ...(personal ? [`(d.email <> '' AND d.email LIKE $4)`] : []),
      ];
      const score = [
        ...words.map((w) => `strict_word_similarity(${w}, ${text})`),
        ...(tsq ? [`ts_rank(d.tsv, to_tsquery('simple', ${tsq}))`] : []),
        ...(personal
          ? [
              `CASE WHEN d.email <> '' AND d.email LIKE $4 THEN 2 ELSE 0 END`,
              `CASE WHEN d.name = $3 OR d.company = $3 THEN 1 ELSE 0 END`,
              `CASE WHEN d.name LIKE $4 OR d.company LIKE $4 THEN 0.5 ELSE 0 END`,
            ]
          : [`CASE WHEN d.company = $3 OR (d.kind = 'deal' AND d.name = $3) THEN 1 ELSE 0 END`, `CASE WHEN ${text} LIKE $4 THEN 0.5 ELSE 0 END`]),
      ];
      const query = `
        SELECT d.kind, d.id, (${score.join(' + ')})::float8 AS score
          FROM ${view} d
         WHERE d.tenant_id = $1 AND d.state = 'active' AND d.kind = ANY($2::text[])
           AND (${candidates.join(' OR ')})
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

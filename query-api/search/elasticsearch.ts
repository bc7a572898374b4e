import type { Client } from '@elastic/elasticsearch';
import { aliasOf } from '../../schemas/read-models/elasticsearch/indices.js';
import { searchKinds, type SearchKind } from '../../schemas/read-models/search/documents.js';
import { clampFirst, tenantCanOwnDocuments, type SearchHit, type SearchPort, type SearchRequest } from './port.js';
import { searchTerms } from './text.js';

/**
 * The Elasticsearch search adapter: one request over the aliases of the requested kinds. Everything the
 * integ-test server has in core (no analysis-common, no painless):
 * - typos: `multi_match` with `fuzziness: AUTO` (Damerau: a transposition is one edit, so "Jonh Smiht"
 *   reaches "John Smith");
 * - partial words: `bool_prefix` on fields with `index_prefixes` ("smi" → Smith, "acm" → ACME);
 * - an email prefix: `prefix` on the lower-cased keyword subfield ("jsmith@ac");
 * - whole phrases and exact values score higher than fuzzy ones (`bool` should clauses add up), so the
 *   exact match is first.
 * The tenant, the kinds and `state: active` are `bool.filter` clauses of the same query: filtering happens
 * inside the index, before scoring and before `size`.
 */
export interface ElasticsearchSearchOptions {
  /** Alias prefix (ELASTICSEARCH_INDEX_PREFIX). */
  readonly prefix?: string;
}

export function elasticsearchSearch(client: Client, options: ElasticsearchSearchOptions = {}): SearchPort {
  const prefix = options.prefix ?? '';
  return {
    adapter: 'elasticsearch',
    async search(request: SearchRequest): Promise<SearchHit[]> {
      const { text } = searchTerms(request.text);
      const kinds = request.kinds && request.kinds.length > 0 ? [...new Set(request.kinds)] : [...searchKinds];
      if (text === '' || !tenantCanOwnDocuments(request.tenantId)) return [];
      const index = kinds.map((k) => aliasOf(k, prefix)).join(',');
      if (request.fresh) await client.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
      const response = await client.search<{ kind: SearchKind; id: string }>({
        index,
        // A kind whose alias does not exist yet (nothing projected) is no hits, not an error.
        ignore_unavailable: true,
        allow_no_indices: true,
        size: clampFirst(request.first),
        track_total_hits: false,
        _source: ['kind', 'id'],
        query: request.matchPersonal === false ? businessQuery(request.tenantId, kinds, text) : searchQuery(request.tenantId, kinds, text),
        sort: [{ _score: { order: 'desc' } }, { id: { order: 'asc' } }],
      });
      return response.hits.hits.flatMap((h) => (h._source ? [{ kind: h._source.kind, id: h._source.id, score: h._score ?? 0 }] : []));
    },
  };
}

/** The query body (exported for the benchmark and the tests' explain output). */
export function searchQuery(tenantId: string, kinds: readonly SearchKind[], text: string) {
  // A text with an "@" is an email being typed: its prefix is exact and cheap; fuzzy matching its pieces
  // ("james.smith123", "ac") would cost the most and add nothing (the embedded adapter does the same).
  if (text.includes('@')) {
    return {
      bool: {
        filter: [{ term: { tenantId } }, { term: { state: 'active' } }, { terms: { kind: [...kinds] } }],
        should: [{ prefix: { 'email.keyword': { value: text, boost: 5 } } }, { match_bool_prefix: { email: { query: text } } }],
        minimum_should_match: 1,
      },
    };
  }
  return {
    bool: {
      filter: [{ term: { tenantId } }, { term: { state: 'active' } }, { terms: { kind: [...kinds] } }],
      should: [
        // Typos, word by word, best field wins.
        {
          multi_match: {
            query: text,
            // Not the email: its terms are unique per document (a million of them at a million contacts), so a
            // fuzzy expansion there is costly and finds nothing a prefix does not; emails are found by prefix.
            fields: ['name^3', 'company^2', 'title'],
            type: 'best_fields' as const,
            fuzziness: 'AUTO',
            fuzzy_transpositions: true,
            prefix_length: 0,
            max_expansions: 50,
          },
        },
        // Partial last word (and whole earlier words), via the index_prefixes subfields.
        { multi_match: { query: text, fields: ['name^2', 'company^2', 'email'], type: 'bool_prefix' as const } },
        // The words in order: the exact name or company outranks a fuzzy neighbour.
        { multi_match: { query: text, fields: ['name^3', 'company^2'], type: 'phrase' as const, boost: 2 } },
        // An email typed from its start.
        // An email typed from its start. The text is lower-cased already (text.ts) and so is the keyword
        // (normalizer): a plain prefix, a seek in the term dictionary (case_insensitive would walk it all).
        { prefix: { 'email.keyword': { value: text, boost: 5 } } },
      ],
      minimum_should_match: 1,
    },
  };
}

/**
 * The query for a caller who may not read personal values: companies, job titles and deal names only
 * (a lead's or contact's name and every email are never matched), same typo and prefix tolerance.
 */
export function businessQuery(tenantId: string, kinds: readonly SearchKind[], text: string) {
  const fuzzy = (fields: string[]) => ({ multi_match: { query: text, fields, type: 'best_fields' as const, fuzziness: 'AUTO', fuzzy_transpositions: true, prefix_length: 0, max_expansions: 50 } });
  const prefix = (fields: string[]) => ({ multi_match: { query: text, fields, type: 'bool_prefix' as const } });
  const phrase = (fields: string[]) => ({ multi_match: { query: text, fields, type: 'phrase' as const, boost: 2 } });
  const business = ['company^2', 'title'];
  return {
    bool: {
      filter: [{ term: { tenantId } }, { term: { state: 'active' } }, { terms: { kind: [...kinds] } }],
      should: [
        fuzzy(business),
        prefix(['company^2']),
        phrase(['company^2']),
        // A deal's name is business text; a contact's or lead's name is not searched here.
        { bool: { filter: [{ term: { kind: 'deal' } }], should: [fuzzy(['name^3']), prefix(['name^2']), phrase(['name^3'])], minimum_should_match: 1 } },
      ],
      minimum_should_match: 1,
    },
  };
}

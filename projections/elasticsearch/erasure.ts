import type { Client } from '@elastic/elasticsearch';
import { matchLeaves, type PersonalDataScanner, type ScanFinding, type ScanResult, type ScanTarget } from '../../platform/pii/scanner.js';
import { allGenerationsOf } from '../../schemas/read-models/elasticsearch/indices.js';
import { personalFieldsOf, searchKinds, type SearchDocument } from '../../schemas/read-models/search/documents.js';
import { redactionPatch } from '../search/documents.js';

/**
 * GDPR for the Elasticsearch search model. Erasure normally arrives as events (`ContactErased`,
 * `LeadErased`, `SubjectErased`), which the projector folds into a redacted tombstone. These two functions
 * are the direct path and its proof, over EVERY generation's indices (`contacts_v*`: the live one, a
 * building rebuild, a retired one not yet dropped), for one tenant:
 * - `redactSubjectDocuments` nulls the personal fields of the subjects' own documents (external_gte at the
 *   stored version: the version does not move, a newer event still wins, erasure only removes data);
 * - the scanner reads every document of the tenant that mentions a subject (its id, a deal's contact, a
 *   merged duplicate's survivor) and matches every string leaf of `_source` against the erased values.
 * Documents that do not mention the subject are not searched: a common value (a first name) in another
 * subject's document is that subject's data (the same rule as the PostgreSQL scanner).
 */
const MAX_DOCS = 10_000;

function mentioning(prefix: string, tenantId: string, subjectIds: readonly string[]) {
  return {
    index: searchKinds.map((k) => allGenerationsOf(k, prefix)).join(','),
    ignore_unavailable: true,
    allow_no_indices: true,
    size: MAX_DOCS,
    version: true,
    query: {
      bool: {
        filter: [{ term: { tenantId } }],
        should: [{ terms: { id: [...subjectIds] } }, { terms: { contactId: [...subjectIds] } }, { terms: { mergedInto: [...subjectIds] } }],
        minimum_should_match: 1,
      },
    },
  };
}

export async function redactSubjectDocuments(
  client: Client,
  options: { prefix: string; tenantId: string; subjectIds: readonly string[]; refresh?: boolean | 'wait_for' | undefined },
): Promise<{ redacted: number }> {
  if (options.subjectIds.length === 0) return { redacted: 0 };
  const own = new Set(options.subjectIds);
  // Search is near-real-time: refresh first, so documents written a moment ago (and an earlier redaction) are seen.
  await client.indices.refresh({ index: searchKinds.map((k) => allGenerationsOf(k, options.prefix)).join(','), ignore_unavailable: true, allow_no_indices: true });
  const r = await client.search<SearchDocument>({ ...mentioning(options.prefix, options.tenantId, options.subjectIds), seq_no_primary_term: false });
  const ops = r.hits.hits.flatMap((h) => {
    const doc = h._source;
    if (!doc || !own.has(doc.id) || !personalFieldsOf(doc.kind).some((f) => doc[f] !== null)) return [];
    return [{ index: { _index: h._index, _id: h._id!, version: h._version!, version_type: 'external_gte' as const } }, { ...doc, ...redactionPatch(doc.kind) }];
  });
  if (ops.length === 0) return { redacted: 0 };
  const b = await client.bulk({ operations: ops, ...(options.refresh ? { refresh: options.refresh } : {}) });
  // 409: a newer event rewrote the document meanwhile; it went through the projector's own erasure rule.
  const failed = b.items.filter((i) => i.index && i.index.status >= 300 && i.index.status !== 409);
  if (failed.length > 0) throw new Error(`elasticsearch: redaction of ${failed.length} document(s) failed: ${failed[0]!.index!.error?.reason ?? failed[0]!.index!.status}`);
  return { redacted: ops.length / 2 };
}

export function elasticsearchPiiScanner(client: Client, options: { prefix: string; store: string }): PersonalDataScanner {
  const { store } = options;
  return {
    store,
    async scan(target: ScanTarget): Promise<ScanResult> {
      const findings: ScanFinding[] = [];
      if (target.subjectIds.length === 0) return { store, found: 0, findings, examined: 0 };
      // Refreshed first: a redaction written a moment ago must be what the certificate sees.
      await client.indices.refresh({ index: searchKinds.map((k) => allGenerationsOf(k, options.prefix)).join(','), ignore_unavailable: true, allow_no_indices: true });
      const r = await client.search<SearchDocument>(mentioning(options.prefix, target.tenantId, target.subjectIds));
      const total = typeof r.hits.total === 'number' ? r.hits.total : (r.hits.total?.value ?? 0);
      for (const h of r.hits.hits) {
        for (const [field, value] of Object.entries(h._source ?? {})) {
          matchLeaves(target.matcher, value, (valueHash) => findings.push({ location: `${h._index}/${h._id}.${field}`, valueHash }));
        }
      }
      const incomplete = total > r.hits.hits.length ? `more than ${MAX_DOCS} documents mention the subjects; only the first ${MAX_DOCS} were scanned` : undefined;
      return { store, found: findings.length, findings, examined: r.hits.hits.length, ...(incomplete ? { incomplete } : {}) };
    },
  };
}

import type { SqlExecutor } from '../../../platform/sql/client.js';
import type { ScanFinding, ScanTarget } from '../../../platform/pii/scanner.js';
import type { SqlStatement, Tables } from '../../kernel/projection.js';
import type { EventEnvelope } from '../../../schemas/events/registry.js';
import { searchDocumentsDdl, searchDocumentsView, searchTermsDdl, searchTermsView } from '../../../schemas/read-models/search/postgres.js';
import { changesOf, fold, patchOfErased, redactionPatch, searchEventTypes, type DocumentChange } from '../../search/documents.js';
import { indexName, physicalNames, statement, type PostgresReadModel } from '../sql.js';

/**
 * Read model `search` (the embedded search adapter's documents): the search projector's changes
 * (projections/search/documents.ts) as jsonb statements with the same position rule as the Elasticsearch
 * model, so both stores hold the same documents.
 *
 * - create: only when no row exists (ON CONFLICT DO NOTHING);
 * - patch: only a newer position (`WHERE position < $pos`); an erased document keeps its personal fields null;
 * - redact: a missing document becomes a tombstone; an existing one loses its personal fields whatever its
 *   position (the version moves forward only).
 *
 * The term dictionary `search_terms` (the typo path's words, schemas/read-models/search/postgres.ts) follows
 * the documents through a trigger, in the same transaction: these statements never write it themselves.
 *
 * Started by the composition root when ELASTICSEARCH_URL is unset (Elasticsearch replaces it then).
 */
const TABLES = [searchDocumentsView.name, searchTermsView.name] as const;

function ddl(tables: Tables): string {
  const { search_documents: t, search_terms: terms } = physicalNames(tables, TABLES);
  return searchDocumentsDdl(t, (suffix) => indexName(t, suffix)) + searchTermsDdl(t, terms, (suffix) => indexName(t, suffix));
}

function toStatement(t: string, change: DocumentChange): SqlStatement {
  const { tenantId, kind, id } = change.key;
  switch (change.op) {
    case 'create':
      return statement(
        `INSERT INTO ${t} (tenant_id, kind, id, doc, position) VALUES ($1, $2, $3, $4::jsonb, $5::bigint)
         ON CONFLICT (tenant_id, kind, id) DO NOTHING`,
        [tenantId, kind, id, JSON.stringify(change.doc), change.position],
      );
    case 'patch':
      return statement(
        `UPDATE ${t} SET
           doc = doc || (CASE WHEN doc->>'state' = 'erased' THEN $4::jsonb ELSE $5::jsonb END) || jsonb_build_object('position', $6::bigint, 'updatedAt', $7::text),
           position = $6::bigint
         WHERE tenant_id = $1 AND kind = $2 AND id = $3 AND position < $6::bigint`,
        [tenantId, kind, id, JSON.stringify(patchOfErased(kind, change.patch)), JSON.stringify(change.patch), change.position, change.updatedAt],
      );
    case 'redact': {
      const tombstone = fold(undefined, change)!;
      return statement(
        `INSERT INTO ${t} AS d (tenant_id, kind, id, doc, position) VALUES ($1, $2, $3, $4::jsonb, $5::bigint)
         ON CONFLICT (tenant_id, kind, id) DO UPDATE SET
           doc = d.doc || $6::jsonb
                 || CASE WHEN d.position < EXCLUDED.position THEN jsonb_build_object('position', EXCLUDED.position, 'updatedAt', $7::text) ELSE '{}'::jsonb END,
           position = greatest(d.position, EXCLUDED.position)`,
        [tenantId, kind, id, JSON.stringify(tombstone), change.position, JSON.stringify(redactionPatch(kind)), change.updatedAt],
      );
    }
  }
}

function project(event: EventEnvelope, tables: Tables): readonly SqlStatement[] {
  const { search_documents: t } = physicalNames(tables, TABLES);
  return changesOf(event).map((c) => toStatement(t, c));
}

/**
 * The dictionary part of the erasure certificate. A dictionary row holds a word, not a subject id, so the
 * generic scanner (rows that mention the subject) never reads it. The guarantee is structural instead:
 * every word of the tenant's dictionary must be carried by at least one ACTIVE document of the tenant
 * (whose personal values are that other subject's data, like a common first name in another row). A word
 * no live document carries is a word the trigger failed to forget, maybe an erased person's surname: each
 * is a finding, attributed to the subject when the matcher recognises it (as stored, or capitalised), and
 * counted even when it does not, because the certificate must not pass over a leaked word it cannot name.
 */
async function scanDictionary(sql: SqlExecutor, tables: Tables, target: ScanTarget): Promise<{ findings: ScanFinding[]; examined: number }> {
  const { search_documents: docs, search_terms: terms } = physicalNames(tables, TABLES);
  const { rows } = await sql.query<{ term: string; carried: boolean }>(
    `SELECT t.term, EXISTS (
        SELECT 1 FROM ${docs} d
         WHERE d.tenant_id = t.tenant_id AND d.state = 'active'
           AND d.tsv @@ ('''' || replace(replace(t.term, '\\', '\\\\'), '''', '''''') || '''')::tsquery
      ) AS carried
       FROM ${terms} t WHERE t.tenant_id = $1`,
    [target.tenantId],
  );
  const findings: ScanFinding[] = [];
  for (const { term, carried } of rows) {
    if (carried) continue;
    const capitalised = term.charAt(0).toUpperCase() + term.slice(1);
    const hash = target.matcher.match(term) ?? target.matcher.match(capitalised) ?? 'unattributed';
    findings.push({ location: `search_terms.term (no live document carries it)`, valueHash: hash });
  }
  return { findings, examined: rows.length };
}

export const pgSearchProjection: PostgresReadModel = {
  name: 'search',
  // 2: the term dictionary (and no trigram index over every document's text).
  version: 2,
  tables: TABLES,
  eventTypes: searchEventTypes,
  // The whole document: personal values are leaves of it (the scanner reads every string leaf anyway).
  // The dictionary's words include people's names (counted per tenant, removed with their last document).
  personalColumns: { search_documents: ['doc'], search_terms: ['term'] },
  ddl,
  project,
  scanLive: scanDictionary,
};

import type { SqlStatement, Tables } from '../../kernel/projection.js';
import type { EventEnvelope } from '../../../schemas/events/registry.js';
import { searchDocumentsDdl, searchDocumentsView } from '../../../schemas/read-models/search/postgres.js';
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
 * Started by the composition root when ELASTICSEARCH_URL is unset (Elasticsearch replaces it then).
 */
const TABLES = [searchDocumentsView.name] as const;

function ddl(tables: Tables): string {
  const { search_documents: t } = physicalNames(tables, TABLES);
  return searchDocumentsDdl(t, (suffix) => indexName(t, suffix));
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

export const pgSearchProjection: PostgresReadModel = {
  name: 'search',
  version: 1,
  tables: TABLES,
  eventTypes: searchEventTypes,
  // The whole document: personal values are leaves of it (the scanner reads every string leaf anyway).
  personalColumns: { search_documents: ['doc'] },
  ddl,
  project,
};

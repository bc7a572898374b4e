import { randomUUID } from 'node:crypto';
import { openElasticsearch } from '../../platform/elasticsearch/client.js';
import { openPglite, pgliteClient } from '../../platform/sql/client.js';
import { requireEnv } from '../../platform/testing/require-env.js';
import { controlledTarget } from '../../projections/kernel/controlled.js';
import { elasticsearchModel } from '../../projections/elasticsearch/model.js';
import { elasticsearchSearch } from '../../query-api/search/elasticsearch.js';
import { searchPipelineSuite } from './testing.js';

// Elasticsearch for the data; the control plane (checkpoint, revision guard) in a fresh in-memory PGlite,
// so this test never meets another run's bookkeeping in the shared read database.
searchPipelineSuite('Elasticsearch (controlled target, control tables in PGlite)', async () => {
  const client = openElasticsearch(requireEnv('ELASTICSEARCH_URL'));
  const sql = pgliteClient(await openPglite());
  const prefix = `t${randomUUID().slice(0, 8)}_`;
  const model = elasticsearchModel({ client, prefix });
  return {
    target: controlledTarget(sql, model),
    port: elasticsearchSearch(client, { prefix }),
    visible: async () => {
      await client.indices.refresh({ index: `${prefix}*` });
    },
    close: async () => {
      await client.indices.delete({ index: `${prefix}*`, ignore_unavailable: true, allow_no_indices: true }).catch(() => undefined);
      await client.close();
      await sql.close();
    },
  };
});

import { randomUUID } from 'node:crypto';
import { openElasticsearch } from '../../platform/elasticsearch/client.js';
import { requireEnv } from '../../platform/testing/require-env.js';
import { elasticsearchSearch } from './elasticsearch.js';
import { dropElasticsearchPrefix, loadElasticsearchDocuments, otherTenantOf, searchSuite, suiteDocuments } from './testing.js';

// The Elasticsearch adapter on the real server (`annals stack`: the integ-test distribution, core only).
searchSuite('Elasticsearch', async () => {
  const client = openElasticsearch(requireEnv('ELASTICSEARCH_URL'));
  const prefix = `t${randomUUID().slice(0, 8)}_`;
  const tenant = `tenant-${prefix}`;
  await loadElasticsearchDocuments(client, prefix, suiteDocuments(tenant, otherTenantOf(tenant)));
  return {
    port: elasticsearchSearch(client, { prefix }),
    tenant,
    close: async () => {
      await dropElasticsearchPrefix(client, prefix);
      await client.close();
    },
  };
});

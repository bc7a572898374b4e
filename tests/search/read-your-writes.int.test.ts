import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@elastic/elasticsearch';
import { openElasticsearch } from '../../platform/elasticsearch/client.js';
import { requireEnv } from '../../platform/testing/require-env.js';
import { elasticsearchModel } from '../../projections/elasticsearch/model.js';
import { History, searchHistory, searchIds } from '../../projections/search/testing.js';
import { elasticsearchSearch } from '../../query-api/search/elasticsearch.js';

/**
 * Read-your-writes on Elasticsearch: a document the model has written (and the runtime checkpointed) is
 * not searchable before the index refreshes; a search with `fresh` (what GraphQL passes when the request
 * carries X-Consistent-With) refreshes first, so it finds it at once. Automatic refresh is switched off
 * here, so the test does not depend on timing.
 */
describe('Elasticsearch search: fresh reads (X-Consistent-With)', () => {
  let client: Client;
  const prefix = `t${randomUUID().slice(0, 8)}_`;
  before(() => {
    client = openElasticsearch(requireEnv('ELASTICSEARCH_URL'));
  });
  after(async () => {
    await client.indices.delete({ index: `${prefix}*`, ignore_unavailable: true, allow_no_indices: true }).catch(() => undefined);
    await client.close();
  });

  it('a written document is found by a fresh search at once, and not before a refresh otherwise', async () => {
    const model = elasticsearchModel({ client, prefix });
    await model.createGeneration(1);
    await model.swap(1, undefined);
    await client.indices.putSettings({ index: `${prefix}*`, settings: { refresh_interval: '-1' } });
    const h = new History();
    searchHistory(h, 'tenant-a');
    await model.write(1, h.events);
    const port = elasticsearchSearch(client, { prefix });
    assert.deepEqual(await port.search({ tenantId: 'tenant-a', text: 'Jonh Smiht' }), [], 'not searchable before a refresh');
    const fresh = await port.search({ tenantId: 'tenant-a', text: 'Jonh Smiht', fresh: true });
    assert.equal(fresh[0]?.id, searchIds.john);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openPglite, pgliteClient, type SqlClient } from '../../../platform/sql/client.js';
import type { SearchDocument } from '../../../schemas/read-models/search/documents.js';
import { foldAll, twoTenantSearchHistory } from '../../search/testing.js';
import { openReadModel } from '../testing.js';
import { pgSearchProjection } from './projection.js';

/**
 * The embedded search table holds exactly the documents the pure projector folds (the same documents as
 * Elasticsearch), whatever the delivery: in order, every event twice, or the history replayed again
 * backwards after it (late, out-of-order redeliveries).
 */
describe('search read model (PostgreSQL/PGlite)', () => {
  let db: SqlClient;
  let rm: Awaited<ReturnType<typeof openReadModel>>;
  before(async () => {
    db = pgliteClient(await openPglite());
    rm = await openReadModel(pgSearchProjection, db);
  });
  after(() => db.close());
  const order = (a: SearchDocument, b: SearchDocument) => (keyOf(a) < keyOf(b) ? -1 : 1);
  const keyOf = (d: SearchDocument) => `${d.tenantId}/${d.kind}/${d.id}`;
  const { events } = twoTenantSearchHistory();
  const expected = [...foldAll(events).values()].sort(order);

  const documents = async (events: Parameters<Awaited<ReturnType<typeof openReadModel>>['replay']>[0], deliverTwice = false) => {
    const g = await rm.replay(events, { deliverTwice });
    const rows = await g.rows('search_documents');
    return rows.map((r) => r.doc as SearchDocument).sort(order);
  };

  it('holds the pure projector\'s documents (same as Elasticsearch), with position = the document version', async () => {
    const docs = await documents(events);
    assert.deepEqual(docs, expected);
  });

  it('duplicates and late, out-of-order redeliveries leave the table unchanged', async () => {
    assert.deepEqual(await documents(events, true), expected);
    assert.deepEqual(await documents([...events, ...events.slice().reverse()]), expected);
  });

  it('generated search columns follow the document (lower-cased name/email/company; erased documents hold no personal value)', async () => {
    const g = await rm.replay(events);
    const rows = await g.rows('search_documents');
    const john = rows.find((r) => (r.doc as SearchDocument).firstName === 'John' && r.tenant_id === 'tenant-a')!;
    assert.deepEqual([john.name, john.email, john.company, john.state], ['john smith', 'john@globex.example', 'acme corporation', 'active']);
    for (const r of rows.filter((r) => r.state === 'erased')) {
      assert.ok(!/ripley|ellen|kyle|reese/i.test(JSON.stringify(r)), `erased row still holds a personal value: ${JSON.stringify(r)}`);
    }
  });
});

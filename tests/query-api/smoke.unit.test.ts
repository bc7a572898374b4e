import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { History, uuid } from '../../projections/postgres/testing.js';
import { openReadModels, openTestApi, type ReadModels, type TestApi } from './testing.js';

describe('query api smoke', () => {
  let rm: ReadModels;
  let t: TestApi;
  before(async () => {
    rm = await openReadModels();
    const h = new History({ tenantId: 'tenant-a' });
    h.append(`contact-${uuid(1, 'c')}`, 'ContactCreated', { contactId: uuid(1, 'c'), firstName: 'Alice', lastName: 'Smith', email: 'alice@example.com', customFields: {}, tags: ['vip'] });
    await rm.apply(h.events);
    t = await openTestApi(rm.sql);
  });
  after(async () => {
    await t?.close();
    await rm?.close();
  });
  it('contact(id)', async () => {
    const r = await t.gql(`{ contact(id: "${uuid(1, 'c')}") { id firstName email tags status } me { tenantId } }`);
    console.log(JSON.stringify(r.body));
    assert.equal(r.status, 200);
    assert.equal(r.body.data.contact.email, 'alice@example.com');
  });
});

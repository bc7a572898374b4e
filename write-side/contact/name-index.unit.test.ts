import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CommandEnvelope } from '../kernel/handle-command.js';
import { bearer, send, testApp, testConfig, token, type TestApp } from '../testing.js';
import { indexName, nameKey, nameMatch } from './name-index.js';

describe('name + company index', () => {
  let t: TestApp;
  let h: Record<string, string>;
  // The key the app under test hashes with.
  const deps = () => ({ store: t.store, key: testConfig().emailHashKey });
  const envelope: CommandEnvelope = { tenantId: 'tenant-a', actor: { userId: 'u', roles: ['sales'] }, correlationId: 'c', causationId: 'c' };
  before(async () => {
    t = await testApp();
    h = bearer(await token({ roles: ['manager'] }));
  });
  after(() => t.close());

  const create = async (body: Record<string, unknown>) => {
    const res = await send(t.app, 'POST', '/api/v1/contacts', body, h);
    assert.equal(res.statusCode, 201, res.body);
    return String(res.json().id);
  };

  it('normalizes case, accents composition and spacing; no company, no key', () => {
    assert.deepEqual(nameKey({ firstName: ' Ada ', lastName: 'LOVELACE', company: 'Analytical   Engines' }), nameKey({ firstName: 'ada', lastName: 'lovelace', company: 'analytical engines' }));
    assert.notDeepEqual(nameKey({ firstName: 'Ada', lastName: 'L', company: 'X' }), nameKey({ firstName: 'Ada', lastName: 'L', company: 'Y' }));
    assert.equal(nameKey({ firstName: 'Ada', lastName: 'Lovelace' }), undefined);
  });

  it('the routes keep it current: create indexes, a company change moves the entry, a merge removes it', async () => {
    const a = await create({ firstName: 'Grace', lastName: 'Hopper', company: 'Navy' });
    assert.equal(await nameMatch(deps(), 'tenant-a', { firstName: 'grace', lastName: 'hopper', company: 'NAVY' }), a);
    assert.equal(await nameMatch(deps(), 'tenant-b', { firstName: 'Grace', lastName: 'Hopper', company: 'Navy' }), undefined, 'per tenant');

    assert.equal((await send(t.app, 'PATCH', `/api/v1/contacts/${a}`, { company: 'Remington Rand' }, h)).statusCode, 200);
    assert.equal(await nameMatch(deps(), 'tenant-a', { firstName: 'Grace', lastName: 'Hopper', company: 'Navy' }), undefined);
    assert.equal(await nameMatch(deps(), 'tenant-a', { firstName: 'Grace', lastName: 'Hopper', company: 'Remington Rand' }), a);

    // Not unique: a second contact with the same name and company is created, and the oldest matches.
    const b = await create({ firstName: 'Grace', lastName: 'Hopper', company: 'Remington Rand' });
    assert.equal(await nameMatch(deps(), 'tenant-a', { firstName: 'Grace', lastName: 'Hopper', company: 'Remington Rand' }), a);
    assert.equal((await send(t.app, 'POST', `/api/v1/contacts/${a}/merge`, { survivorId: b }, h)).statusCode, 200);
    assert.equal(await nameMatch(deps(), 'tenant-a', { firstName: 'Grace', lastName: 'Hopper', company: 'Remington Rand' }), b);
  });

  it('an entry whose contact never got created is ignored; indexing twice appends once', async () => {
    const fields = { firstName: 'Nobody', lastName: 'Here', company: 'Ghost Inc' };
    const ghost = '01900000-0000-7000-8000-0000000000aa';
    assert.equal(await indexName(deps(), envelope, fields, ghost, new Date()), true);
    assert.equal(await indexName(deps(), envelope, fields, ghost, new Date()), false);
    assert.equal(await nameMatch(deps(), 'tenant-a', fields), undefined);
  });

  it('an entry whose contact was renamed since is ignored, and found again once the name comes back', async () => {
    const a = await create({ firstName: 'Hedy', lastName: 'Lamarr', company: 'MGM' });
    const fields = { firstName: 'Hedy', lastName: 'Lamarr', company: 'MGM' };
    assert.equal((await send(t.app, 'PATCH', `/api/v1/contacts/${a}`, { lastName: 'Markey' }, h)).statusCode, 200);
    assert.equal(await nameMatch(deps(), 'tenant-a', fields), undefined, 'the old entry is still in the index, but no longer matches');
    assert.equal((await send(t.app, 'PATCH', `/api/v1/contacts/${a}`, { lastName: 'Lamarr' }, h)).statusCode, 200);
    assert.equal(await nameMatch(deps(), 'tenant-a', fields), a);
  });

  it('name parts are a tuple: a separator inside one part never matches another split', async () => {
    const a = await create({ firstName: 'Jean Luc', lastName: 'Picard', company: 'Starfleet' });
    assert.equal(await nameMatch(deps(), 'tenant-a', { firstName: 'Jean Luc', lastName: 'Picard', company: 'Starfleet' }), a);
    assert.equal(await nameMatch(deps(), 'tenant-a', { firstName: 'Jean', lastName: 'Luc Picard', company: 'Starfleet' }), undefined);
  });
});

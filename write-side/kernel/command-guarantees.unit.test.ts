import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { bearer, send, testApp, token, type TestApp } from '../testing.js';

/**
 * Guarantees of the command shell seen through the HTTP API (app.inject on PGlite): an absent aggregate
 * is 404 on every non-create command, with or without If-Match (never "409 at revision -1"), and
 * Idempotency-Keys are scoped by an unambiguous (tenant, key) tuple.
 */
describe('command API: absent aggregates and idempotency-key scope', () => {
  let t: TestApp;
  before(async () => {
    t = await testApp();
  });
  after(() => t.close());

  const money = { amountMinor: 100, currency: 'EUR' };
  const commands: ReadonlyArray<readonly [method: 'POST' | 'PATCH', path: string, body: unknown, code: string]> = [
    ['POST', 'leads/:id/assign', { ownerId: 'o' }, 'LEAD_ERR_NOT_FOUND'],
    ['POST', 'leads/:id/status', { status: 'Nurturing' }, 'LEAD_ERR_NOT_FOUND'],
    ['POST', 'leads/:id/score', { score: 10, factors: [{ name: 'fit', points: 10 }] }, 'LEAD_ERR_NOT_FOUND'],
    ['POST', 'leads/:id/convert', {}, 'LEAD_ERR_NOT_FOUND'],
    ['PATCH', 'contacts/:id', { title: 'CTO', email: 'nobody@example.com' }, 'CONTACT_ERR_NOT_FOUND'],
    ['POST', 'contacts/:id/interactions', { kind: 'note', channel: 'other', summary: 's' }, 'CONTACT_ERR_NOT_FOUND'],
    ['POST', 'deals/:id/stage', { stage: 'proposal' }, 'DEAL_ERR_NOT_FOUND'],
    ['POST', 'deals/:id/value', { value: money }, 'DEAL_ERR_NOT_FOUND'],
    ['POST', 'deals/:id/win', {}, 'DEAL_ERR_NOT_FOUND'],
    ['POST', 'budgets/:id/allocations', { campaign: 'c', amount: money }, 'BUDGET_ERR_NOT_FOUND'],
    ['POST', 'budgets/:id/close', {}, 'BUDGET_ERR_NOT_FOUND'],
  ];

  for (const [method, path, body, code] of commands) {
    it(`${method} /${path} on an id that does not exist → 404 ${code}, with and without If-Match`, async () => {
      const h = bearer(await token({ roles: ['admin'] }));
      for (const ifMatch of [undefined, '"0"', '"-1"', '"7"']) {
        const id = uuidv7();
        const res = await send(t.app, method, `/api/v1/${path.replace(':id', id)}`, body, ifMatch === undefined ? h : { ...h, 'if-match': ifMatch });
        assert.equal(res.statusCode, 404, `If-Match ${ifMatch}: ${res.body}`);
        assert.equal(res.json().code, code);
        assert.equal((await t.store.readStream(`${path.split('/')[0]!.slice(0, -1)}-${id}`)).length, 0, 'nothing appended');
      }
    });
  }

  it('withdrawing a consent that was never recorded answers the same with If-Match as without (422, not "409 at revision -1")', async () => {
    const h = bearer(await token({ roles: ['admin'] }));
    const subject = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'Subject' }, h);
    for (const ifMatch of [undefined, '"0"', '"4"']) {
      const res = await send(t.app, 'POST', `/api/v1/consents/${subject.json().id}/withdraw`, { purpose: 'sms', source: 'call' }, ifMatch ? { ...h, 'if-match': ifMatch } : h);
      assert.equal(res.statusCode, 422, res.body);
      assert.equal(res.json().code, 'CONSENT_ERR_NOT_GRANTED');
    }
  });

  it('merging a contact that does not exist → 404 (with If-Match too)', async () => {
    const h = bearer(await token({ roles: ['manager'] }));
    const survivor = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'S' }, h);
    for (const ifMatch of [undefined, '"3"']) {
      const res = await send(t.app, 'POST', `/api/v1/contacts/${uuidv7()}/merge`, { survivorId: survivor.json().id }, ifMatch ? { ...h, 'if-match': ifMatch } : h);
      assert.equal(res.statusCode, 404, res.body);
      assert.equal(res.json().code, 'CONTACT_ERR_NOT_FOUND');
    }
  });

  it('one Idempotency-Key in two tenants is two keys: both creates succeed, apart, and each replays in its own tenant', async () => {
    // Tenant ids are now restricted by the token check (no ":"), and the key is hashed with the tenant as a
    // tuple (kernel/stream-keys.ts), so "acme" + "x:k1" and "acme:x" + "k1" can never meet either way
    // (handle-command.unit.test.ts covers the tuple itself).
    const suffix = randomUUID().slice(0, 8);
    const first = bearer(await token({ tenant: `acme-${suffix}`, roles: ['sales'] }));
    const second = bearer(await token({ tenant: `globex-${suffix}`, roles: ['sales'] }));
    const a = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'A' }, { ...first, 'idempotency-key': 'x:k1' });
    const b = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'A' }, { ...second, 'idempotency-key': 'x:k1' });
    assert.equal(a.statusCode, 201, a.body);
    assert.equal(b.statusCode, 201, b.body);
    assert.notEqual(a.json().id, b.json().id);
    assert.equal(b.headers['idempotent-replayed'], undefined);
    const again = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'A' }, { ...second, 'idempotency-key': 'x:k1' });
    assert.equal(again.json().id, b.json().id);
    assert.equal(again.headers['idempotent-replayed'], 'true');
  });
});

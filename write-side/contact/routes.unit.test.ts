import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, send, testApp, token, type TestApp } from '../testing.js';

describe('contact routes', () => {
  let t: TestApp;
  let h: Record<string, string>;
  let manager: Record<string, string>;
  let n = 0;
  before(async () => {
    t = await testApp();
    h = bearer(await token({ roles: ['sales'] }));
    manager = bearer(await token({ roles: ['manager'], sub: 'boss' }));
  });
  after(() => t.close());

  const email = () => `person${++n}@example.com`;
  const create = async (body: Record<string, unknown> = {}, headers = h) => send(t.app, 'POST', '/api/v1/contacts', { firstName: 'Ada', lastName: 'Lovelace', ...body }, headers);
  const created = async (body: Record<string, unknown> = {}) => {
    const res = await create(body);
    assert.equal(res.statusCode, 201, res.body);
    return String(res.json().id);
  };
  const expectProblem = (res: Awaited<ReturnType<typeof send>>, status: number, code: string) => {
    assert.equal(res.statusCode, status, res.body);
    assert.equal(res.json().code, code);
  };

  it('creates, updates (changed fields only), logs an interaction', async () => {
    const id = await created({ email: email(), company: 'Analytical Engines', tags: ['vip'], customFields: { tier: 'gold' } });
    const patched = await send(t.app, 'PATCH', `/api/v1/contacts/${id}`, { title: 'Countess', company: 'Analytical Engines' }, h);
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal(patched.json().revision, '1');
    const events = await t.store.readStream(`contact-${id}`);
    assert.deepEqual(events[1]!.data, { contactId: id, title: 'Countess' });
    const same = await send(t.app, 'PATCH', `/api/v1/contacts/${id}`, { title: 'Countess' }, h);
    assert.equal(same.statusCode, 200);
    assert.equal(same.json().revision, '1', 'nothing new appends nothing');
    const logged = await send(t.app, 'POST', `/api/v1/contacts/${id}/interactions`, { kind: 'call', channel: 'phone', summary: 'intro', outcome: 'positive' }, h);
    assert.equal(logged.statusCode, 200, logged.body);
  });

  it('outbound marketing needs consent: 422 without, 200 after a grant, 422 again after withdrawal', async () => {
    const id = await created({ email: email() });
    const body = { kind: 'email', channel: 'email', summary: 'newsletter', direction: 'outbound', marketingPurpose: 'marketing_email' };
    expectProblem(await send(t.app, 'POST', `/api/v1/contacts/${id}/interactions`, body, h), 422, 'CONTACT_ERR_CONSENT_REQUIRED');
    const grant = await send(t.app, 'POST', `/api/v1/consents/${id}/grant`, { purpose: 'marketing_email', lawfulBasis: 'consent', source: 'signup form', noticeVersion: '2024-01' }, h);
    assert.equal(grant.statusCode, 200, grant.body);
    assert.equal((await send(t.app, 'POST', `/api/v1/contacts/${id}/interactions`, body, h)).statusCode, 200);
    assert.equal((await send(t.app, 'POST', `/api/v1/consents/${id}/withdraw`, { purpose: 'marketing_email', source: 'unsubscribe link' }, h)).statusCode, 200);
    expectProblem(await send(t.app, 'POST', `/api/v1/contacts/${id}/interactions`, body, h), 422, 'CONTACT_ERR_CONSENT_REQUIRED');
    expectProblem(await send(t.app, 'POST', `/api/v1/consents/${id}/withdraw`, { purpose: 'marketing_email', source: 'again' }, h), 422, 'CONSENT_ERR_NOT_GRANTED');
    expectProblem(await send(t.app, 'POST', `/api/v1/consents/01900000-0000-7000-8000-000000000001/grant`, { purpose: 'sms', lawfulBasis: 'consent', source: 's', noticeVersion: 'v1' }, h), 404, 'CONSENT_ERR_SUBJECT_NOT_FOUND');
  });

  it('email is unique among active contacts: a second create → 409 with the existing id (case-insensitive)', async () => {
    const e = email();
    const first = await created({ email: e });
    const second = await create({ email: e.toUpperCase() });
    expectProblem(second, 409, 'CONTACT_ERR_EMAIL_TAKEN');
    assert.equal(second.json().existingId, first);
    // Another tenant may use the same email.
    assert.equal((await create({ email: e }, bearer(await token({ tenant: 'tenant-b' })))).statusCode, 201);
    // Updating another contact to that email is refused too.
    const other = await created({ email: email() });
    const stolen = await send(t.app, 'PATCH', `/api/v1/contacts/${other}`, { email: e }, h);
    expectProblem(stolen, 409, 'CONTACT_ERR_EMAIL_TAKEN');
    assert.equal(stolen.json().existingId, first);
  });

  it('20 concurrent creates with one email → exactly one contact, the others 409 naming it', async () => {
    const e = email();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => create({ email: e, firstName: `Racer${i}` })));
    const winners = answers.filter((r) => r.statusCode === 201);
    assert.equal(winners.length, 1, answers.map((r) => r.statusCode).join(','));
    const winnerId = winners[0]!.json().id;
    for (const r of answers.filter((x) => x.statusCode !== 201)) {
      assert.equal(r.statusCode, 409, r.body);
      assert.equal(r.json().existingId, winnerId);
    }
  });

  it('an email freed by a change or a merge can be used again', async () => {
    const e1 = email();
    const a = await created({ email: e1 });
    assert.equal((await send(t.app, 'PATCH', `/api/v1/contacts/${a}`, { email: email() }, h)).statusCode, 200);
    await created({ email: e1 });

    const e2 = email();
    const duplicate = await created({ email: e2 });
    const survivor = await created({ email: email() });
    const merged = await send(t.app, 'POST', `/api/v1/contacts/${duplicate}/merge`, { survivorId: survivor }, manager);
    assert.equal(merged.statusCode, 200, merged.body);
    await created({ email: e2 });
    expectProblem(await send(t.app, 'PATCH', `/api/v1/contacts/${duplicate}`, { title: 'x' }, h), 422, 'CONTACT_ERR_MERGED');
  });

  it('merge: manager only (403), not into itself (422), survivor must exist in the tenant (404)', async () => {
    const a = await created({ email: email() });
    const b = await created({ email: email() });
    expectProblem(await send(t.app, 'POST', `/api/v1/contacts/${a}/merge`, { survivorId: b }, h), 403, 'AUTH_ERR_FORBIDDEN');
    expectProblem(await send(t.app, 'POST', `/api/v1/contacts/${a}/merge`, { survivorId: a }, manager), 422, 'CONTACT_ERR_MERGE_INTO_SELF');
    expectProblem(await send(t.app, 'POST', `/api/v1/contacts/${a}/merge`, { survivorId: '01900000-0000-7000-8000-000000000002' }, manager), 404, 'CONTACT_ERR_SURVIVOR_NOT_FOUND');
    const foreign = await create({ email: email() }, bearer(await token({ tenant: 'tenant-c' })));
    expectProblem(await send(t.app, 'POST', `/api/v1/contacts/${a}/merge`, { survivorId: foreign.json().id }, manager), 404, 'CONTACT_ERR_SURVIVOR_NOT_FOUND');
  });

  it('schema violations and unknown fields → 400 listing each', async () => {
    const res = await create({ firstName: '', email: 'nope', tags: 'vip', nickname: 'Ada', ssn: '1' });
    assert.equal(res.statusCode, 400);
    const paths = res.json<{ errors: { path: string }[] }>().errors.map((e) => e.path).sort();
    assert.deepEqual(paths, ['body.email', 'body.firstName', 'body.nickname', 'body.ssn', 'body.tags']);
    const id = await created();
    const patch = await send(t.app, 'PATCH', `/api/v1/contacts/${id}`, { emailAddress: 'x@example.com' }, h);
    assert.deepEqual(patch.json<{ errors: { path: string }[] }>().errors.map((e) => e.path), ['body.emailAddress']);
    assert.equal((await send(t.app, 'PATCH', `/api/v1/contacts/${id}`, '{', h)).statusCode, 400);
  });

  it('another tenant\'s contact → 404 CONTACT_ERR_NOT_FOUND on every route', async () => {
    const id = await created({ email: email() });
    const other = bearer(await token({ tenant: 'tenant-b', roles: ['admin'] }));
    expectProblem(await send(t.app, 'PATCH', `/api/v1/contacts/${id}`, { title: 'x' }, other), 404, 'CONTACT_ERR_NOT_FOUND');
    expectProblem(await send(t.app, 'POST', `/api/v1/contacts/${id}/interactions`, { kind: 'note', channel: 'other', summary: 'x' }, other), 404, 'CONTACT_ERR_NOT_FOUND');
    expectProblem(await send(t.app, 'POST', `/api/v1/contacts/${id}/merge`, { survivorId: id }, other), 404, 'CONTACT_ERR_NOT_FOUND');
    expectProblem(await send(t.app, 'POST', `/api/v1/consents/${id}/grant`, { purpose: 'sms', lawfulBasis: 'consent', source: 's', noticeVersion: 'v1' }, other), 404, 'CONSENT_ERR_SUBJECT_NOT_FOUND');
    expectProblem(await send(t.app, 'POST', '/api/v1/deals', { name: 'd', contactId: id, value: { amountMinor: 1, currency: 'EUR' }, expectedCloseDate: '2030-01-01', ownerId: 'u' }, other), 404, 'DEAL_ERR_CONTACT_NOT_FOUND');
    assert.equal((await t.store.readStream(`contact-${id}`)).length, 1);
  });

  it('Idempotency-Key on a create with an email: the retry returns the first answer (no 409 against itself)', async () => {
    const headers = { ...h, 'idempotency-key': 'contact-create-1' };
    const body = { firstName: 'Once', email: email() };
    const a = await send(t.app, 'POST', '/api/v1/contacts', body, headers);
    const b = await send(t.app, 'POST', '/api/v1/contacts', body, headers);
    assert.equal(a.statusCode, 201, a.body);
    assert.equal(b.statusCode, 201, b.body);
    assert.deepEqual(b.json(), a.json());
  });

  it('analyst may not write contacts (403)', async () => {
    expectProblem(await create({}, bearer(await token({ roles: ['analyst'] }))), 403, 'AUTH_ERR_FORBIDDEN');
  });
});

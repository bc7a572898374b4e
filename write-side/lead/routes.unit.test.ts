import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, send, testApp, token, type TestApp } from '../testing.js';

describe('lead routes', () => {
  let t: TestApp;
  let h: Record<string, string>;
  before(async () => {
    t = await testApp();
    h = bearer(await token({ roles: ['sales'], sub: 'seller' }));
  });
  after(() => t.close());

  const capture = async (body: Record<string, unknown> = {}) => {
    const res = await send(t.app, 'POST', '/api/v1/leads', { name: 'Ada Lovelace', email: 'ada@example.com', source: 'web', ...body }, h);
    assert.equal(res.statusCode, 201, res.body);
    return res.json<{ id: string; revision: string; position: string }>();
  };
  const post = (id: string, path: string, body: unknown, headers = h) => send(t.app, 'POST', `/api/v1/leads/${id}/${path}`, body, headers);
  const expectProblem = (res: Awaited<ReturnType<typeof send>>, status: number, code: string) => {
    assert.equal(res.statusCode, status, res.body);
    assert.equal(res.json().code, code);
  };

  it('captures a lead: 201 { id, revision, position } with an ETag', async () => {
    const res = await send(t.app, 'POST', '/api/v1/leads', { name: 'Ada', source: 'web', campaign: 'spring', notes: 'met at a fair' }, h);
    assert.equal(res.statusCode, 201);
    const body = res.json();
    assert.match(String(body.id), /^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    assert.equal(body.revision, '0');
    assert.match(String(body.position), /^\d+$/);
    assert.equal(res.headers.etag, '"0"');
    const [event] = await t.store.readStream(`lead-${body.id}`);
    assert.equal(event!.type, 'LeadCaptured');
  });

  it('every lead command succeeds on an open lead', async () => {
    const { id } = await capture();
    expectOk(await post(id, 'assign', { ownerId: 'owner-2' }), '1');
    expectOk(await post(id, 'qualify', { authority: 'decision-maker', need: 'a CRM', timeline: 'within-3-months', budget: { amountMinor: 100000, currency: 'EUR' } }), '2');
    expectOk(await post(id, 'score', { score: 80, factors: [{ name: 'fit', points: 40 }, { name: 'intent', points: 40 }] }), '3');
    expectOk(await post(id, 'activities', { kind: 'call', summary: 'intro call', direction: 'outbound' }), '4');
    expectOk(await post(id, 'status', { status: 'Nurturing' }), '5');
    const converted = await post(id, 'convert', {});
    expectOk(converted, '6');
    assert.match(String(converted.json().contactId), /^[0-9a-f-]{36}$/);
  });

  function expectOk(res: Awaited<ReturnType<typeof send>>, revision: string) {
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().revision, revision);
    assert.equal(res.headers.etag, `"${revision}"`);
  }

  it('domain rejections are 422 naming the rule', async () => {
    const { id } = await capture();
    expectProblem(await post(id, 'status', { status: 'Lost' }), 422, 'LEAD_ERR_LOST_REQUIRES_REASON');
    expectProblem(await post(id, 'status', { status: 'Qualified' }), 422, 'LEAD_ERR_BANT_REQUIRED');
    expectProblem(await post(id, 'activities', { kind: 'email', summary: 's', direction: 'outbound', marketingPurpose: 'marketing_email' }), 422, 'LEAD_ERR_CONSENT_REQUIRED');
    expectProblem(await post(id, 'activities', { kind: 'call', summary: 's', occurredAt: '2999-01-01T00:00:00Z' }), 422, 'LEAD_ERR_ACTIVITY_IN_FUTURE');
    expectProblem(await post(id, 'convert', { deal: { name: 'd', value: { amountMinor: 1, currency: 'EUR' }, pipeline: 'nope' } }), 422, 'DEAL_ERR_UNKNOWN_PIPELINE');
    expectProblem(await post(id, 'convert', { deal: { name: 'd', value: { amountMinor: 1, currency: 'EUR' }, pipeline: 'default', stage: 'nope' } }), 422, 'DEAL_ERR_UNKNOWN_STAGE');
    assert.equal((await post(id, 'status', { status: 'Lost', reason: 'no budget' })).statusCode, 200);
    expectProblem(await post(id, 'qualify', { authority: 'user', need: 'n', timeline: 'unknown' }), 422, 'LEAD_ERR_FINAL_STATUS');
    expectProblem(await post(id, 'status', { status: 'Qualified' }), 422, 'LEAD_ERR_FINAL_STATUS');
    // Lost → Nurturing needs a manager: 403 for sales, 200 for a manager.
    expectProblem(await post(id, 'status', { status: 'Nurturing' }), 403, 'LEAD_ERR_REOPEN_REQUIRES_MANAGER');
    assert.equal((await post(id, 'status', { status: 'Nurturing' }, bearer(await token({ roles: ['manager'] })))).statusCode, 200);
    assert.equal((await post(id, 'convert', {})).statusCode, 200);
    const again = await post(id, 'convert', {});
    expectProblem(again, 422, 'LEAD_ERR_ALREADY_CONVERTED');
    assert.ok(again.json().contactId);
  });

  it('an activity with marketing purpose passes once the lead has consented', async () => {
    const { id } = await capture();
    const granted = await send(t.app, 'POST', `/api/v1/consents/${id}/grant`, { purpose: 'marketing_email', lawfulBasis: 'consent', source: 'web form', noticeVersion: 'v1' }, h);
    assert.equal(granted.statusCode, 200, granted.body);
    assert.equal((await post(id, 'activities', { kind: 'email', summary: 'newsletter', direction: 'outbound', marketingPurpose: 'marketing_email' })).statusCode, 200);
  });

  it('schema violations list every bad field; unknown fields are named', async () => {
    const res = await send(t.app, 'POST', '/api/v1/leads', { name: '', email: 'not-an-email', source: 'carrier-pigeon', colour: 'blue' }, h);
    assert.equal(res.statusCode, 400);
    const paths = res.json<{ errors: { path: string; rule: string }[] }>().errors.map((e) => e.path).sort();
    assert.deepEqual(paths, ['body.colour', 'body.email', 'body.name', 'body.source']);
    const { id } = await capture();
    const nested = await post(id, 'qualify', { authority: 'user', need: 'n', timeline: 'unknown', budget: { amountMinor: 1, currency: 'EUR', amount: 5 } });
    assert.equal(nested.statusCode, 400);
    assert.deepEqual(nested.json<{ errors: { path: string }[] }>().errors.map((e) => e.path), ['body.budget.amount']);
    const score = await post(id, 'score', { score: 101, factors: [] });
    assert.equal(score.statusCode, 400);
    assert.ok(score.json<{ errors: { path: string }[] }>().errors.some((e) => e.path === 'body.score'));
    const badId = await post('not-a-uuid', 'score', { score: 1, factors: [] });
    assert.deepEqual(badId.json<{ errors: { path: string }[] }>().errors.map((e) => e.path), ['params.id']);
  });

  it('malformed JSON → 400 HTTP_ERR_MALFORMED_JSON', async () => {
    expectProblem(await send(t.app, 'POST', '/api/v1/leads', '{"name": "x",', h), 400, 'HTTP_ERR_MALFORMED_JSON');
  });

  it('an absent lead → 404; another tenant\'s lead → the same 404, logged as a security event', async () => {
    expectProblem(await post('01900000-0000-7000-8000-000000000000', 'score', { score: 1, factors: [] }), 404, 'LEAD_ERR_NOT_FOUND');
    const { id } = await capture();
    const other = bearer(await token({ tenant: 'tenant-b', roles: ['admin'] }));
    for (const [path, body] of [['score', { score: 1, factors: [] }], ['convert', {}], ['activities', { kind: 'call', summary: 'x' }]] as const) {
      const res = await post(id, path, body, other);
      expectProblem(res, 404, 'LEAD_ERR_NOT_FOUND');
      assert.equal(res.json().crossTenant, undefined);
    }
    assert.match(t.logs(), /"security":"cross-tenant-access"/);
    assert.equal((await t.store.readStream(`lead-${id}`)).length, 1, 'nothing appended');
  });

  it('a role without lead:write → 403', async () => {
    const { id } = await capture();
    expectProblem(await post(id, 'assign', { ownerId: 'x' }, bearer(await token({ roles: ['analyst', 'auditor'] }))), 403, 'AUTH_ERR_FORBIDDEN');
  });

  it('Idempotency-Key: a repeated capture returns the first answer and appends nothing', async () => {
    const headers = { ...h, 'idempotency-key': 'capture-once-1' };
    const body = { name: 'Alan Turing', source: 'referral' };
    const first = await send(t.app, 'POST', '/api/v1/leads', body, headers);
    const second = await send(t.app, 'POST', '/api/v1/leads', body, headers);
    assert.equal(first.statusCode, 201);
    assert.equal(second.statusCode, 201);
    assert.deepEqual(second.json(), first.json());
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.equal((await t.store.readStream(`lead-${first.json().id}`)).length, 1);
    const a = await post(String(first.json().id), 'score', { score: 5, factors: [] }, { ...h, 'idempotency-key': 'score-1' });
    const b = await post(String(first.json().id), 'score', { score: 5, factors: [] }, { ...h, 'idempotency-key': 'score-1' });
    assert.deepEqual(b.json(), a.json());
    assert.equal((await t.store.readStream(`lead-${first.json().id}`)).length, 2);
  });

  it('Idempotency-Key reused for a different request → 422 IDEMPOTENCY_ERR_KEY_REUSED, nothing appended', async () => {
    const headers = { ...h, 'idempotency-key': 'capture-reused-1' };
    const first = await send(t.app, 'POST', '/api/v1/leads', { name: 'Grace Hopper', source: 'web' }, headers);
    assert.equal(first.statusCode, 201);
    // A create: the key's claim holds the first request's hash.
    expectProblem(await send(t.app, 'POST', '/api/v1/leads', { name: 'Someone Else', source: 'web' }, headers), 422, 'IDEMPOTENCY_ERR_KEY_REUSED');
    // A command on an existing stream: the key is found in the stream's events.
    const id = String(first.json().id);
    assert.equal((await post(id, 'score', { score: 5, factors: [] }, { ...h, 'idempotency-key': 'score-reused-1' })).statusCode, 200);
    expectProblem(await post(id, 'score', { score: 6, factors: [] }, { ...h, 'idempotency-key': 'score-reused-1' }), 422, 'IDEMPOTENCY_ERR_KEY_REUSED');
    assert.equal((await t.store.readStream(`lead-${id}`)).length, 2, 'captured and scored once; the reused key appended nothing');
    // The same body again is still a plain replay.
    const replay = await post(id, 'score', { score: 5, factors: [] }, { ...h, 'idempotency-key': 'score-reused-1' });
    assert.equal(replay.headers['idempotent-replayed'], 'true');
  });

  it('If-Match: the current revision passes, a stale one → 409 STREAM_ERR_REVISION_MISMATCH', async () => {
    const { id } = await capture();
    assert.equal((await post(id, 'score', { score: 1, factors: [] }, { ...h, 'if-match': '"0"' })).statusCode, 200);
    const stale = await post(id, 'score', { score: 2, factors: [] }, { ...h, 'if-match': '"0"' });
    expectProblem(stale, 409, 'STREAM_ERR_REVISION_MISMATCH');
    assert.equal(stale.json().actualRevision, '1');
    expectProblem(await post(id, 'score', { score: 2, factors: [] }, { ...h, 'if-match': 'yesterday' }), 400, 'HTTP_ERR_VALIDATION');
  });

  it('no personal data in any log line', async () => {
    await capture({ name: 'Zelda Secretname', email: 'zelda.secret@example.com', phone: '+44 20 7946 0999', notes: 'very private note' });
    const logs = t.logs();
    for (const value of ['Zelda', 'Secretname', 'zelda.secret@example.com', '7946 0999', 'very private note', 'ada@example.com']) {
      assert.equal(logs.includes(value), false, `${value} must not be logged`);
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, send, testApp, token, type TestApp } from '../testing.js';
import { stageMoveRace } from './testing.js';

describe('deal routes', () => {
  let t: TestApp;
  let h: Record<string, string>;
  let contactId: string;
  before(async () => {
    t = await testApp();
    h = bearer(await token({ roles: ['sales'] }));
    const c = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'Buyer' }, h);
    contactId = String(c.json().id);
  });
  after(() => t.close());

  const open = async (body: Record<string, unknown> = {}) => {
    const res = await send(t.app, 'POST', '/api/v1/deals', { name: 'Big deal', contactId, value: { amountMinor: 500_00, currency: 'EUR' }, expectedCloseDate: '2030-06-30', ownerId: 'seller', ...body }, h);
    assert.equal(res.statusCode, 201, res.body);
    return String(res.json().id);
  };
  const post = (id: string, path: string, body?: unknown, headers = h) => send(t.app, 'POST', `/api/v1/deals/${id}/${path}`, body, headers);
  const expectProblem = (res: Awaited<ReturnType<typeof send>>, status: number, code: string) => {
    assert.equal(res.statusCode, status, res.body);
    assert.equal(res.json().code, code);
  };

  it('open, stage, value, lose, reopen, win', async () => {
    const id = await open();
    const events = async () => (await t.store.readStream(`deal-${id}`)).map((e) => e.type);
    assert.equal((await post(id, 'stage', { stage: 'proposal' })).statusCode, 200);
    assert.equal((await post(id, 'value', { value: { amountMinor: 600_00, currency: 'EUR' } })).statusCode, 200);
    assert.equal((await post(id, 'lose', { reason: 'price', competitor: 'Rival Inc' })).statusCode, 200);
    assert.equal((await post(id, 'reopen')).statusCode, 200);
    assert.equal((await post(id, 'win')).statusCode, 200);
    assert.deepEqual(await events(), ['DealOpened', 'DealStageMoved', 'DealValueChanged', 'DealLost', 'DealReopened', 'DealWon']);
    const stage = (await t.store.readStream(`deal-${id}`))[1]!;
    assert.equal(stage.type === 'DealStageMoved' && stage.data.probability, 50, 'probability from the stage table');
  });

  it('domain rejections → 422 naming the rule; absent deal → 404; schema → 400', async () => {
    const id = await open();
    expectProblem(await post(id, 'stage', { stage: 'prospecting' }), 422, 'DEAL_ERR_SAME_STAGE');
    expectProblem(await post(id, 'stage', { stage: 'celebration' }), 422, 'DEAL_ERR_UNKNOWN_STAGE');
    expectProblem(await post(id, 'value', { value: { amountMinor: 500_00, currency: 'EUR' } }), 422, 'DEAL_ERR_SAME_VALUE');
    expectProblem(await post(id, 'reopen', {}), 422, 'DEAL_ERR_NOT_CLOSED');
    assert.equal((await post(id, 'win', {})).statusCode, 200);
    expectProblem(await post(id, 'stage', { stage: 'proposal' }), 422, 'DEAL_ERR_CLOSED');
    expectProblem(await send(t.app, 'POST', '/api/v1/deals', { name: 'x', contactId, value: { amountMinor: 1, currency: 'EUR' }, pipeline: 'nope', expectedCloseDate: '2030-01-01', ownerId: 'u' }, h), 422, 'DEAL_ERR_UNKNOWN_PIPELINE');
    expectProblem(await post('01900000-0000-7000-8000-000000000003', 'win'), 404, 'DEAL_ERR_NOT_FOUND');
    expectProblem(await send(t.app, 'POST', '/api/v1/deals', { name: 'x', contactId: '01900000-0000-7000-8000-000000000004', value: { amountMinor: 1, currency: 'EUR' }, expectedCloseDate: '2030-01-01', ownerId: 'u' }, h), 404, 'DEAL_ERR_CONTACT_NOT_FOUND');
    const bad = await send(t.app, 'POST', '/api/v1/deals', { name: '', contactId: 'x', value: { amountMinor: -1, currency: 'euro' }, probability: 90 }, h);
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(
      bad.json<{ errors: { path: string }[] }>().errors.map((e) => e.path).sort(),
      ['body.contactId', 'body.expectedCloseDate', 'body.name', 'body.ownerId', 'body.probability', 'body.value.amountMinor', 'body.value.currency'],
    );
  });

  it('marketing may not write deals (403); another tenant\'s deal → 404', async () => {
    const id = await open();
    expectProblem(await post(id, 'win', {}, bearer(await token({ roles: ['marketing'] }))), 403, 'AUTH_ERR_FORBIDDEN');
    expectProblem(await post(id, 'win', {}, bearer(await token({ tenant: 'tenant-z', roles: ['sales'] }))), 404, 'DEAL_ERR_NOT_FOUND');
  });

  it('200 concurrent stage moves with If-Match: every 2xx is in the stream exactly once, every other answer is 409', async () => {
    const id = await open();
    const result = await stageMoveRace({ app: t.app, store: t.store, headers: h, dealId: id, movers: 200 });
    console.log(`PGlite race: ${result.accepted} accepted, ${result.conflicts} conflicts in ${Math.round(result.ms)} ms`);
    assert.deepEqual(result.unexpected, [], 'only 200 and 409 answers');
    assert.ok(result.accepted >= 1);
    assert.equal(result.accepted + result.conflicts, 200);
    assert.equal(result.streamMoves, result.accepted, 'every accepted move is in the stream, nothing else is');
    assert.equal(result.uniqueRevisionsAccepted, result.accepted, 'no revision was accepted twice');
    // Every If-Match value that was sent names a revision the stream was at; exactly one mover carrying it lands.
    assert.deepEqual(result.ifMatchAcceptedTwice, {}, 'an If-Match revision was accepted twice (a lost update)');
    assert.equal(result.accepted, result.distinctIfMatch, 'one 200 per distinct If-Match value');
  });
});

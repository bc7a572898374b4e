import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MAX_AMOUNT_MINOR } from '../schemas/events/common.js';
import { bearer, send, testApp, token, type TestApp } from './testing.js';

/**
 * The storable-input gate (schemas/events/common.ts) seen from the command API. Each case here was a
 * reproduced bug: the API answered 201 with a value PostgreSQL then refused, so the event was
 * dead-lettered (the row silently vanished) or the contacts projector stopped for good. Now the API
 * answers 400 naming the field, and nothing is appended. What passes the gate must round-trip
 * byte-exact (the property tests in projections/postgres/storable.*.test.ts push it through every read model).
 */
describe('storable-input gate at the command API', () => {
  let t: TestApp;
  let h: Record<string, string>;
  let contactId: string;
  before(async () => {
    t = await testApp();
    h = bearer(await token({ roles: ['admin'] }));
    const c = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'Ada' }, h);
    assert.equal(c.statusCode, 201, c.body);
    contactId = String(c.json().id);
  });
  after(() => t.close());

  type Problem = { code: string; errors: { path: string; rule: string }[] };
  /** 400 naming exactly `paths`, and no event appended by the request. */
  const refused = async (method: 'POST' | 'PATCH', url: string, body: unknown, paths: string[]): Promise<void> => {
    const before = (await t.store.readAll()).length;
    const res = await send(t.app, method, url, body, h);
    assert.equal(res.statusCode, 400, `${url} ${JSON.stringify(body)} → ${res.statusCode} ${res.body}`);
    assert.deepEqual([...new Set(res.json<Problem>().errors.map((e) => e.path))].sort(), [...paths].sort(), res.body);
    assert.equal((await t.store.readAll()).length, before, 'a refused command appends nothing');
  };
  const deal = { name: 'Deal', value: { amountMinor: 100, currency: 'EUR' }, expectedCloseDate: '2030-06-30', ownerId: 'seller' };

  it('refuses U+0000 in a contact company (was 201, then the contacts projector stopped for good)', async () => {
    await refused('POST', '/api/v1/contacts', { firstName: 'Bob', company: 'Acme\u0000Inc' }, ['body.company']);
    const res = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'Bob', company: 'Acme\u0000Inc' }, h);
    assert.match(res.json<Problem>().errors[0]!.rule, /U\+0000/);
  });

  it('refuses a lone surrogate in a company (was stored as U+FFFD, not what was sent)', async () => {
    await refused('POST', '/api/v1/contacts', { firstName: 'Bob', company: 'Acme\ud800' }, ['body.company']);
    await refused('POST', '/api/v1/contacts', { firstName: 'Bob', company: '\udfffAcme' }, ['body.company']);
  });

  it('refuses U+0000 and lone surrogates in custom field values (jsonb 22P05 / 22P02 dead-lettered the whole contact)', async () => {
    await refused('POST', '/api/v1/contacts', { firstName: 'Bob', customFields: { note: 'a\u0000b' } }, ['body.customFields.note']);
    await refused('POST', '/api/v1/contacts', { firstName: 'Bob', customFields: { note: '\ud800' } }, ['body.customFields.note']);
    await refused('PATCH', `/api/v1/contacts/${contactId}`, { customFields: { note: 'x\udc00' } }, ['body.customFields.note']);
  });

  it('refuses year 0000 in a deal expectedCloseDate (PostgreSQL 22008 dead-lettered the deal)', async () => {
    await refused('POST', '/api/v1/deals', { ...deal, contactId, expectedCloseDate: '0000-01-01' }, ['body.expectedCloseDate']);
  });

  it('refuses an offset beyond ±14:00 in an interaction time (PostgreSQL 22009 dead-lettered it)', async () => {
    const interaction = { kind: 'call', channel: 'phone', summary: 'Talked' };
    await refused('POST', `/api/v1/contacts/${contactId}/interactions`, { ...interaction, occurredAt: '2024-06-01T00:00:00+23:30' }, ['body.occurredAt']);
    await refused('POST', `/api/v1/contacts/${contactId}/interactions`, { ...interaction, occurredAt: '2024-06-01T00:00:00-14:01' }, ['body.occurredAt']);
    // Sub-millisecond precision would be rounded away by the stores that hold milliseconds.
    await refused('POST', `/api/v1/contacts/${contactId}/interactions`, { ...interaction, occurredAt: '2024-06-01T00:00:00.123456Z' }, ['body.occurredAt']);
    // Year 0001 at +14:00 is an instant in year 0000 UTC.
    await refused('POST', `/api/v1/contacts/${contactId}/interactions`, { ...interaction, occurredAt: '0001-01-01T00:00:00+14:00' }, ['body.occurredAt']);
    // (A time in the future is a domain rule, 422; the edges of the far future are covered by the property tests.)
    for (const occurredAt of ['2024-06-01T00:00:00+14:00', '2024-06-01T00:00:00-14:00', '0001-01-01T00:00:00Z', '0001-01-01T00:00:00-14:00', '2024-02-29T23:59:59.999+13:59']) {
      const res = await send(t.app, 'POST', `/api/v1/contacts/${contactId}/interactions`, { ...interaction, occurredAt }, h);
      assert.equal(res.statusCode, 200, `${occurredAt}: ${res.body}`);
    }
  });

  it('refuses amounts beyond MAX_AMOUNT_MINOR (sums must stay exact in every store)', async () => {
    await refused('POST', '/api/v1/deals', { ...deal, contactId, value: { amountMinor: MAX_AMOUNT_MINOR + 1, currency: 'EUR' } }, ['body.value.amountMinor']);
    await refused('POST', '/api/v1/deals', { ...deal, contactId, value: { amountMinor: 2 ** 63, currency: 'EUR' } }, ['body.value.amountMinor']);
    const ok = await send(t.app, 'POST', '/api/v1/deals', { ...deal, contactId, value: { amountMinor: MAX_AMOUNT_MINOR, currency: 'EUR' } }, h);
    assert.equal(ok.statusCode, 201, ok.body);
  });

  it('lists every bad field of one request: tags, names, custom fields, dates', async () => {
    await refused(
      'POST',
      '/api/v1/contacts',
      { firstName: 'A\u0000', lastName: '\ud83d', title: 'x\u0000', tags: ['ok', 'b\u0000d'], customFields: { a: '\u0000', b: 'fine' } },
      ['body.firstName', 'body.lastName', 'body.title', 'body.tags.1', 'body.customFields.a'],
    );
    await refused('POST', '/api/v1/budgets', {
      name: 'B\u0000', category: 'ads', period: { start: '0000-01-01', end: '2030-01-01' }, amount: { amountMinor: 10, currency: 'EUR' }, ownerId: 'o',
    }, ['body.name', 'body.period.start']);
  });

  it('CSV import rejects a row carrying U+0000, naming the field; the other rows are imported', async () => {
    // (A file is bytes: a lone surrogate cannot be written in UTF-8, so only NUL reaches the import.)
    const csv = `firstName,company,Note\nGood,Acme,fine\nNul,Acme\u0000Inc,x\nAlso good,Acme,\u{1F600}\n`;
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/contacts/import?map=Note:custom.note',
      headers: { 'content-type': 'text/csv', ...h },
      payload: Buffer.from(csv, 'utf8'),
    });
    assert.equal(res.statusCode, 200, res.body);
    const report = res.json<{ summary: { created: number; rejected: number }; rows: { status: string; errors?: { field: string }[] }[] }>();
    assert.equal(report.summary.created, 2, res.body);
    assert.equal(report.summary.rejected, 1, res.body);
    assert.deepEqual(report.rows[1]!.errors?.map((e) => e.field), ['company']);
  });

  it('refuses a token whose subject (stored as the actor of every event) holds U+0000', async () => {
    const res = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'Eve' }, bearer(await token({ sub: 'user\u0000x' })));
    assert.equal(res.statusCode, 401, res.body);
  });

  it('accepts full Unicode and stores it byte-exact: astral, emoji, RTL, combining marks, noncharacters', async () => {
    const company = '𝔄𝔠𝔪𝔢 😀👩‍👩‍👧 שלום عربى e\u0301 \uffff \u{10ffff} \u200f';
    const customFields = { note: '\u{1F600}\u{10FFFF}\uFFFE', empty: '' };
    const res = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'Zoë', company, customFields, tags: ['🏷️', 'תג'] }, h);
    assert.equal(res.statusCode, 201, res.body);
    const [created] = await t.store.readStream(`contact-${String(res.json().id)}`);
    assert.ok(created?.type === 'ContactCreated');
    assert.equal(created.data.company, company);
    assert.deepEqual(created.data.customFields, customFields);
    assert.deepEqual(created.data.tags, ['🏷️', 'תג']);
  });
});

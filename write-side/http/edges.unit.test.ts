import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { bearer, send, testApp, token, type TestApp } from '../testing.js';
import { IsoDate, IsoDateTime } from '../../schemas/events/common.js';
import { DATE_PATTERN, DATE_TIME_PATTERN, NO_NUL_PATTERN, trimmedPattern, TRIMMED_WHITESPACE } from './openapi.js';

// The HTTP edges: what the command API answers before (or instead of) a command, each as problem+json.
describe('command API: HTTP edges', () => {
  let t: TestApp;
  before(async () => {
    t = await testApp();
  });
  after(() => t.close());

  const lead = { name: 'Ada Lovelace', email: 'ada@example.com', source: 'web' };
  const isProblem = (res: { headers: Record<string, unknown> }) => assert.match(String(res.headers['content-type']), /^application\/problem\+json/);

  it('an Authorization header over the 16 KiB header limit → 431 problem+json (a real socket: inject skips the parser)', async () => {
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;
    assert.ok(address);
    const res = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, method: 'POST', path: '/api/v1/leads', headers: { authorization: `Bearer ${'a'.repeat(20_000)}`, 'content-type': 'application/json' }, timeout: 10_000 },
        (r) => {
          let body = '';
          r.setEncoding('utf8');
          r.on('data', (c: string) => (body += c));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, type: String(r.headers['content-type']), body }));
        },
      );
      req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
      req.on('error', reject);
      req.end('{}');
    });
    assert.equal(res.status, 431, res.body);
    assert.match(res.type, /^application\/problem\+json/);
    const body = JSON.parse(res.body) as Record<string, unknown>;
    assert.equal(body.code, 'HTTP_ERR_HEADERS_TOO_LARGE');
    assert.equal(body.status, 431);
    assert.match(String(body.correlationId), /^[0-9a-f-]{36}$/);
    // The token itself is never echoed back.
    assert.ok(!res.body.includes('aaaaaaaa'));
  });

  it('a JSON body sent as text/plain → 415 naming the accepted type (not a 400 about a string)', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/leads', headers: { ...bearer(await token()), 'content-type': 'text/plain' }, payload: JSON.stringify(lead) });
    assert.equal(res.statusCode, 415, res.body);
    isProblem(res);
    assert.equal(res.json().code, 'HTTP_ERR_UNSUPPORTED_MEDIA_TYPE');
    assert.match(res.json().detail, /"text\/plain" is not accepted here; send application\/json/);
    const csv = await t.app.inject({ method: 'POST', url: '/api/v1/contacts/import', headers: { ...bearer(await token()), 'content-type': 'application/xml' }, payload: '<a/>' });
    assert.equal(csv.statusCode, 415);
    assert.match(csv.json().detail, /send text\/csv/);
  });

  it('a body with __proto__ or constructor.prototype → 400 naming the refused property, not "not valid JSON"', async () => {
    const h = bearer(await token());
    const proto = await send(t.app, 'POST', '/api/v1/leads', '{"name":"x","source":"web","__proto__":{"isAdmin":true}}', h);
    assert.equal(proto.statusCode, 400, proto.body);
    isProblem(proto);
    assert.equal(proto.json().code, 'HTTP_ERR_FORBIDDEN_PROPERTY');
    assert.deepEqual(proto.json<{ errors: { path: string }[] }>().errors.map((e) => e.path), ['body.__proto__']);
    const nested = await send(t.app, 'POST', '/api/v1/leads', '{"name":"x","source":"web","deal":[{"constructor":{"prototype":{"polluted":1}}}]}', h);
    assert.equal(nested.json().code, 'HTTP_ERR_FORBIDDEN_PROPERTY');
    assert.deepEqual(nested.json<{ errors: { path: string }[] }>().errors.map((e) => e.path), ['body.deal.0.constructor.prototype']);
    assert.equal(({} as Record<string, unknown>).isAdmin, undefined, 'nothing was polluted');
    // A plain "constructor" field is just an unknown field (400 naming it), and bad JSON is still bad JSON.
    const ctor = await send(t.app, 'POST', '/api/v1/leads', '{"name":"x","source":"web","constructor":"c"}', h);
    assert.equal(ctor.json().code, 'HTTP_ERR_VALIDATION');
    const malformed = await send(t.app, 'POST', '/api/v1/leads', '{"name":', h);
    assert.equal(malformed.statusCode, 400);
    assert.equal(malformed.json().code, 'HTTP_ERR_MALFORMED_JSON');
    // Deep nesting is scanned without recursion (no stack overflow → no 500).
    const deep = await send(t.app, 'POST', '/api/v1/leads', `${'['.repeat(20_000)}${']'.repeat(20_000)}`, h);
    assert.equal(deep.statusCode, 400, deep.body);
  });

  it('a token with a role the product does not know: the known roles still count, the unknown grant nothing', async () => {
    const mixed = await send(t.app, 'POST', '/api/v1/leads', lead, bearer(await token({ roles: ['sales', 'crm-superuser' as never] })));
    assert.equal(mixed.statusCode, 201, mixed.body);
    const [event] = await t.store.readStream(`lead-${mixed.json().id}`);
    assert.deepEqual(event!.actor.roles, ['sales']);
    const unknownOnly = await send(t.app, 'POST', '/api/v1/leads', lead, bearer(await token({ roles: ['crm-superuser' as never] })));
    assert.equal(unknownOnly.statusCode, 403, unknownOnly.body);
    assert.equal(unknownOnly.json().code, 'AUTH_ERR_FORBIDDEN');
    assert.match(unknownOnly.json().detail, /none of the roles in the token is a role of this product/);
  });

  it('a tenant claim outside the alphabet (NUL, :, /) → 401 with the rule', async () => {
    for (const tenant of ['acme\u0000', 'acme:evil', 'acme/evil']) {
      const res = await send(t.app, 'POST', '/api/v1/leads', lead, bearer(await token({ tenant })));
      assert.equal(res.statusCode, 401, JSON.stringify(tenant));
      isProblem(res);
      assert.equal(res.json().code, 'AUTH_ERR_CLAIMS_INVALID');
      assert.match(res.json().detail, /tenant claim is refused: a tenant id is 1-63 characters of a-z 0-9 _ -/);
    }
  });

  it('a schema-valid body that breaks a cross-field rule → 422 HTTP_ERR_RULE_BROKEN naming it; a schema violation stays 400', async () => {
    const h = bearer(await token());
    const budget = { name: 'Q1', category: 'events', ownerId: 'u', amount: { amountMinor: 100, currency: 'EUR' } };
    const rule = await send(t.app, 'POST', '/api/v1/budgets', { ...budget, period: { start: '2030-02-01', end: '2030-01-01' } }, h);
    assert.equal(rule.statusCode, 422, rule.body);
    assert.equal(rule.json().code, 'HTTP_ERR_RULE_BROKEN');
    assert.deepEqual(rule.json<{ errors: { path: string }[] }>().errors.map((e) => e.path), ['body.period.end']);
    const both = await send(t.app, 'POST', '/api/v1/budgets', { ...budget, name: '', period: { start: '2030-02-01', end: '2030-01-01' } }, h);
    assert.equal(both.statusCode, 400, both.body);
    assert.equal(both.json().code, 'HTTP_ERR_VALIDATION');
    // The same rule checked by a decider (found by the schemathesis stateful run) is a 422 too.
    const captured = await send(t.app, 'POST', '/api/v1/leads', lead, h);
    const inbound = await send(t.app, 'POST', `/api/v1/leads/${captured.json().id}/activities`, { kind: 'call', summary: 's', direction: 'inbound', marketingPurpose: 'profiling' }, h);
    assert.equal(inbound.statusCode, 422, inbound.body);
    assert.equal(inbound.json().code, 'LEAD_ERR_MARKETING_NOT_OUTBOUND');
  });

  it('a known path with another method → 405 with Allow; an unknown path → 404 (whatever the body or Content-Type)', async () => {
    const h = bearer(await token());
    for (const method of ['DELETE', 'PUT', 'GET', 'OPTIONS'] as const) {
      const res = await t.app.inject({ method, url: '/api/v1/leads/01900000-0000-7000-8000-000000000001/qualify', headers: h });
      assert.equal(res.statusCode, 405, `${method}: ${res.body}`);
      isProblem(res);
      assert.equal(res.headers.allow, 'POST');
      assert.equal(res.json().code, 'HTTP_ERR_METHOD_NOT_ALLOWED');
    }
    assert.equal((await t.app.inject({ method: 'POST', url: '/api/v1/subjects/01900000-0000-7000-8000-000000000001/export', headers: h })).headers.allow, 'GET, HEAD');
    // A path parameter over the router's limit: 414 in our words (the detail does not echo it), not a 405.
    const long = await t.app.inject({ method: 'POST', url: `/api/v1/leads/${'a'.repeat(150)}/qualify`, headers: h });
    assert.equal(long.statusCode, 414, long.body);
    isProblem(long);
    assert.equal(long.json().code, 'HTTP_ERR_PATH_PARAM_TOO_LONG');
    assert.ok(!String(long.json().detail).includes('aaaa'));
    // A body fastify cannot parse on a path no route has is still a 404, not a 400 about the body.
    const bad = await t.app.inject({ method: 'POST', url: '/api/v1/nowhere', headers: { ...h, 'content-type': 'application/json' }, payload: '{' });
    assert.equal(bad.statusCode, 404, bad.body);
    assert.equal(bad.json().code, 'HTTP_ERR_ROUTE_NOT_FOUND');
  });

  it('/docs/json: errors are problem+json on every operation; trimmed fields carry their patterns', async () => {
    const spec = (await t.app.inject('/docs/json')).json<{ paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }>; requestBody?: { content: Record<string, { schema: { properties: Record<string, Record<string, unknown>> } }> } }>> }>();
    let operations = 0;
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(item)) {
        operations++;
        for (const status of ['400', '401', '403', '429', '500']) assert.ok(op.responses[status], `${method} ${path} documents ${status}`);
        for (const [status, response] of Object.entries(op.responses)) {
          if (Number(status) >= 400) assert.deepEqual(Object.keys(response.content ?? {}), ['application/problem+json'], `${method} ${path} ${status}`);
        }
      }
    }
    assert.ok(operations >= 26, `${operations} operations`);
    const campaign = spec.paths['/api/v1/budgets/{id}/allocations']!.post!.requestBody!.content['application/json']!.schema.properties.campaign!;
    assert.equal(campaign.maxLength, undefined, 'maxLength counts the raw text, the server the trimmed one');
    const pattern = new RegExp(campaign.pattern as string);
    assert.ok(!pattern.test('\n'), '"\\n" is refused by the published schema as by the server');
    assert.ok(!pattern.test('spring\u0000'), 'U+0000 is refused by the published schema as by the server');
    assert.ok(pattern.test(' spring '));
    // Refinements zod cannot export are published by keyword, through strictDeep's clones too.
    const contact = spec.paths['/api/v1/contacts']!.post!.requestBody!.content['application/json']!.schema.properties;
    assert.equal(contact.tags!.uniqueItems, true);
    assert.equal(contact.customFields!.maxProperties, 100);
  });
});

describe('OpenAPI: what is published is what is enforced', () => {
  // JavaScript's trim set, every one of them, and characters that look like whitespace but are not.
  const ws = [...'\t\n\v\f\r \u00a0\u1680\u2000\u2005\u200a\u2028\u2029\u202f\u205f\u3000\ufeff'];
  const notWs = ['a', '\u200b', '\u180e', '\u001c', '\u0085', 'é', '😀', '-'];
  const samples: string[] = [''];
  for (const w of ws) for (const n of notWs) samples.push(w, n, `${w}${n}`, `${n}${w}`, `${w}${n}${w}`, `${n}${w}${n}`, `${w}${w}${n}${n}${w}`, `${n}${n}${n}`, `${w}${n}${n}${n}${w}`);

  it('trimmedPattern holds exactly when the trimmed length is within the bounds (every JS whitespace, look-alikes, NUL)', () => {
    assert.equal(new RegExp(`[${TRIMMED_WHITESPACE}]+`).exec(ws.join(''))?.[0], ws.join(''), 'the published set is JavaScript\'s trim set');
    for (const noNul of [false, true]) {
      for (const [min, max] of [[1, undefined], [1, 3], [3, 40], [0, 2], [2, 2], [1, 1], [0, undefined], [4, undefined]] as const) {
        const pattern = new RegExp(trimmedPattern(min, max, noNul));
        for (const s of [...samples, ...samples.map((x) => `${x}\u0000`), 'a\u0000b', '\u0000']) {
          const n = s.trim().length;
          const enforced = n >= min && (max === undefined || n <= max) && !(noNul && s.includes('\u0000'));
          assert.equal(pattern.test(s), enforced, `${JSON.stringify(s)} min ${min} max ${max} noNul ${noNul}`);
        }
      }
    }
    assert.ok(!new RegExp(NO_NUL_PATTERN).test('a\u0000'));
    assert.ok(new RegExp(NO_NUL_PATTERN).test('a\n😀'));
  });

  it('the published date and date-time patterns accept exactly what the gate accepts', () => {
    const years = ['0000', '0001', '0004', '0100', '0400', '1900', '2000', '2023', '2024', '9999', '10000', '202'];
    const monthDays = ['01-01', '02-28', '02-29', '02-30', '04-30', '04-31', '12-31', '13-01', '00-10', '01-00', '1-01'];
    const dates = years.flatMap((y) => monthDays.map((md) => `${y}-${md}`));
    const date = new RegExp(DATE_PATTERN);
    for (const d of dates) assert.equal(date.test(d), IsoDate.safeParse(d).success, d);
    const times = ['00:00:00', '23:59:59', '24:00:00', '12:60:00', '12:00:60', '12:00', '12:00:00.1', '12:00:00.123', '12:00:00.1234'];
    const offsets = ['Z', 'z', '+00:00', '+14:00', '+14:01', '-13:59', '-15:00', '+0100', '+01', ''];
    // Documented: on the first and last day, an offset pointing outwards is refused by the pattern even
    // where the instant stays in range (0001-01-01T23:00:00+01:00); everything else is exact.
    const outwards = (s: string) => /^0001-01-01T.*\+(?!00:00)\d\d:\d\d$/.test(s) || /^9999-12-31T.*-(?!00:00)\d\d:\d\d$/.test(s);
    const dateTime = new RegExp(DATE_TIME_PATTERN);
    for (const d of ['0001-01-01', '0001-01-02', '0001-12-31', '2024-02-29', '2023-02-29', '9999-12-31', '9999-12-30', '9999-01-01', '0000-06-01']) {
      for (const tm of times) for (const o of [...offsets, '+01:00', '-01:00', '-00:00', '-14:00']) for (const sep of ['T', 't', ' ']) {
        const s = `${d}${sep}${tm}${o}`;
        assert.equal(dateTime.test(s), IsoDateTime.safeParse(s).success && !outwards(s), s);
      }
    }
  });
});

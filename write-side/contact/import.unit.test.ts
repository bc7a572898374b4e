import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { bearer, send, testApp, token, type TestApp } from '../testing.js';
import { foldEvents } from '../http/command.js';
import { contactDecider } from './decide.js';
import type { ImportReport } from './import.js';

describe('contact CSV import (POST /api/v1/contacts/import)', () => {
  let t: TestApp;
  let h: Record<string, string>;
  let n = 0;
  before(async () => {
    t = await testApp();
    h = bearer(await token({ roles: ['sales'] }));
  });
  after(() => t.close());

  /** A fresh email per call, so tests never collide. */
  const email = (who = 'person') => `${who}${++n}@example.com`;
  const post = (csv: string | Readable, query = '', headers: Record<string, string> = h) =>
    t.app.inject({ method: 'POST', url: `/api/v1/contacts/import${query ? `?${query}` : ''}`, headers: { 'content-type': 'text/csv', ...headers }, payload: csv });
  const imported = async (csv: string | Readable, query = '', headers: Record<string, string> = h): Promise<ImportReport> => {
    const res = await post(csv, query, headers);
    assert.equal(res.statusCode, 200, res.body);
    return res.json<ImportReport>();
  };
  const contact = async (id: string): Promise<Record<string, unknown>> => {
    const { status: _status, ...fields } = foldEvents(contactDecider, await t.store.readStream(`contact-${id}`));
    return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  };
  const expectProblem = (res: { statusCode: number; json: () => Record<string, unknown>; body: string }, status: number, code: string) => {
    assert.equal(res.statusCode, status, res.body);
    assert.equal(res.json().code, code);
  };

  it('creates a contact per row; headers map by name (case, spaces, _ and - ignored); unknown columns are reported as ignored', async () => {
    const [a, b] = [email(), email()];
    const report = await imported(`First Name,last_name,E-mail,Company,tags,custom.tier,Shoe size\nAda,Lovelace,${a},Analytical Engines,vip;math,gold,38\nCharles,Babbage,${b},,,,\n`);
    assert.deepEqual(report.summary, { created: 2, updated: 0, merged: 0, skipped: 0, rejected: 0 });
    assert.deepEqual(report.columns, {
      mapped: { 'First Name': 'firstName', last_name: 'lastName', 'E-mail': 'email', Company: 'company', tags: 'tags', 'custom.tier': 'custom.tier' },
      ignored: ['Shoe size'],
    });
    assert.deepEqual(report.rows.map((r) => [r.row, r.line, r.status]), [[1, 2, 'created'], [2, 3, 'created']]);
    const ada = await contact(report.rows[0]!.id!);
    assert.deepEqual({ ...ada, contactId: undefined }, { contactId: undefined, firstName: 'Ada', lastName: 'Lovelace', email: a, company: 'Analytical Engines', tags: ['vip', 'math'], customFields: { tier: 'gold' } });
    assert.equal((await contact(report.rows[1]!.id!)).company, undefined, 'an empty cell is no value');
  });

  it('map= renames columns; an unknown target or a missing header → 400', async () => {
    const report = await imported(`Given,Mail\nGrace,${email()}\n`, `map=${encodeURIComponent('Given:firstName,Mail:email')}`);
    assert.equal(report.summary.created, 1);
    const bad = await post('Given\nx\n', 'map=Given:nickname');
    expectProblem(bad, 400, 'HTTP_ERR_VALIDATION');
    assert.match(JSON.stringify(bad.json().errors), /names no field/);
    expectProblem(await post('Given\nx\n', 'map=Nope:firstName'), 400, 'CONTACT_IMPORT_ERR_UNKNOWN_COLUMN');
    expectProblem(await post('Given\nx\n', 'onDuplicate=replace'), 400, 'HTTP_ERR_VALIDATION');
    expectProblem(await post('Given\nx\n', 'ondup=skip'), 400, 'HTTP_ERR_VALIDATION');
  });

  it('a file with no header, or whose header feeds no firstName, or feeds one field twice → 400; not CSV → 415', async () => {
    expectProblem(await post(''), 400, 'CONTACT_IMPORT_ERR_NO_HEADER');
    expectProblem(await post('\n\n'), 400, 'CONTACT_IMPORT_ERR_NO_HEADER');
    expectProblem(await post('Shoe size,Colour\n38,red\n'), 400, 'CONTACT_IMPORT_ERR_NO_USABLE_COLUMNS');
    expectProblem(await post('firstName,First Name\na,b\n'), 400, 'CONTACT_IMPORT_ERR_DUPLICATE_COLUMN');
    const json = await t.app.inject({ method: 'POST', url: '/api/v1/contacts/import', headers: { 'content-type': 'application/json', ...h }, payload: '{"firstName":"x"}' });
    expectProblem(json, 415, 'HTTP_ERR_UNSUPPORTED_MEDIA_TYPE');
  });

  it('rejects invalid rows naming the row, the field, the column and the rule; the other rows are imported', async () => {
    const report = await imported(`firstName,email,Tier\nGood,${email()},x\n,not-an-email,y\nAlso good,,z\nToo,many,fields,here\n`, 'map=Tier:custom.tier');
    assert.deepEqual(report.summary, { created: 2, updated: 0, merged: 0, skipped: 0, rejected: 2 });
    const bad = report.rows[1]!;
    assert.equal(bad.row, 2);
    assert.equal(bad.line, 3);
    assert.equal(bad.status, 'rejected');
    assert.equal(bad.reason, 'CONTACT_IMPORT_ERR_INVALID_ROW');
    assert.deepEqual(bad.errors!.map((e) => [e.field, e.column, e.rule]).sort(), [
      ['email', 'email', 'email must be a valid email address'],
      ['firstName', 'firstName', 'firstName is required'],
    ]);
    assert.equal(report.rows[3]!.reason, 'CONTACT_IMPORT_ERR_FIELD_COUNT');
  });

  it('skip: a contact created through POST /contacts is found by email (any case) and by name + company; so is an earlier row of the file', async () => {
    const e = email('grace');
    const viaApi = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'Grace', lastName: 'Hopper', email: e, company: 'Navy' }, h);
    const existing = String(viaApi.json().id);
    const other = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'Alan', lastName: 'Turing', company: 'NPL' }, h);
    const f = email('new');
    const report = await imported(
      [
        'firstName,lastName,email,company',
        `G,H,${e.toUpperCase()},`, // by email
        'alan,  TURING,,npl', // by name + company
        `New,Person,${f},Acme`, // created
        `Newer,Person,${f},`, // same email as the row above
        'new,person,,ACME', // same name + company as row 3
        'Alan,Turing,,', // no company: never matched by name alone
      ].join('\n'),
    );
    assert.deepEqual(
      report.rows.map((r) => [r.status, r.existingId, r.matchedBy]),
      [
        ['skipped', existing, 'email'],
        ['skipped', String(other.json().id), 'name+company'],
        ['created', undefined, undefined],
        ['skipped', report.rows[2]!.id, 'email'],
        ['skipped', report.rows[2]!.id, 'name+company'],
        ['created', undefined, undefined],
      ],
    );
    assert.equal((await t.store.readStream(`contact-${existing}`)).length, 1, 'skip writes nothing');
  });

  it('update: the row\'s non-empty cells overwrite (changed fields only); a name + company match takes the row\'s new email', async () => {
    const [e1, e2] = [email(), email()];
    const a = String((await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'Katherine', lastName: 'Johnson', email: e1, title: 'Analyst', tags: ['nasa'] }, h)).json().id);
    const b = String((await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'Dorothy', lastName: 'Vaughan', company: 'NACA', phone: '+1 555 0100' }, h)).json().id);
    const report = await imported(`firstName,lastName,email,company,title,tags\nKatherine,Johnson,${e1},NASA,,orbit\nDorothy,Vaughan,${e2},NACA,Supervisor,\nKatherine,Johnson,${e1},NASA,,orbit\n`, 'onDuplicate=update');
    assert.deepEqual(report.rows.map((r) => [r.status, r.existingId, r.matchedBy]), [
      ['updated', a, 'email'],
      ['updated', b, 'name+company'],
      ['updated', a, 'email'],
    ]);
    const events = await t.store.readStream(`contact-${a}`);
    assert.equal(events.length, 2, 'the third row changes nothing and appends nothing');
    assert.deepEqual(events[1]!.data, { contactId: a, company: 'NASA', tags: ['orbit'] }, 'changed fields only; the empty title cell leaves the title');
    assert.deepEqual(await contact(b), { contactId: b, firstName: 'Dorothy', lastName: 'Vaughan', company: 'NACA', phone: '+1 555 0100', email: e2, title: 'Supervisor', customFields: {}, tags: [] });
    // The new email is claimed for b: a create with it is refused, naming b.
    const taken = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'X', email: e2 }, h);
    assert.equal(taken.json().existingId, b);
  });

  it('merge: fills what the contact lacks and adds tags, never overwrites', async () => {
    const e = email();
    const a = String((await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'Mary', lastName: 'Jackson', company: 'NASA', title: 'Engineer', tags: ['aero'], customFields: { tier: 'gold' } }, h)).json().id);
    const report = await imported(`firstName,lastName,email,company,title,phone,tags,custom.tier,custom.region\nMary,Jackson,${e},NASA,Intern,+1 555 0199,aero;wind,silver,east\nmary,jackson,,nasa,,,,,\n`, 'onDuplicate=merge');
    assert.deepEqual(report.rows.map((r) => [r.status, r.existingId]), [['merged', a], ['merged', a]]);
    const merged = await contact(a);
    assert.deepEqual(
      { firstName: merged.firstName, email: merged.email, title: merged.title, phone: merged.phone, tags: merged.tags, customFields: merged.customFields },
      { firstName: 'Mary', email: e, title: 'Engineer', phone: '+1 555 0199', tags: ['aero', 'wind'], customFields: { tier: 'gold', region: 'east' } },
    );
    assert.equal((await t.store.readStream(`contact-${a}`)).length, 2, 'the second row has nothing to add');
  });

  it('Idempotency-Key: a retried import reports the same and creates or changes nothing again; a changed row under the key is refused', async () => {
    const e = email();
    const existing = String((await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'Hedy', lastName: 'Lamarr', company: 'MGM' }, h)).json().id);
    const csv = `firstName,lastName,email,company,title\nRetry,Once,${e},,\nNo,Keys,,,\nHedy,Lamarr,,MGM,Inventor\n`;
    const headers = { ...h, 'idempotency-key': 'import-retry-1' };
    const first = await imported(csv, 'onDuplicate=update', headers);
    const before = (await t.store.readAll({ maxCount: 1_000_000 })).length;
    const second = await imported(csv, 'onDuplicate=update', headers);
    assert.deepEqual(second, first);
    assert.deepEqual(first.summary, { created: 2, updated: 1, merged: 0, skipped: 0, rejected: 0 });
    assert.equal((await t.store.readAll({ maxCount: 1_000_000 })).length, before, 'the retry appended nothing');
    assert.equal((await t.store.readStream(`contact-${existing}`)).length, 2);
    const changed = await imported(csv.replace('No,Keys', 'No,Other'), 'onDuplicate=update', headers);
    assert.equal(changed.rows[1]!.reason, 'IDEMPOTENCY_ERR_KEY_REUSED');
    assert.equal((await t.store.readAll({ maxCount: 1_000_000 })).length, before);
  });

  it('row keys are derived from the tuple (request key, row): a client key that spells "<key>#row-1" does not collide with row 1', async () => {
    const key = `imp-${++n}`;
    const own = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'Own' }, { ...h, 'idempotency-key': `${key}#row-1` });
    assert.equal(own.statusCode, 201, own.body);
    const report = await imported(`firstName,email\nRow,${email()}\n`, '', { ...h, 'idempotency-key': key });
    assert.equal(report.rows[0]!.status, 'created', JSON.stringify(report.rows[0]));
    assert.notEqual(report.rows[0]!.id, own.json().id);
  });

  it('a malformed CSV (unbalanced quote) → 400 naming the line, with the report of the rows imported before it', async () => {
    const rows = Array.from({ length: 3 }, (_, i) => `Row${i},${email()}`);
    const start = await t.store.headPosition();
    async function* file() {
      yield `firstName,email\n${rows.join('\n')}\n`;
      // The bad part arrives once the good rows are in (bounded wait), as it would in a large file.
      for (let i = 0; i < 100 && ((await t.store.headPosition()) ?? 0n) <= (start ?? 0n); i++) await new Promise((resolve) => setTimeout(resolve, 20));
      yield `"Broken,${email()}\nAfter,${email()}\n`;
    }
    const res = await post(Readable.from(file()));
    expectProblem(res, 400, 'CONTACT_IMPORT_ERR_MALFORMED_CSV');
    const body = res.json<{ line: number; detail: string; report: ImportReport }>();
    assert.equal(body.line, 5);
    assert.match(body.detail, /line 5: a quoted field is never closed/);
    assert.ok(body.report.rows.length > 0 && body.report.rows.every((r) => r.status === 'created' && r.row <= 3), JSON.stringify(body.report.rows));
    // Good rows and the broken one in the same chunk: the rows the parser read ahead are still imported and reported.
    const together = await post(`firstName,email\nA1,${email()}\nA2,${email()}\nA3,${email()}\n"Broken,${email()}\nAfter,${email()}\n`);
    expectProblem(together, 400, 'CONTACT_IMPORT_ERR_MALFORMED_CSV');
    assert.equal(together.json<{ line: number }>().line, 5);
    assert.deepEqual(
      together.json<{ report: ImportReport }>().report.rows.map((r) => [r.row, r.status]),
      [[1, 'created'], [2, 'created'], [3, 'created']],
    );
    // Broken before any row: the same error, an empty report.
    const early = await post('firstName,email\n"Broken,x\n');
    expectProblem(early, 400, 'CONTACT_IMPORT_ERR_MALFORMED_CSV');
    assert.equal(early.json<{ line: number }>().line, 2);
    assert.deepEqual(early.json<{ report: ImportReport }>().report.rows, []);
  });

  it('streams: 5,000 rows are imported while the body is still arriving', async () => {
    const total = 5_000;
    const chunk = (from: number) => Array.from({ length: 500 }, (_, i) => `Bulk${from + i},Row\n`).join('');
    let sawRowsBeforeEnd = false;
    const start = await t.store.headPosition();
    async function* body() {
      yield 'firstName,lastName\n';
      for (let from = 0; from < total; from += 500) {
        yield chunk(from);
        if (from === total / 2) {
          // Hold back the second half until the first rows are in the store: a route that buffered the
          // whole body first would never get there (bounded wait, then the test fails).
          for (let i = 0; i < 200 && !sawRowsBeforeEnd; i++) {
            sawRowsBeforeEnd = ((await t.store.headPosition()) ?? 0n) > (start ?? 0n);
            if (!sawRowsBeforeEnd) await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
      }
    }
    const report = await imported(Readable.from(body()));
    assert.equal(sawRowsBeforeEnd, true, 'rows were imported before the body ended');
    assert.equal(report.summary.created, total);
    assert.equal(report.rows.at(-1)!.row, total);
  });

  it('analyst may not import (403); no personal data in any log line', async () => {
    expectProblem(await post('firstName\nx\n', '', bearer(await token({ roles: ['analyst'] }))), 403, 'AUTH_ERR_FORBIDDEN');
    await imported(`firstName,lastName,email,phone\nZelda,Secretname,zelda.secret@example.com,+44 20 7946 0999\n,Nofirst,bad-email-secret,\n`);
    await post('firstName,email\n"Quoted Secret,x\n');
    const logs = t.logs();
    for (const value of ['Zelda', 'Secretname', 'zelda.secret@example.com', '7946 0999', 'Nofirst', 'bad-email-secret', 'Quoted Secret']) {
      assert.equal(logs.includes(value), false, `${value} must not be logged`);
    }
    assert.match(logs, /contact import finished/);
  });
});

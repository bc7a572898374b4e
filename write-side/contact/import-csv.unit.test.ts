import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import type { HttpError } from '../http/problem.js';
import { openCsv, parseColumnMap, type CsvRow } from './import-csv.js';

const read = async (chunks: string[], limits: { maxRows?: number; maxBytes?: number } = {}, map = new Map<string, string>()) => {
  const csv = await openCsv(Readable.from(chunks.map((c) => Buffer.from(c))), { map, ...limits });
  const rows: CsvRow[] = [];
  try {
    for await (const row of csv.rows) rows.push(row);
  } catch (e) {
    return { csv, rows, error: e as HttpError };
  }
  return { csv, rows, error: undefined };
};

describe('contact CSV reading', () => {
  it('numbers rows from 1 and lines as in the file (a quoted cell may span lines; blank lines are skipped); a BOM is dropped', async () => {
    const { csv, rows } = await read(['\uFEFFFirst Name,email,x\nAda,a@x.org,1\n\n"Bo\nBo",,2\nCy,c@x.org\n']);
    assert.deepEqual(csv.columns, { mapped: { 'First Name': 'firstName', email: 'email' }, ignored: ['x'] });
    assert.deepEqual(rows.map((r) => [r.row, r.line, r.values]), [
      [1, 2, { firstName: 'Ada', email: 'a@x.org' }],
      [2, 4, { firstName: 'Bo\nBo' }],
      [3, 6, { firstName: 'Cy', email: 'c@x.org' }],
    ]);
    assert.equal(rows[2]!.fieldCountProblem, 'the row has 2 fields, the header has 3');
    assert.equal(csv.headerOf('firstName'), 'First Name');
  });

  it('stops past the row and byte limits with 413', async () => {
    const rows = await read(['firstName\na\nb\nc\n'], { maxRows: 2 });
    assert.equal(rows.rows.length, 2);
    assert.equal(rows.error?.code, 'CONTACT_IMPORT_ERR_TOO_MANY_ROWS');
    assert.equal(rows.error?.statusCode, 413);
    const bytes = await read(['firstName\n', 'a'.repeat(40) + '\n', 'b'.repeat(40) + '\n'], { maxBytes: 60 }).catch((e: HttpError) => ({ error: e, rows: [] }));
    assert.equal(bytes.error?.code, 'CONTACT_IMPORT_ERR_TOO_LARGE');
  });

  it('a broken quote names the line its record starts on, never the cell', async () => {
    const { rows, error } = await read(['firstName\nok\n', 'fine\n"secret cell\nmore\n']).catch((e: HttpError) => ({ rows: [], error: e }));
    assert.ok(rows.length <= 2);
    assert.equal(error?.code, 'CONTACT_IMPORT_ERR_MALFORMED_CSV');
    assert.equal(error?.details?.line, 4);
    assert.doesNotMatch(error!.message, /secret/);
  });

  it('map: pairs comma-separated or repeated, the last colon separates; problems are listed', () => {
    const { map, problems } = parseColumnMap(['E-mail:email,Given name:FIRSTNAME', 'a:b:custom.tier']);
    assert.deepEqual([...map], [['e-mail', 'email'], ['given name', 'firstName'], ['a:b', 'custom.tier']]);
    assert.deepEqual(problems, []);
    assert.equal(parseColumnMap(['x:nickname', 'nocolon', 'x:email,X:phone']).problems.length, 3);
  });
});

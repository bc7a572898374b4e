import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { printedSchema } from './graphql/area.js';
import { SCHEMA_FILE } from './print-schema.js';
import { schemaOf } from './service.js';

describe('query-api/schema.graphql', () => {
  it('is the schema the code serves (regenerate with npm run query-api:schema)', async () => {
    const file = await readFile(SCHEMA_FILE, 'utf8');
    assert.equal(file, printedSchema(schemaOf()), 'query-api/schema.graphql is out of date: run `npm run query-api:schema` and commit the file');
  });
});

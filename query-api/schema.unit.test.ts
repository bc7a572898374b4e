import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { serialize } from 'node:v8';
import { isEnumType, isInputObjectType, isInterfaceType, isObjectType } from 'graphql';
import { printedSchema } from './graphql/area.js';
import { SCHEMA_FILE } from './print-schema.js';
import { schemaOf } from './service.js';

describe('query-api/schema.graphql', () => {
  it('is the schema the code serves (regenerate with npm run query-api:schema)', async () => {
    const file = await readFile(SCHEMA_FILE, 'utf8');
    assert.equal(file, printedSchema(schemaOf()), 'query-api/schema.graphql is out of date: run `npm run query-api:schema` and commit the file');
  });

  it('holds every name one byte per character, so answers serialise one byte per character (the SDL has ×, →, …)', () => {
    // V8's structured serialiser tags a one-byte string '"' (0x22), a two-byte one 'c' (after alignment padding).
    const oneByte = (name: string) => serialize(name).subarray(2).find((b) => b !== 0) === 0x22;
    const names: string[] = [];
    for (const type of Object.values(schemaOf().getTypeMap())) {
      names.push(type.name);
      if (isObjectType(type) || isInterfaceType(type)) {
        for (const [key, field] of Object.entries(type.getFields())) names.push(key, ...field.args.map((a) => a.name));
      }
      if (isInputObjectType(type)) names.push(...Object.keys(type.getFields()));
      if (isEnumType(type)) names.push(...type.getValues().map((v) => v.name));
    }
    assert.ok(names.includes('edges') && names.includes('pageInfo'));
    assert.deepEqual(names.filter((n) => !oneByte(n)), [], 'names held two bytes per character');
  });
});

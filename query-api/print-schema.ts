import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { printedSchema } from './graphql/area.js';
import { schemaOf } from './service.js';

/**
 * `npm run query-api:schema`: writes the served schema to query-api/schema.graphql (the published
 * contract a frontend generates its types from). schema.unit.test.ts fails when the file and the code
 * disagree, so a schema change is always a visible diff of that file.
 */
export const SCHEMA_FILE = fileURLToPath(new URL('./schema.graphql', import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await writeFile(SCHEMA_FILE, printedSchema(schemaOf()));
  process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
}

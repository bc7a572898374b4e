import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as readModels from '../../schemas/read-models/postgres/index.js';
import type { ViewDefinition } from '../../schemas/read-models/postgres/index.js';
import { openPglite, pgliteClient, type SqlClient } from '../../platform/sql/client.js';
import { postgresProjections } from './index.js';

/**
 * schemas/read-models is what query-api reads; projections/postgres is what creates the tables. Neither
 * imports the other's internals, so this test is the seam: every view a projection creates is declared
 * there with exactly its columns, in order.
 */
const views = (Object.values(readModels) as unknown[]).filter((v): v is ViewDefinition => typeof v === 'object' && v !== null && 'columns' in v);

describe('schemas/read-models: the views query-api reads are the tables projections create', () => {
  let sql: SqlClient;
  before(async () => {
    sql = pgliteClient(await openPglite());
  });
  after(() => sql.close());

  it('every logical table of every PostgreSQL projection has exactly one view definition, and no definition is orphaned', () => {
    const tables = postgresProjections.flatMap((p) => p.tables).sort();
    assert.deepEqual(views.map((v) => v.name).sort(), tables);
  });

  it('each view declares the columns of the created table, in table order', async () => {
    for (const projection of postgresProjections) {
      const physical = Object.fromEntries(projection.tables.map((t) => [t, `rm_${t}`]));
      await sql.exec(projection.ddl(physical));
      for (const logical of projection.tables) {
        const view = views.find((v) => v.name === logical)!;
        const { rows } = await sql.query<{ column_name: string }>(
          `SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`,
          [physical[logical]],
        );
        assert.deepEqual(view.columns, rows.map((r) => r.column_name), logical);
      }
    }
  });
});

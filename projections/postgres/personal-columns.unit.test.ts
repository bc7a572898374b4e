import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { postgresProjections } from './index.js';
import { personalColumnsOf, personalFieldsOf, stalePersonalSources, unmappedPersonalFields } from './personal-columns.js';

describe('personal columns come from the schema marker', () => {
  for (const model of postgresProjections) {
    it(`${model.name}: every personal field of the events it handles is placed (a column or none), and its personal columns are derived from that`, () => {
      const sources = model.personalSources;
      assert.ok(sources, `${model.name} declares personalSources`);
      assert.deepEqual(unmappedPersonalFields(model.eventTypes, sources), [], `${model.name}: personal fields with no place in the mapping (map them to a column, or to null)`);
      assert.deepEqual(stalePersonalSources(model.eventTypes, sources), [], `${model.name}: mapped fields that are not personal fields of its events`);
      assert.deepEqual(model.personalColumns, personalColumnsOf(model.tables, sources));
      const ddl = model.ddl(Object.fromEntries(model.tables.map((t) => [t, `${t}_g1`])));
      for (const [table, columns] of Object.entries(model.personalColumns)) {
        for (const column of columns) assert.match(ddl, new RegExp(`\\n\\s+${column}\\s`), `${model.name}: ${table}.${column} is a column of its DDL`);
      }
    });
  }

  it('the personal fields are the ones personal(...) marks, at the current schema version', () => {
    assert.deepEqual(personalFieldsOf(['LeadCaptured', 'DealWon']), ['LeadCaptured.name', 'LeadCaptured.email', 'LeadCaptured.phone', 'LeadCaptured.notes']);
    // ContactCreated v1 had `name`; projectors see v2 (upcast): first and last name.
    assert.ok(personalFieldsOf(['ContactCreated']).includes('ContactCreated.firstName'));
    assert.ok(!personalFieldsOf(['ContactCreated']).includes('ContactCreated.name'));
    assert.deepEqual(personalFieldsOf(['NoSuchEvent']), []);
  });

  it('an unmapped personal field, a stale mapping and a column in an unknown table are reported', () => {
    const leads = postgresProjections.find((p) => p.name === 'leads')!;
    const { ['LeadCaptured.email']: _dropped, ...missing } = leads.personalSources!;
    assert.deepEqual(unmappedPersonalFields(leads.eventTypes, missing), ['LeadCaptured.email']);
    assert.deepEqual(stalePersonalSources(leads.eventTypes, { ...leads.personalSources!, 'LeadCaptured.source': 'leads.source' }), ['LeadCaptured.source']);
    assert.throws(() => personalColumnsOf(['leads'], { 'LeadCaptured.name': 'people.name' }), /no table people/);
    assert.deepEqual(personalColumnsOf(['a', 'b'], { 'X.f': 'a.c', 'Y.g': 'a.c', 'Z.h': null }), { a: ['c'], b: [] });
  });
});

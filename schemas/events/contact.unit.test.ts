import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { schemaIssues } from './testing.js';
import { ContactEvent, contactEvents } from './contact.js';
import { currentVersion, personalPathsOf, validateNewEvent } from './registry.js';

const contactId = '01950000-0000-7000-8000-00000000000a';

describe('contact event schemas', () => {
  it('registers every contact event at its current version (ContactCreated is v2)', () => {
    assert.deepEqual(
      contactEvents.map((d) => [d.type, currentVersion(d.type)]),
      [
        ['ContactCreated', 2],
        ['ContactUpdated', 1],
        ['ContactInteractionLogged', 1],
        ['ContactMerged', 1],
        ['ContactErased', 1],
      ],
    );
  });

  it('accepts a valid payload (an empty lastName included) and the union discriminates on type', () => {
    const event = { type: 'ContactCreated', data: { contactId, firstName: 'Cher', lastName: '', customFields: {}, tags: [] } };
    assert.equal(validateNewEvent(event).schemaVersion, 2);
    assert.equal(ContactEvent.parse(event).type, 'ContactCreated');
  });

  it('refuses a bad create, naming every bad field and its rule', () => {
    const issues = schemaIssues({
      type: 'ContactCreated',
      data: { contactId, firstName: '', lastName: 'x'.repeat(201), email: 'grace@', customFields: {}, tags: ['vip', 'vip'] },
    });
    assert.deepEqual([...issues.keys()].sort(), ['data.email', 'data.firstName', 'data.lastName', 'data.tags']);
    assert.equal(issues.get('data.email'), 'email must be a valid email address');
    assert.equal(issues.get('data.firstName'), 'firstName must not be empty');
    assert.equal(issues.get('data.lastName'), 'lastName must be at most 200 characters');
    assert.equal(issues.get('data.tags'), 'tags must be unique');
  });

  it('refuses a custom field with a bad name', () => {
    const issues = schemaIssues({ type: 'ContactCreated', data: { contactId, firstName: 'A', lastName: 'B', customFields: { '1st': 'x' }, tags: [] } });
    assert.ok([...issues.keys()].some((f) => f.startsWith('data.customFields')), [...issues.keys()].join());
  });

  it('refuses an update that changes nothing', () => {
    assert.equal(schemaIssues({ type: 'ContactUpdated', data: { contactId } }).get('data'), 'an update names at least one changed field');
  });

  it('refuses an interaction with a bad kind', () => {
    const issues = schemaIssues({
      type: 'ContactInteractionLogged',
      data: { contactId, kind: 'fax', channel: 'fax', occurredAt: '2025-03-01T10:00:00Z', summary: 'x' },
    });
    assert.equal(issues.get('data.kind'), 'kind must be one of email, call, meeting, note');
  });

  it('refuses a marketing purpose on an inbound interaction', () => {
    const issues = schemaIssues({
      type: 'ContactInteractionLogged',
      data: { contactId, kind: 'email', channel: 'email', occurredAt: '2025-03-01T10:00:00Z', summary: 'x', direction: 'inbound', marketingPurpose: 'sms' },
    });
    assert.equal(issues.get('data.marketingPurpose'), 'marketingPurpose applies to outbound interactions only');
  });

  it('marks exactly the personal fields of each event', () => {
    const fields = [['firstName'], ['lastName'], ['email'], ['phone'], ['customFields', '*']];
    const expected: Record<string, string[][]> = {
      ContactCreated: fields,
      ContactUpdated: fields,
      ContactInteractionLogged: [['summary'], ['outcome']],
      ContactMerged: [],
      ContactErased: [],
    };
    for (const def of contactEvents) {
      assert.deepEqual(def.personalPaths, expected[def.type], def.type);
      assert.deepEqual(personalPathsOf(def.type, def.version), expected[def.type], def.type);
    }
  });
});

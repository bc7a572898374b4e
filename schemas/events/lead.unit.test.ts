import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { schemaIssues } from './testing.js';
import { LeadEvent, leadEvents } from './lead.js';
import { currentVersion, personalPathsOf, validateNewEvent } from './registry.js';

const leadId = '01950000-0000-7000-8000-000000000001';
const contactId = '01950000-0000-7000-8000-000000000002';

describe('lead event schemas', () => {
  it('registers every lead event at version 1', () => {
    assert.deepEqual(
      leadEvents.map((d) => [d.type, currentVersion(d.type)]),
      [
        ['LeadCaptured', 1],
        ['LeadAssigned', 1],
        ['LeadQualified', 1],
        ['LeadStatusChanged', 1],
        ['LeadScored', 1],
        ['LeadActivityLogged', 1],
        ['LeadConverted', 1],
        ['LeadErased', 1],
      ],
    );
  });

  it('accepts a valid payload and the union discriminates on type', () => {
    const event = { type: 'LeadCaptured', data: { leadId, name: 'Ada', source: 'web', capturedAt: '2025-03-01T10:00:00Z' } };
    assert.equal(validateNewEvent(event).schemaVersion, 1);
    assert.equal(LeadEvent.parse(event).type, 'LeadCaptured');
  });

  it('refuses a bad capture, naming every bad field and its rule', () => {
    const issues = schemaIssues({
      type: 'LeadCaptured',
      data: { leadId: 'not-a-uuid', name: ' ', email: 'not-an-email', source: 'billboard', capturedAt: 'yesterday' },
    });
    assert.deepEqual([...issues.keys()].sort(), ['data.capturedAt', 'data.email', 'data.leadId', 'data.name', 'data.source']);
    assert.equal(issues.get('data.email'), 'email must be a valid email address');
    assert.equal(issues.get('data.name'), 'name must not be empty');
    assert.match(issues.get('data.source') ?? '', /web, email, phone, event, referral, social, other/);
  });

  it('refuses a score outside 0..100 and a fractional factor', () => {
    const issues = schemaIssues({ type: 'LeadScored', data: { leadId, score: 101, factors: [{ name: 'x', points: 1.5 }] } });
    assert.equal(issues.get('data.score'), 'score must be at most 100');
    assert.equal(issues.get('data.factors.0.points'), 'points must be an integer');
  });

  it('refuses a change to Lost without a reason, and a change to the same status', () => {
    assert.equal(schemaIssues({ type: 'LeadStatusChanged', data: { leadId, from: 'New', to: 'Lost' } }).get('data.reason'), 'a change to Lost requires a reason');
    assert.equal(schemaIssues({ type: 'LeadStatusChanged', data: { leadId, from: 'New', to: 'New' } }).get('data.to'), 'to must differ from from');
  });

  it('refuses a dealId without its deal request', () => {
    const issues = schemaIssues({ type: 'LeadConverted', data: { leadId, contactId, dealId: contactId } });
    assert.equal(issues.get('data.dealId'), 'dealId and deal come together: both or neither');
  });

  it('refuses a marketing purpose on an inbound activity', () => {
    const issues = schemaIssues({
      type: 'LeadActivityLogged',
      data: { leadId, kind: 'email', summary: 'Hi', direction: 'inbound', occurredAt: '2025-03-01T10:00:00Z', marketingPurpose: 'marketing_email' },
    });
    assert.equal(issues.get('data.marketingPurpose'), 'marketingPurpose applies to outbound activities only');
  });

  it('marks exactly the personal fields of each event', () => {
    const expected: Record<string, string[][]> = {
      LeadCaptured: [['name'], ['email'], ['phone'], ['notes']],
      LeadAssigned: [],
      LeadQualified: [['need']],
      LeadStatusChanged: [['reason']],
      LeadScored: [],
      LeadActivityLogged: [['summary']],
      LeadConverted: [],
      LeadErased: [],
    };
    for (const def of leadEvents) {
      assert.deepEqual(def.personalPaths, expected[def.type], def.type);
      assert.deepEqual(personalPathsOf(def.type, def.version), expected[def.type], def.type);
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { badFields } from './testing.js';
import { ConsentEvent, consentEvents } from './consent.js';
import { validateNewEvent } from './registry.js';

const subjectId = '0190a6e2-7a4b-7c1d-8e2f-00000000c0de';
const granted = {
  type: 'ConsentGranted',
  data: {
    subjectId,
    subjectType: 'contact',
    purpose: 'marketing_email',
    lawfulBasis: 'consent',
    source: 'web form /newsletter',
    noticeVersion: '2025-01',
    grantedAt: '2025-03-01T10:00:00.000Z',
  },
};

describe('consent event schemas', () => {
  it('registers every consent event at version 1', () => {
    assert.deepEqual(
      consentEvents.map((d) => [d.type, d.version]),
      ['ConsentGranted', 'ConsentWithdrawn', 'SubjectErasureRequested', 'SubjectErased'].map((t) => [t, 1]),
    );
  });

  it('marks the free-text source as personal, and nothing in the erasure events', () => {
    const paths = Object.fromEntries(consentEvents.map((d) => [d.type, d.personalPaths]));
    assert.deepEqual(paths, {
      ConsentGranted: [['source']],
      ConsentWithdrawn: [['source']],
      SubjectErasureRequested: [],
      SubjectErased: [],
    });
  });

  it('accepts valid events, through the registry and the union', () => {
    const valid = [
      granted,
      { type: 'ConsentWithdrawn', data: { subjectId, purpose: 'sms', source: 'STOP reply', withdrawnAt: '2025-03-01T10:00:00+01:00' } },
      {
        type: 'SubjectErasureRequested',
        data: { subjectId, subjectType: 'lead', requestedBy: 'dpo-1', reason: 'retention_policy', requestedAt: '2025-03-01T10:00:00Z' },
      },
      { type: 'SubjectErased', data: { subjectId, subjectType: 'lead', erasedAt: '2025-03-01T10:00:00Z' } },
    ];
    for (const e of valid) {
      assert.equal(validateNewEvent(e).schemaVersion, 1);
      assert.equal(ConsentEvent.safeParse(e).success, true, e.type);
    }
  });

  it('names an unknown purpose and lawful basis', () => {
    assert.deepEqual(badFields({ ...granted, data: { ...granted.data, purpose: 'newsletter', lawfulBasis: 'because' } }).sort(), [
      'data.lawfulBasis',
      'data.purpose',
    ]);
  });

  it('names a missing notice version and a time without offset', () => {
    const { noticeVersion: _n, ...rest } = granted.data;
    assert.deepEqual(badFields({ ...granted, data: { ...rest, grantedAt: '2025-03-01 10:00' } }).sort(), ['data.grantedAt', 'data.noticeVersion']);
  });

  it('refuses free text as an erasure reason (it must survive key destruction)', () => {
    assert.deepEqual(
      badFields({
        type: 'SubjectErasureRequested',
        data: { subjectId, subjectType: 'contact', requestedBy: 'dpo-1', reason: 'Jane asked by email', requestedAt: '2025-03-01T10:00:00Z' },
      }),
      ['data.reason'],
    );
  });
});

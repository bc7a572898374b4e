import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { consentsProjection } from './projection.js';
import { History, openReadModel, uuid, type ReadModelDb } from '../testing.js';
import type { ConsentPurpose } from '../../../schemas/events/common.js';

const alice = uuid(1, 'c');
const leadId = uuid(1, 'l');

function grant(h: History, subjectId: string, purpose: ConsentPurpose, grantedAt: string, options: { tenantId?: string; subjectType?: 'contact' | 'lead' } = {}) {
  return h.append(
    `consent-${subjectId}`,
    'ConsentGranted',
    {
      subjectId,
      subjectType: options.subjectType ?? 'contact',
      purpose,
      lawfulBasis: 'consent',
      source: 'web form /newsletter',
      noticeVersion: '2025-01',
      grantedAt,
    },
    options.tenantId ? { tenantId: options.tenantId } : {},
  );
}

describe('consents projection', () => {
  let db: ReadModelDb;
  before(async () => {
    db = await openReadModel(consentsProjection);
  });
  after(() => db.close());

  it('ConsentGranted creates the current consent of a (subject, purpose)', async () => {
    const h = new History();
    const e = grant(h, alice, 'marketing_email', '2025-01-02T00:00:00.000Z');
    const rows = await (await db.replay(h.events)).rows('consents');
    assert.deepEqual(rows, [
      {
        tenant_id: 'tenant-a',
        subject_id: alice,
        purpose: 'marketing_email',
        subject_type: 'contact',
        status: 'granted',
        lawful_basis: 'consent',
        source: 'web form /newsletter',
        notice_version: '2025-01',
        granted_at: '2025-01-02T00:00:00.000Z',
        withdrawn_at: null,
        changed_at: '2025-01-02T00:00:00.000Z',
        erased_at: null,
        revision: Number(e.streamRevision),
        position: Number(e.position),
      },
    ]);
  });

  it('ConsentWithdrawn flips one purpose to withdrawn, keeping the basis and notice of the grant; other purposes stay', async () => {
    const h = new History();
    grant(h, alice, 'marketing_email', '2025-01-02T00:00:00.000Z');
    grant(h, alice, 'sms', '2025-01-02T00:00:00.000Z');
    h.append(`consent-${alice}`, 'ConsentWithdrawn', { subjectId: alice, purpose: 'marketing_email', source: 'unsubscribe link', withdrawnAt: '2025-01-09T00:00:00.000Z' });
    const rows = await (await db.replay(h.events)).rows('consents', 'purpose');
    assert.deepEqual(
      rows.map((r) => [r.purpose, r.status, r.lawful_basis, r.notice_version, r.source, r.granted_at, r.withdrawn_at, r.changed_at, r.revision]),
      [
        ['marketing_email', 'withdrawn', 'consent', '2025-01', 'unsubscribe link', '2025-01-02T00:00:00.000Z', '2025-01-09T00:00:00.000Z', '2025-01-09T00:00:00.000Z', 2],
        ['sms', 'granted', 'consent', '2025-01', 'web form /newsletter', '2025-01-02T00:00:00.000Z', null, '2025-01-02T00:00:00.000Z', 1],
      ],
    );
  });

  it('a grant after a withdrawal makes it granted again with the new basis and notice', async () => {
    const h = new History();
    grant(h, alice, 'profiling', '2025-01-02T00:00:00.000Z');
    h.append(`consent-${alice}`, 'ConsentWithdrawn', { subjectId: alice, purpose: 'profiling', source: 'settings page', withdrawnAt: '2025-01-03T00:00:00.000Z' });
    h.append(`consent-${alice}`, 'ConsentGranted', {
      subjectId: alice,
      subjectType: 'contact',
      purpose: 'profiling',
      lawfulBasis: 'legitimate_interests',
      source: 'contract renewal',
      noticeVersion: '2025-02',
      grantedAt: '2025-02-01T00:00:00.000Z',
    });
    const [row] = await (await db.replay(h.events)).rows('consents');
    assert.deepEqual(
      [row?.status, row?.lawful_basis, row?.notice_version, row?.source, row?.granted_at, row?.withdrawn_at],
      ['granted', 'legitimate_interests', '2025-02', 'contract renewal', '2025-02-01T00:00:00.000Z', null],
    );
  });

  it('a withdrawal with no prior grant of that purpose is recorded; the subject type comes from the subject’s other rows', async () => {
    const h = new History();
    h.append(`consent-${leadId}`, 'ConsentWithdrawn', { subjectId: leadId, purpose: 'phone', source: 'objection by mail', withdrawnAt: '2025-01-03T00:00:00.000Z' });
    grant(h, alice, 'sms', '2025-01-02T00:00:00.000Z', { subjectType: 'contact' });
    h.append(`consent-${alice}`, 'ConsentWithdrawn', { subjectId: alice, purpose: 'phone', source: 'call', withdrawnAt: '2025-01-04T00:00:00.000Z' });
    const rows = await (await db.replay(h.events)).rows('consents', 'subject_id, purpose');
    assert.deepEqual(
      rows.map((r) => [r.subject_id, r.purpose, r.subject_type, r.status, r.lawful_basis, r.granted_at]),
      [
        [alice, 'phone', 'contact', 'withdrawn', null, null],
        [alice, 'sms', 'contact', 'granted', 'consent', '2025-01-02T00:00:00.000Z'],
        [leadId, 'phone', null, 'withdrawn', null, null],
      ],
    );
  });

  it('erasure: requested, then erased; consent sources are nulled, the facts of consent remain', async () => {
    const h = new History();
    grant(h, leadId, 'sms', '2025-01-02T00:00:00.000Z', { subjectType: 'lead' });
    grant(h, alice, 'sms', '2025-01-02T00:00:00.000Z');
    const req = h.append(`consent-${leadId}`, 'SubjectErasureRequested', {
      subjectId: leadId,
      subjectType: 'lead',
      requestedBy: 'dpo-1',
      reason: 'subject_request',
      requestedAt: '2025-03-01T00:00:00.000Z',
    });
    let g = await db.replay(h.events);
    assert.deepEqual(await g.rows('erased_subjects'), [
      {
        tenant_id: 'tenant-a',
        subject_id: leadId,
        subject_type: 'lead',
        status: 'requested',
        reason: 'subject_request',
        requested_by: 'dpo-1',
        requested_at: '2025-03-01T00:00:00.000Z',
        erased_at: null,
        revision: 1,
        position: Number(req.position),
      },
    ]);
    h.append(`consent-${leadId}`, 'SubjectErased', { subjectId: leadId, subjectType: 'lead', erasedAt: '2025-03-01T00:01:00.000Z' });
    g = await db.replay(h.events);
    const [erased] = await g.rows('erased_subjects');
    assert.deepEqual([erased?.status, erased?.reason, erased?.erased_at, erased?.revision], ['erased', 'subject_request', '2025-03-01T00:01:00.000Z', 2]);
    const consents = await g.rows('consents', 'subject_id');
    assert.deepEqual(
      consents.map((r) => [r.subject_id, r.status, r.lawful_basis, r.notice_version, r.source, r.erased_at]),
      [
        [alice, 'granted', 'consent', '2025-01', 'web form /newsletter', null],
        [leadId, 'granted', 'consent', '2025-01', null, '2025-03-01T00:01:00.000Z'],
      ],
    );
  });

  it('SubjectErased without a prior request still records the erased subject', async () => {
    const h = new History();
    h.append(`consent-${alice}`, 'SubjectErased', { subjectId: alice, subjectType: 'contact', erasedAt: '2025-03-01T00:00:00.000Z' });
    const rows = await (await db.replay(h.events)).rows('erased_subjects');
    assert.deepEqual(
      rows.map((r) => [r.subject_id, r.subject_type, r.status, r.requested_at, r.erased_at]),
      [[alice, 'contact', 'erased', null, '2025-03-01T00:00:00.000Z']],
    );
  });

  it('keeps tenants apart', async () => {
    const h = new History();
    grant(h, alice, 'sms', '2025-01-02T00:00:00.000Z');
    grant(h, alice, 'sms', '2025-01-02T00:00:00.000Z', { tenantId: 'tenant-b' });
    h.append(`consent-${alice}`, 'ConsentWithdrawn', { subjectId: alice, purpose: 'sms', source: 'x', withdrawnAt: '2025-01-05T00:00:00.000Z' }, { tenantId: 'tenant-b' });
    h.append(`consent-${alice}`, 'SubjectErased', { subjectId: alice, subjectType: 'contact', erasedAt: '2025-01-06T00:00:00.000Z' }, { tenantId: 'tenant-b' });
    const g = await db.replay(h.events);
    assert.deepEqual(
      (await g.rows('consents', 'tenant_id')).map((r) => [r.tenant_id, r.status, r.source, r.erased_at]),
      [
        ['tenant-a', 'granted', 'web form /newsletter', null],
        ['tenant-b', 'withdrawn', null, '2025-01-06T00:00:00.000Z'],
      ],
    );
    assert.deepEqual((await g.rows('erased_subjects')).map((r) => r.tenant_id), ['tenant-b']);
  });

  it('replaying the same history into a fresh generation yields the same rows', async () => {
    const h = new History();
    grant(h, alice, 'sms', '2025-01-02T00:00:00.000Z');
    grant(h, leadId, 'phone', '2025-01-02T00:00:00.000Z', { subjectType: 'lead' });
    h.append(`consent-${alice}`, 'ConsentWithdrawn', { subjectId: alice, purpose: 'sms', source: 'x', withdrawnAt: '2025-01-05T00:00:00.000Z' });
    h.append(`consent-${leadId}`, 'SubjectErasureRequested', {
      subjectId: leadId,
      subjectType: 'lead',
      requestedBy: 'retention-job',
      reason: 'retention_policy',
      requestedAt: '2025-03-01T00:00:00.000Z',
    });
    h.append(`consent-${leadId}`, 'SubjectErased', { subjectId: leadId, subjectType: 'lead', erasedAt: '2025-03-01T00:00:00.000Z' });
    const first = await (await db.replay(h.events)).dump();
    const second = await (await db.replay(h.events)).dump();
    assert.deepEqual(second, first);
  });
});

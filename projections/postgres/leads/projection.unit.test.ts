import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { leadInactiveSql } from '../../../schemas/read-models/postgres/leads.js';
import { leadsProjection } from './projection.js';
import { History, openReadModel, uuid, type ReadModelDb } from '../testing.js';

const leadId = uuid(1, 'l');
const other = uuid(2, 'l');
const contactId = uuid(1, 'c');
const dealId = uuid(1, 'd');
const stream = `lead-${leadId}`;

function captured(h: History, id = leadId, options: { tenantId?: string; capturedAt?: string } = {}) {
  return h.append(
    `lead-${id}`,
    'LeadCaptured',
    {
      leadId: id,
      name: 'Jane Roe',
      email: 'jane@example.com',
      phone: '+1 555 0100',
      company: 'Initech',
      source: 'web',
      campaign: 'spring-2025',
      notes: 'Met at the booth',
      capturedAt: options.capturedAt ?? '2025-01-01T08:00:00.000Z',
    },
    options.tenantId ? { tenantId: options.tenantId } : {},
  );
}

describe('leads projection', () => {
  let db: ReadModelDb;
  before(async () => {
    db = await openReadModel(leadsProjection);
  });
  after(() => db.close());

  it('LeadCaptured inserts a New lead, active for 30 days from capture', async () => {
    const h = new History();
    const e = captured(h);
    const [row] = await (await db.replay(h.events)).rows('leads');
    assert.deepEqual(
      { ...row },
      {
        tenant_id: 'tenant-a',
        lead_id: leadId,
        name: 'Jane Roe',
        email: 'jane@example.com',
        phone: '+1 555 0100',
        notes: 'Met at the booth',
        bant_need: null,
        lost_reason: null,
        company: 'Initech',
        source: 'web',
        campaign: 'spring-2025',
        owner_id: null,
        status: 'New',
        score: null,
        score_factors: null,
        scored_at: null,
        bant_budget_minor: null,
        bant_budget_currency: null,
        bant_authority: null,
        bant_timeline: null,
        qualified_at: null,
        lost_at: null,
        converted_contact_id: null,
        converted_deal_id: null,
        converted_at: null,
        last_activity_kind: null,
        captured_at: '2025-01-01T08:00:00.000Z',
        last_activity_at: '2025-01-01T08:00:00.000Z',
        inactive_at: '2025-01-31T08:00:00.000Z',
        erased_at: null,
        updated_at: e.occurredAt,
        revision: 0,
        position: 1,
      },
    );
  });

  it('LeadAssigned, LeadQualified (BANT) and LeadScored (with factors) update the row and touch it', async () => {
    const h = new History();
    captured(h);
    h.append(stream, 'LeadAssigned', { leadId, ownerId: 'rep-7' }, { occurredAt: '2025-01-03T10:00:00.000Z' });
    h.append(
      stream,
      'LeadQualified',
      { leadId, budget: { amountMinor: 5_000_000, currency: 'EUR' }, authority: 'decision-maker', need: 'CRM migration', timeline: 'within-3-months' },
      { occurredAt: '2025-01-04T10:00:00.000Z' },
    );
    const scored = h.append(
      stream,
      'LeadScored',
      { leadId, score: 72, factors: [{ name: 'company size', points: 40 }, { name: 'engagement', points: 32 }] },
      { occurredAt: '2025-01-05T10:00:00.000Z' },
    );
    const [row] = await (await db.replay(h.events)).rows('leads');
    assert.equal(row?.owner_id, 'rep-7');
    assert.equal(row?.status, 'Qualified');
    assert.equal(row?.bant_budget_minor, 5_000_000);
    assert.equal(row?.bant_budget_currency, 'EUR');
    assert.equal(row?.bant_authority, 'decision-maker');
    assert.equal(row?.bant_need, 'CRM migration');
    assert.equal(row?.bant_timeline, 'within-3-months');
    assert.equal(row?.qualified_at, '2025-01-04T10:00:00.000Z');
    assert.equal(row?.score, 72);
    assert.deepEqual(row?.score_factors, [
      { name: 'company size', points: 40 },
      { name: 'engagement', points: 32 },
    ]);
    assert.equal(row?.scored_at, scored.occurredAt);
    assert.equal(row?.last_activity_at, '2025-01-05T10:00:00.000Z');
    assert.equal(row?.inactive_at, '2025-02-04T10:00:00.000Z');
    assert.equal(row?.revision, 3);
  });

  it('LeadActivityLogged moves last activity to the later of the activity and its logging, never backwards', async () => {
    const h = new History();
    captured(h);
    h.append(
      stream,
      'LeadActivityLogged',
      { leadId, kind: 'call', summary: 'Discussed needs', direction: 'outbound', occurredAt: '2025-02-10T09:00:00.000Z' },
      { occurredAt: '2025-02-10T09:30:00.000Z' },
    );
    let [row] = await (await db.replay(h.events)).rows('leads');
    assert.equal(row?.last_activity_at, '2025-02-10T09:30:00.000Z');
    assert.equal(row?.last_activity_kind, 'call');
    assert.equal(row?.inactive_at, '2025-03-12T09:30:00.000Z', '720 hours later, whatever the session time zone');
    // A back-dated activity logged at an earlier envelope time cannot move it back.
    h.append(
      stream,
      'LeadActivityLogged',
      { leadId, kind: 'note', summary: 'Old note', occurredAt: '2025-01-15T09:00:00.000Z' },
      { occurredAt: '2025-01-20T00:00:00.000Z' },
    );
    [row] = await (await db.replay(h.events)).rows('leads');
    assert.equal(row?.last_activity_at, '2025-02-10T09:30:00.000Z');
    assert.equal(row?.last_activity_kind, 'note');
  });

  it('LeadStatusChanged to Lost keeps the reason and ends inactivity tracking; Lost → Nurturing clears it and resumes', async () => {
    const h = new History();
    captured(h);
    const lost = h.append(stream, 'LeadStatusChanged', { leadId, from: 'New', to: 'Lost', reason: 'Chose a competitor' });
    let [row] = await (await db.replay(h.events)).rows('leads');
    assert.equal(row?.status, 'Lost');
    assert.equal(row?.lost_reason, 'Chose a competitor');
    assert.equal(row?.lost_at, lost.occurredAt);
    assert.equal(row?.inactive_at, null);
    const back = h.append(stream, 'LeadStatusChanged', { leadId, from: 'Lost', to: 'Nurturing', reason: 'They came back' }, { roles: ['manager'] });
    [row] = await (await db.replay(h.events)).rows('leads');
    assert.equal(row?.status, 'Nurturing');
    assert.equal(row?.lost_reason, null);
    assert.equal(row?.lost_at, null);
    assert.equal(row?.inactive_at, new Date(Date.parse(back.occurredAt) + 30 * 86_400_000).toISOString());
  });

  it('LeadConverted records the contact and deal ids and makes the lead final (never inactive)', async () => {
    const h = new History();
    captured(h);
    captured(h, other);
    const c = h.append(stream, 'LeadConverted', {
      leadId,
      contactId,
      dealId,
      deal: { name: 'Initech CRM', value: { amountMinor: 1_200_000, currency: 'EUR' }, pipeline: 'default' },
    });
    h.append(`lead-${other}`, 'LeadConverted', { leadId: other, contactId: uuid(2, 'c') });
    const rows = await (await db.replay(h.events)).rows('leads', 'lead_id');
    assert.deepEqual(
      rows.map((r) => [r.status, r.converted_contact_id, r.converted_deal_id, r.inactive_at]),
      [
        ['Converted', contactId, dealId, null],
        ['Converted', uuid(2, 'c'), null, null],
      ],
    );
    assert.equal(rows[0]?.converted_at, c.occurredAt);
  });

  it('the inactive predicate flags open leads untouched for 30 days', async () => {
    const h = new History();
    captured(h, leadId, { capturedAt: '2020-01-01T00:00:00.000Z' });
    captured(h, other, { capturedAt: '2999-01-01T00:00:00.000Z' });
    const g = await db.replay(h.events);
    const rows = await g.rows('leads', 'lead_id');
    const inactive = rows.map((r) => r.inactive_at !== null && Date.parse(String(r.inactive_at)) <= Date.now());
    assert.deepEqual(inactive, [true, false]);
    assert.equal(leadInactiveSql('l'), '(l.inactive_at IS NOT NULL AND l.inactive_at <= now())');
  });

  it('LeadErased and SubjectErased null every personal column; business fields stay', async () => {
    const h = new History();
    captured(h);
    captured(h, other);
    h.append(stream, 'LeadQualified', { leadId, authority: 'user', need: 'Something personal', timeline: 'unknown' });
    h.append(stream, 'LeadStatusChanged', { leadId, from: 'Qualified', to: 'Lost', reason: 'Personal reason' });
    const erased = h.append(stream, 'LeadErased', { leadId }, { roles: ['dpo'] });
    h.append(`consent-${other}`, 'SubjectErased', { subjectId: other, subjectType: 'lead', erasedAt: '2025-03-01T00:00:00.000Z' });
    h.append(`consent-${other}`, 'SubjectErased', { subjectId: other, subjectType: 'contact', erasedAt: '2025-03-01T00:00:00.000Z' });
    const rows = await (await db.replay(h.events)).rows('leads', 'lead_id');
    for (const row of rows) {
      for (const column of leadsProjection.personalColumns.leads ?? []) assert.equal(row[column], null, column);
      assert.equal(row.company, 'Initech');
      assert.equal(row.campaign, 'spring-2025');
      assert.equal(row.inactive_at, null);
    }
    assert.equal(rows[0]?.erased_at, erased.occurredAt);
    assert.equal(rows[0]?.status, 'Lost');
    assert.equal(rows[1]?.erased_at, '2025-03-01T00:00:00.000Z');
    assert.equal(rows[1]?.revision, 0);
  });

  it('keeps tenants apart', async () => {
    const h = new History();
    captured(h);
    captured(h, leadId, { tenantId: 'tenant-b' });
    h.append(stream, 'LeadAssigned', { leadId, ownerId: 'rep-b' }, { tenantId: 'tenant-b' });
    h.append(stream, 'LeadErased', { leadId }, { tenantId: 'tenant-b' });
    const rows = await (await db.replay(h.events)).rows('leads', 'tenant_id');
    assert.deepEqual(
      rows.map((r) => [r.tenant_id, r.owner_id, r.name]),
      [
        ['tenant-a', null, 'Jane Roe'],
        ['tenant-b', 'rep-b', null],
      ],
    );
  });

  it('replaying the same history into a fresh generation yields the same rows', async () => {
    const h = new History();
    captured(h);
    captured(h, other);
    h.append(stream, 'LeadScored', { leadId, score: 10, factors: [] });
    h.append(`lead-${other}`, 'LeadActivityLogged', { leadId: other, kind: 'email', summary: 'x', direction: 'inbound', occurredAt: '2025-01-02T00:00:00.000Z' });
    h.append(stream, 'LeadConverted', { leadId, contactId });
    const first = await (await db.replay(h.events)).dump();
    const second = await (await db.replay(h.events)).dump();
    assert.deepEqual(second, first);
  });
});

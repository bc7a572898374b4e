import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashMatcher, valueHash } from '../pii/scanner.js';
import { openPglite, pgliteClient, type SqlClient } from '../sql/client.js';
import { createEventStore, type EventStore } from './event-store.js';
import { eventStorePiiScanner } from './pii-scanner.js';
import { postgresEventStore } from './postgres/adapter.js';

/**
 * The erasure's event-store scan is bounded by the subject's records: it reads them through an index
 * (the subject's streams, and the records whose metadata names it), never the whole store. Stores without
 * encryption: a value in clear must be FOUND wherever the subject's records are.
 */
const KEY = 'k'.repeat(64);
const SALT = 'salt-j';
const SUBJECT = '0190a000-0000-7000-8000-00000000010a';
const LINKED = '0190a000-0000-7000-8000-00000000010b';
const matcher = (...values: string[]) => hashMatcher(KEY, SALT, values.map((v) => valueHash(KEY, SALT, v)));
const meta = (tenantId: string, subjectId?: string, correlationId = 'c') => ({
  tenantId,
  actor: { userId: 'u', roles: ['sales' as const] },
  correlationId,
  causationId: 'c',
  occurredAt: '2026-01-01T00:00:00.000Z',
  ...(subjectId ? { subjectId } : {}),
});
const contact = (id: string, email: string, tenantId = 't') => ({
  type: 'ContactCreated',
  data: { contactId: id, firstName: 'Ada', lastName: 'Lovelace', email, customFields: {}, tags: [] },
  metadata: meta(tenantId, id),
});
const deal = (dealId: string, contactId: string, name: string, subjectId?: string, correlationId?: string) => ({
  type: 'DealOpened',
  data: {
    dealId,
    name,
    contactId,
    value: { amountMinor: 100, currency: 'EUR' },
    pipeline: 'default',
    stage: 'new',
    probability: 10,
    expectedCloseDate: '2026-02-01',
    ownerId: 'u',
  },
  metadata: meta('t', subjectId, correlationId),
});
const uuid = (n: number) => `0190a000-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;

async function withStore(run: (store: EventStore, sql: SqlClient) => Promise<void>): Promise<void> {
  const sql = pgliteClient(await openPglite());
  const store = createEventStore(await postgresEventStore(sql));
  try {
    await run(store, sql);
  } finally {
    await store.close();
  }
}

describe('event-store PersonalDataScanner: bounded by the subject', { timeout: 60_000 }, () => {
  it('scans a record of the subject in another stream (a deal whose metadata names it), and the linked id\'s stream', async () => {
    await withStore(async (store) => {
      await store.append(`contact-${SUBJECT}`, [contact(SUBJECT, 'ada@example.com')]);
      await store.append(`lead-${LINKED}`, [
        { type: 'LeadCaptured', data: { leadId: LINKED, name: 'Ada Lovelace', email: 'ada@example.com', source: 'web', capturedAt: '2026-01-01T00:00:00.000Z' }, metadata: meta('t', LINKED) },
      ]);
      // The deal's name holds the subject's e-mail in clear, and its metadata names the subject.
      await store.append(`deal-${uuid(0x200)}`, [deal(uuid(0x200), SUBJECT, 'ada@example.com', SUBJECT)]);
      const r = await eventStorePiiScanner(store).scan({ tenantId: 't', subjectIds: [SUBJECT, LINKED], matcher: matcher('ada@example.com') });
      assert.ok(
        r.findings.some((f) => f.location === `deal-${uuid(0x200)}@0 data (stored bytes)`),
        JSON.stringify(r.findings),
      );
      assert.ok(r.findings.some((f) => f.location.startsWith(`contact-${SUBJECT}@0 data`)));
      assert.ok(r.findings.some((f) => f.location.startsWith(`lead-${LINKED}@0 data`)), 'the linked id\'s stream was not scanned');
      assert.equal(r.examined, 3);
    });
  });

  it('records examined do not grow with unrelated records (other subjects, other tenants, a look-alike in a string)', async () => {
    await withStore(async (store) => {
      await store.append(`contact-${SUBJECT}`, [contact(SUBJECT, 'ada@example.com')]);
      await store.append(`deal-${uuid(0x300)}`, [deal(uuid(0x300), SUBJECT, 'Deal', SUBJECT)]);
      const scan = () => eventStorePiiScanner(store, { batchSize: 7 }).scan({ tenantId: 't', subjectIds: [SUBJECT], matcher: matcher('ada@example.com') });
      const before = await scan();
      assert.equal(before.examined, 2);
      assert.equal(before.found, 2, JSON.stringify(before.findings)); // stored bytes + the decrypted view (no codec)

      // 150 unrelated records: other contacts with the same e-mail, deals of the subject's contact id that
      // do not name it in metadata, and one whose correlation id spells `"subjectId":"<SUBJECT>"` inside a
      // string (escaped in the stored JSON: it must not look like the subject to the index).
      for (let i = 0; i < 50; i++) {
        await store.append(`contact-${uuid(0x1000 + i)}`, [contact(uuid(0x1000 + i), 'ada@example.com')]);
        await store.append(`deal-${uuid(0x2000 + i)}`, [deal(uuid(0x2000 + i), SUBJECT, 'Other deal')]);
        await store.append(`contact-${uuid(0x3000 + i)}`, [contact(uuid(0x3000 + i), 'x@example.com', 'other-tenant')]);
      }
      await store.append(`deal-${uuid(0x4000)}`, [deal(uuid(0x4000), uuid(0x1000), 'ada@example.com', undefined, `"subjectId":"${SUBJECT}"`)]);
      const after = await scan();
      assert.equal(after.examined, before.examined, 'examined grew with records that are not the subject\'s');
      assert.deepEqual(after.findings, before.findings);

      // Another tenant's record under the subject's own stream id is read (the stream is looked up by name)
      // but not searched: a stream id is not tenant-scoped.
      await store.append(`consent-${SUBJECT}`, [
        { type: 'ConsentGranted', data: { subjectId: SUBJECT, subjectType: 'contact', purpose: 'marketing_email', lawfulBasis: 'consent', noticeVersion: 'v1', source: 'ada@example.com', grantedAt: '2026-01-01T00:00:00.000Z' }, metadata: meta('other-tenant', SUBJECT) },
      ]);
      const foreign = await scan();
      assert.equal(foreign.examined, before.examined + 1);
      assert.deepEqual(foreign.findings, before.findings, 'another tenant\'s record was searched');
    });
  });

  it('the lookup uses the subject index, not a scan of the table', async () => {
    await withStore(async (_store, sql) => {
      await sql.query('SET enable_seqscan = off');
      const { rows } = await sql.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT position FROM annals_events WHERE subject_id = ANY ($1::text[])`,
        [[SUBJECT]],
      );
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      assert.match(plan, /annals_events_subject_id/, plan);
    });
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../platform/logging/logger.js';
import { bearer, send, testApp, testConfig, token, type TestApp } from '../testing.js';
import { nameMatch } from '../contact/name-index.js';
import { CHECKPOINT_STREAM, processLeadConverted, readCheckpoint, startLeadConversionProcess } from './conversion-process.js';

const silent = createLogger({ level: 'silent', name: 'test' });
const clock = () => new Date();
const deal = { name: 'Pilot', value: { amountMinor: 12_000_00, currency: 'EUR' }, pipeline: 'default', stage: 'qualification' };

describe('lead-conversion process manager', () => {
  let t: TestApp;
  let h: Record<string, string>;
  before(async () => {
    t = await testApp();
    h = bearer(await token({ roles: ['sales'], sub: 'seller' }));
  });
  after(() => t.close());

  const captureAndConvert = async (lead: Record<string, unknown>, body: unknown) => {
    const captured = await send(t.app, 'POST', '/api/v1/leads', { source: 'event', ...lead }, h);
    assert.equal(captured.statusCode, 201, captured.body);
    const leadId = String(captured.json().id);
    const converted = await send(t.app, 'POST', `/api/v1/leads/${leadId}/convert`, body, { ...h, 'x-correlation-id': `conv-${leadId}` });
    assert.equal(converted.statusCode, 200, converted.body);
    const [event] = (await t.store.readStream(`lead-${leadId}`)).filter((e) => e.type === 'LeadConverted');
    return { leadId, contactId: String(converted.json().contactId), dealId: converted.json().dealId as string | undefined, event: event! };
  };

  it('creates the contact from the lead and opens the deal, under the conversion\'s correlation id', async () => {
    const c = await captureAndConvert({ name: 'Katherine G. Johnson', email: 'kj@example.com', phone: '+1 555 0100', company: 'NASA' }, { deal });
    await processLeadConverted({ store: t.store, logger: silent, clock, emailHashKey: testConfig().emailHashKey }, c.event);
    const [contact] = await t.store.readStream(`contact-${c.contactId}`);
    assert.equal(contact!.type, 'ContactCreated');
    assert.deepEqual(
      contact!.type === 'ContactCreated' && { first: contact!.data.firstName, last: contact!.data.lastName, email: contact!.data.email, company: contact!.data.company, from: contact!.data.convertedFromLeadId },
      { first: 'Katherine', last: 'G. Johnson', email: 'kj@example.com', company: 'NASA', from: c.leadId },
    );
    assert.equal(contact!.correlationId, `conv-${c.leadId}`);
    assert.equal(contact!.causationId, c.event.eventId);
    const [opened] = await t.store.readStream(`deal-${c.dealId}`);
    assert.equal(opened!.type, 'DealOpened');
    assert.equal(opened!.type === 'DealOpened' && opened!.data.contactId, c.contactId);
    assert.equal(opened!.type === 'DealOpened' && opened!.data.probability, 20);
    assert.equal(opened!.correlationId, `conv-${c.leadId}`);
    // The contact holds its email: a second contact with it is refused.
    const dup = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'K', email: 'KJ@example.com' }, h);
    assert.equal(dup.statusCode, 409);
    assert.equal(dup.json().existingId, c.contactId);
    // And it is in the name + company index: the CSV import matches it without an email.
    assert.equal(
      await nameMatch({ store: t.store, key: testConfig().emailHashKey }, contact!.tenantId, { firstName: 'Katherine', lastName: 'G. Johnson', company: 'NASA' }),
      c.contactId,
    );
  });

  it('a crash between the contact and the deal step, then a rerun: one contact, one deal', async () => {
    const c = await captureAndConvert({ name: 'Dorothy Vaughan', email: 'dv@example.com' }, { deal });
    const deps = { store: t.store, logger: silent, clock, emailHashKey: testConfig().emailHashKey };
    await assert.rejects(
      processLeadConverted({ ...deps, afterContactStep: () => { throw new Error('simulated crash'); } }, c.event),
      /simulated crash/,
    );
    assert.equal((await t.store.readStream(`contact-${c.contactId}`)).length, 1);
    assert.equal((await t.store.readStream(`deal-${c.dealId}`)).length, 0);
    await processLeadConverted(deps, c.event);
    await processLeadConverted(deps, c.event);
    await Promise.all([processLeadConverted(deps, c.event), processLeadConverted(deps, c.event)]);
    assert.equal((await t.store.readStream(`contact-${c.contactId}`)).length, 1, 'one contact');
    assert.equal((await t.store.readStream(`deal-${c.dealId}`)).length, 1, 'one deal');
  });

  it('a lead whose email an active contact already has converts into that contact', async () => {
    const existing = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'Mary', email: 'mj@example.com' }, h);
    const c = await captureAndConvert({ name: 'Mary Jackson', email: 'mj@example.com' }, {});
    assert.equal(c.contactId, existing.json().id);
    await processLeadConverted({ store: t.store, logger: silent, clock, emailHashKey: testConfig().emailHashKey }, c.event);
    assert.equal((await t.store.readStream(`contact-${c.contactId}`)).length, 1, 'the existing contact is untouched');
  });

  it('concurrent runs claim the email once, for the new contact; an email taken meanwhile is left off, never shared', async () => {
    const deps = { store: t.store, logger: silent, clock, emailHashKey: testConfig().emailHashKey };
    const free = await captureAndConvert({ name: 'Annie Easley', email: 'ae@example.com' }, {});
    await Promise.all([processLeadConverted(deps, free.event), processLeadConverted(deps, free.event), processLeadConverted(deps, free.event)]);
    const dup = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'A', email: 'AE@example.com' }, h);
    assert.equal(dup.statusCode, 409, dup.body);
    assert.equal(dup.json().existingId, free.contactId);

    const taken = await captureAndConvert({ name: 'Christine Darden', email: 'cd@example.com' }, {});
    // Another contact takes the email after the conversion, before the process creates the contact.
    const other = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'C', email: 'cd@example.com' }, h);
    assert.equal(other.statusCode, 201, other.body);
    await Promise.all([processLeadConverted(deps, taken.event), processLeadConverted(deps, taken.event)]);
    const created = await t.store.readStream(`contact-${taken.contactId}`);
    assert.equal(created.length, 1);
    assert.equal(created[0]!.type === 'ContactCreated' ? created[0]!.data.email : 'not a create', undefined, 'created without the email');
    const again = await send(t.app, 'POST', '/api/v1/contacts', { firstName: 'C', email: 'cd@example.com' }, h);
    assert.equal(again.json().existingId, other.json().id, 'the email stays with the contact that took it');
  });

  it('runs from the subscription, checkpoints, and resumes from the checkpoint after a restart', async () => {
    const c1 = await captureAndConvert({ name: 'Annie Easley' }, {});
    const run = async () => {
      const controller = new AbortController();
      let caught!: () => void;
      const caughtUp = new Promise<void>((r) => (caught = r));
      const done = startLeadConversionProcess({ store: t.store, logger: silent, clock, signal: controller.signal, onCaughtUp: () => caught() });
      await caughtUp;
      controller.abort();
      await done;
    };
    await run();
    assert.equal((await t.store.readStream(`contact-${c1.contactId}`)).length, 1);
    const checkpoint = await readCheckpoint(t.store);
    assert.ok(checkpoint !== undefined && checkpoint >= c1.event.position);
    const checkpoints = (await t.store.readStream(CHECKPOINT_STREAM)).length;

    const c2 = await captureAndConvert({ name: 'Christine Darden' }, { deal });
    await run();
    assert.equal((await t.store.readStream(`contact-${c2.contactId}`)).length, 1);
    assert.equal((await t.store.readStream(`deal-${c2.dealId}`)).length, 1);
    assert.equal((await t.store.readStream(`contact-${c1.contactId}`)).length, 1, 'the first conversion is not redone');
    assert.equal((await t.store.readStream(CHECKPOINT_STREAM)).length, checkpoints + 1, 'one checkpoint per batch with conversions, none for its own checkpoint events');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConsentPurpose, Role } from '../../schemas/events/common.js';
import type { ContactEvent } from '../../schemas/events/contact.js';
import { validateNewEvent } from '../../schemas/events/registry.js';
import type { CommandMetadata } from '../kernel/decider.js';
import { spec } from '../kernel/spec.js';
import type { ContactCommand, CreateContactData, LogContactInteractionData, SurvivorContext, UpdateContactData } from './commands.js';
import { contactDecider } from './decide.js';

const contactId = '01950000-0000-7000-8000-00000000000a';
const survivorId = '01950000-0000-7000-8000-00000000000b';
const otherId = '01950000-0000-7000-8000-00000000000c';
const now = new Date('2025-03-01T10:00:00.000Z');
const meta = (...roles: Role[]): CommandMetadata => ({ now, actor: { userId: 'user-1', roles: roles.length ? roles : ['sales'] }, tenantId: 'tenant-1' });

// ── events ────────────────────────────────────────────────────────────────────────────────────
const created: ContactEvent = {
  type: 'ContactCreated',
  data: {
    contactId,
    firstName: 'Grace',
    lastName: 'Hopper',
    email: 'grace@example.com',
    company: 'Navy',
    customFields: { shoeSize: '38', language: 'en' },
    tags: ['vip', 'cobol'],
  },
};
const merged: ContactEvent = { type: 'ContactMerged', data: { contactId, survivorId } };
const erased: ContactEvent = { type: 'ContactErased', data: { contactId } };

// ── commands ──────────────────────────────────────────────────────────────────────────────────
const create = (data: Partial<CreateContactData> = {}): ContactCommand => ({
  type: 'CreateContact',
  data: {
    contactId,
    firstName: 'Grace',
    lastName: 'Hopper',
    email: 'grace@example.com',
    company: 'Navy',
    customFields: { shoeSize: '38', language: 'en' },
    tags: ['vip', 'cobol'],
    ...data,
  },
  metadata: meta(),
});
// Email uniqueness is the shell's (contact/reservations.ts, tested in reservations.unit.test.ts), not the decider's.
const update = (data: UpdateContactData): ContactCommand => ({
  type: 'UpdateContact',
  data,
  metadata: meta(),
});
const logInteraction = (data: Partial<LogContactInteractionData> = {}, active: readonly ConsentPurpose[] = []): ContactCommand => ({
  type: 'LogContactInteraction',
  data: { kind: 'call', channel: 'phone', summary: 'Asked about compilers', outcome: 'Demo booked', direction: 'inbound', ...data },
  metadata: meta(),
  context: { activeConsents: active },
});
const merge = (target = survivorId, survivorStatus: SurvivorContext['survivorStatus'] = 'active', ...roles: Role[]): ContactCommand => ({
  type: 'MergeContact',
  data: { survivorId: target },
  metadata: meta(...(roles.length ? roles : (['manager'] as Role[]))),
  context: { survivorStatus },
});
const erase = (...roles: Role[]): ContactCommand => ({ type: 'EraseContact', data: {}, metadata: meta(...roles) });

/** Every success also proves the produced events satisfy the published schemas. */
function accepts(given: readonly ContactEvent[], command: ContactCommand, expected: readonly ContactEvent[]): void {
  spec(contactDecider).given(given).when(command).then(expected);
  for (const e of expected) validateNewEvent(e);
}
/** The refusal, for tests that also check its class or details. */
const refusal = (given: readonly ContactEvent[], command: ContactCommand, code: string) => spec(contactDecider).given(given).when(command).thenThrows(code);
function rejects(given: readonly ContactEvent[], command: ContactCommand, code: string): void {
  refusal(given, command, code);
}

describe('contact decider', () => {
  describe('CreateContact', () => {
    it('creates a contact', () => accepts([], create(), [created]));
    it('creates a contact with a single name and no email', () => {
      accepts([], create({ firstName: 'Cher', lastName: '', email: undefined, company: undefined, customFields: {}, tags: [] }), [
        { type: 'ContactCreated', data: { contactId, firstName: 'Cher', lastName: '', customFields: {}, tags: [] } },
      ]);
    });
    it('refuses a second create of the same id (conflict)', () => {
      const e = refusal([created], create(), 'CONTACT_ERR_ALREADY_EXISTS');
      assert.equal(e.errorClass, 'conflict');
    });
  });

  describe('UpdateContact', () => {
    it('emits only the fields that changed', () => {
      accepts([created], update({ firstName: 'Grace', lastName: 'Brewster Hopper', company: 'Navy', title: 'Rear Admiral' }), [
        { type: 'ContactUpdated', data: { contactId, lastName: 'Brewster Hopper', title: 'Rear Admiral' } },
      ]);
    });
    it('clears optional fields with null, but only those that are set', () => {
      accepts([created], update({ email: null, phone: null }), [{ type: 'ContactUpdated', data: { contactId, email: null } }]);
    });
    it('merges custom fields key by key and replaces the tag set', () => {
      accepts([created], update({ customFields: { shoeSize: '38', language: 'fr', hobby: 'sailing', unknown: null }, tags: ['vip'] }), [
        { type: 'ContactUpdated', data: { contactId, customFields: { language: 'fr', hobby: 'sailing' }, tags: ['vip'] } },
      ]);
      accepts([created], update({ customFields: { shoeSize: null } }), [{ type: 'ContactUpdated', data: { contactId, customFields: { shoeSize: null } } }]);
    });
    it('folds earlier updates before comparing', () => {
      const renamed: ContactEvent = { type: 'ContactUpdated', data: { contactId, lastName: 'Murray', email: null, customFields: { shoeSize: null } } };
      accepts([created, renamed], update({ lastName: 'Hopper', email: 'grace@example.com', customFields: { shoeSize: '38' } }), [
        { type: 'ContactUpdated', data: { contactId, lastName: 'Hopper', email: 'grace@example.com', customFields: { shoeSize: '38' } } },
      ]);
    });
    it('emits nothing when nothing changed (tags compared as a set)', () => {
      spec(contactDecider)
        .given([created])
        .when(update({ firstName: 'Grace', email: 'grace@example.com', phone: null, tags: ['cobol', 'vip'], customFields: { language: 'en' } }))
        .thenNothing();
      spec(contactDecider).given([created]).when(update({})).thenNothing();
    });
    it('changes the email', () => {
      accepts([created], update({ email: 'g.hopper@example.com' }), [
        { type: 'ContactUpdated', data: { contactId, email: 'g.hopper@example.com' } },
      ]);
    });
    it('refuses growing beyond 100 custom fields', () => {
      const many = Object.fromEntries(Array.from({ length: 99 }, (_, i) => [`field${i}`, 'x']));
      rejects([created], update({ customFields: many }), 'CONTACT_ERR_CUSTOM_FIELD_LIMIT');
    });
    it('refuses a contact that does not exist (not found)', () => {
      const e = refusal([], update({ title: 'CEO' }), 'CONTACT_ERR_NOT_FOUND');
      assert.equal(e.errorClass, 'not-found');
    });
    it('refuses a merged duplicate, pointing to the survivor', () => {
      const e = refusal([created, merged], update({ title: 'CEO' }), 'CONTACT_ERR_MERGED');
      assert.equal(e.details?.['survivorId'], survivorId);
    });
    it('refuses an erased contact', () => rejects([created, erased], update({ title: 'CEO' }), 'CONTACT_ERR_ERASED'));
  });

  describe('LogContactInteraction', () => {
    it('logs an interaction at the command time by default', () => {
      accepts([created], logInteraction(), [
        {
          type: 'ContactInteractionLogged',
          data: {
            contactId,
            kind: 'call',
            channel: 'phone',
            summary: 'Asked about compilers',
            outcome: 'Demo booked',
            direction: 'inbound',
            occurredAt: now.toISOString(),
          },
        },
      ]);
    });
    it('logs an earlier note without a direction', () => {
      accepts([created], logInteraction({ kind: 'note', channel: 'crm', direction: undefined, outcome: undefined, occurredAt: '2025-02-01T08:00:00+01:00' }), [
        {
          type: 'ContactInteractionLogged',
          data: { contactId, kind: 'note', channel: 'crm', summary: 'Asked about compilers', occurredAt: '2025-02-01T08:00:00+01:00' },
        },
      ]);
    });
    it('logs outbound marketing when consent for that purpose is active', () => {
      accepts([created], logInteraction({ kind: 'email', channel: 'newsletter', direction: 'outbound', marketingPurpose: 'marketing_email' }, ['marketing_email']), [
        {
          type: 'ContactInteractionLogged',
          data: {
            contactId,
            kind: 'email',
            channel: 'newsletter',
            summary: 'Asked about compilers',
            outcome: 'Demo booked',
            direction: 'outbound',
            marketingPurpose: 'marketing_email',
            occurredAt: now.toISOString(),
          },
        },
      ]);
    });
    it('refuses outbound marketing without active consent for that purpose, naming it', () => {
      const e = refusal([created], logInteraction({ direction: 'outbound', marketingPurpose: 'phone' }, ['marketing_email']), 'CONTACT_ERR_CONSENT_REQUIRED');
      assert.match(e.message, /phone/);
      assert.deepEqual(e.details, { purpose: 'phone' });
      assert.equal(e.errorClass, 'invariant');
    });
    it('refuses a marketing purpose on an inbound interaction', () => {
      rejects([created], logInteraction({ direction: 'inbound', marketingPurpose: 'sms' }, ['sms']), 'CONTACT_ERR_MARKETING_NOT_OUTBOUND');
    });
    it('refuses an interaction in the future beyond clock skew', () => {
      rejects([created], logInteraction({ occurredAt: '2025-03-02T10:00:00Z' }), 'CONTACT_ERR_INTERACTION_IN_FUTURE');
    });
    it('refuses a contact that does not exist', () => rejects([], logInteraction(), 'CONTACT_ERR_NOT_FOUND'));
    it('refuses a merged duplicate', () => rejects([created, merged], logInteraction(), 'CONTACT_ERR_MERGED'));
    it('refuses an erased contact', () => rejects([created, erased], logInteraction(), 'CONTACT_ERR_ERASED'));
  });

  describe('MergeContact', () => {
    it('merges a duplicate into an active survivor (manager)', () => accepts([created], merge(), [merged]));
    it('lets an admin merge too', () => accepts([created], merge(survivorId, 'active', 'admin'), [merged]));
    it('changes nothing when the same merge is repeated', () => spec(contactDecider).given([created, merged]).when(merge()).thenNothing());
    it('refuses without the manager role (forbidden)', () => {
      const e = refusal([created], merge(survivorId, 'active', 'sales'), 'CONTACT_ERR_MERGE_REQUIRES_MANAGER');
      assert.equal(e.errorClass, 'forbidden');
    });
    it('refuses to merge a contact into itself', () => rejects([created], merge(contactId), 'CONTACT_ERR_MERGE_INTO_SELF'));
    it('refuses a survivor that does not exist', () => {
      const e = refusal([created], merge(survivorId, 'not-found'), 'CONTACT_ERR_SURVIVOR_NOT_FOUND');
      assert.equal(e.errorClass, 'not-found');
    });
    it('refuses a survivor that is itself merged or erased', () => {
      rejects([created], merge(survivorId, 'merged'), 'CONTACT_ERR_SURVIVOR_INACTIVE');
      rejects([created], merge(survivorId, 'erased'), 'CONTACT_ERR_SURVIVOR_INACTIVE');
    });
    it('refuses to re-merge a duplicate into another survivor', () => rejects([created, merged], merge(otherId), 'CONTACT_ERR_MERGED'));
    it('refuses a contact that does not exist', () => rejects([], merge(), 'CONTACT_ERR_NOT_FOUND'));
    it('refuses an erased contact', () => rejects([created, erased], merge(), 'CONTACT_ERR_ERASED'));
  });

  describe('EraseContact', () => {
    it('erases a contact for a dpo', () => accepts([created], erase('dpo'), [erased]));
    it('erases a merged duplicate for an admin (erasure trumps read-only)', () => accepts([created, merged], erase('admin'), [erased]));
    it('changes nothing when already erased', () => spec(contactDecider).given([created, erased]).when(erase('dpo')).thenNothing());
    it('refuses anyone but dpo or admin (forbidden)', () => {
      const e = refusal([created], erase('manager'), 'CONTACT_ERR_ERASE_FORBIDDEN');
      assert.equal(e.errorClass, 'forbidden');
    });
    it('refuses a contact that does not exist', () => rejects([], erase('dpo'), 'CONTACT_ERR_NOT_FOUND'));
  });
});

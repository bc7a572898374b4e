import { createHmac } from 'node:crypto';
import { WrongExpectedRevisionError } from '../../platform/event-store/port.js';
import type { CommandEnvelope } from '../kernel/handle-command.js';
import { contactStatus, reservationMetadata, type ClaimDeps } from './email-claims.js';

/**
 * The name + company index (SPEC: contact CSV import reports rows that match an existing contact "by
 * name + company"). Built like the email reservations, without a read model, so a contact created a
 * moment ago through the API is found: one stream per (tenant, normalized first name, last name,
 * company), named by a keyed hash, holding `ContactNameIndexed` / `ContactNameUnindexed` entries.
 *
 * Unlike an email it is not a uniqueness rule (two real people may share a name at one company), so
 * entries are added, never refused. The contact streams are the truth: an entry whose contact is absent
 * (a write that crashed after indexing), merged or erased is skipped by the reader, so nothing dangling
 * ever matters. Contacts without a company are not indexed: a name alone is too weak a match.
 */
export interface NameKeyFields {
  readonly firstName: string;
  readonly lastName: string;
  readonly company?: string | undefined;
}

const normalize = (s: string) => s.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();

/** The normalized key, or undefined when the contact has no company (not indexed). */
export function nameKey(fields: NameKeyFields): string | undefined {
  const company = fields.company === undefined ? '' : normalize(fields.company);
  if (company === '') return undefined;
  return `${normalize(fields.firstName)}\n${normalize(fields.lastName)}\n${company}`;
}

function indexStream(deps: ClaimDeps, tenantId: string, key: string): string {
  return `contactname-${createHmac('sha256', deps.key).update(`${tenantId}\n${key}`).digest('hex')}`;
}

/** The ids the index holds for `key`, oldest first, and the stream's revision. */
async function readIndex(deps: ClaimDeps, stream: string): Promise<{ ids: string[]; revision: bigint }> {
  const events = await deps.store.readStream(stream);
  const ids: string[] = [];
  for (const e of events) {
    const id = (e.data as { contactId: string }).contactId;
    if (e.type === 'ContactNameIndexed' && !ids.includes(id)) ids.push(id);
    else if (e.type === 'ContactNameUnindexed' && ids.includes(id)) ids.splice(ids.indexOf(id), 1);
  }
  return { ids, revision: events.length ? events[events.length - 1]!.streamRevision : -1n };
}

/** The oldest active contact of the tenant with this name and company, if any. */
export async function nameMatch(deps: ClaimDeps, tenantId: string, fields: NameKeyFields): Promise<string | undefined> {
  const key = nameKey(fields);
  if (key === undefined) return undefined;
  for (const id of (await readIndex(deps, indexStream(deps, tenantId, key))).ids) {
    if ((await contactStatus(deps.store, id, tenantId)) === 'Active') return id;
  }
  return undefined;
}

/**
 * Adds `contactId` under its name + company; returns whether this call appended (so a failed write
 * takes it out again). Idempotent: a contact already indexed appends nothing.
 */
export async function indexName(deps: ClaimDeps, envelope: CommandEnvelope, fields: NameKeyFields, contactId: string, now: Date): Promise<boolean> {
  return changeIndex(deps, envelope, fields, contactId, now, 'ContactNameIndexed', undefined);
}

/** Takes `contactId` out of the index under `fields`; a no-op when it is not there (safe to retry). */
export async function unindexName(
  deps: ClaimDeps,
  envelope: CommandEnvelope,
  fields: NameKeyFields,
  contactId: string,
  reason: 'changed' | 'merged' | 'erased' | 'write-failed',
  now: Date,
): Promise<void> {
  await changeIndex(deps, envelope, fields, contactId, now, 'ContactNameUnindexed', reason);
}

async function changeIndex(
  deps: ClaimDeps,
  envelope: CommandEnvelope,
  fields: NameKeyFields,
  contactId: string,
  now: Date,
  type: 'ContactNameIndexed' | 'ContactNameUnindexed',
  reason: string | undefined,
): Promise<boolean> {
  const key = nameKey(fields);
  if (key === undefined) return false;
  const stream = indexStream(deps, envelope.tenantId, key);
  for (let attempt = 0; attempt < 10; attempt++) {
    const { ids, revision } = await readIndex(deps, stream);
    if (ids.includes(contactId) === (type === 'ContactNameIndexed')) return false;
    try {
      // At the revision read, so two concurrent writers for one contact never both append.
      await deps.store.append(stream, [{ type, data: reason ? { contactId, reason } : { contactId }, metadata: reservationMetadata(envelope, now) }], {
        expectedRevision: revision === -1n ? 'no_stream' : revision,
      });
      return true;
    } catch (e) {
      if (!(e instanceof WrongExpectedRevisionError)) throw e;
    }
  }
  throw new Error(`name index stream ${stream} kept changing`);
}

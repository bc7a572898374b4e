import { createHmac } from 'node:crypto';
import { WrongExpectedRevisionError } from '../../platform/event-store/port.js';
import type { CommandEnvelope } from '../kernel/handle-command.js';
import { hashedStreamName } from '../kernel/stream-keys.js';
import { readContact, reservationMetadata, type ClaimDeps } from './email-claims.js';

/**
 * The name + company index (SPEC: contact CSV import reports rows that match an existing contact "by
 * name + company"). Built like the email reservations, without a read model, so a contact created a
 * moment ago through the API is found: one stream per (tenant, normalized first name, last name,
 * company), named by a keyed hash, holding `ContactNameIndexed` / `ContactNameUnindexed` entries.
 *
 * Unlike an email it is not a uniqueness rule (two real people may share a name at one company), so
 * entries are added, never refused. The contact streams are the truth: the reader keeps an entry only
 * while its contact is active and still carries that name + company, so an entry left by a write that
 * crashed, failed or was later renamed never matters. That is why nothing is unindexed any more: a late
 * unindex could remove the entry of a contact that took the name back (a rename there and back again,
 * an idempotent retry overtaking its original); entries only grow, by one per name a contact ever had.
 * Contacts without a company are not indexed: a name alone is too weak a match.
 */
export interface NameKeyFields {
  readonly firstName: string;
  readonly lastName: string;
  readonly company?: string | undefined;
}

const normalize = (s: string) => s.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();

/** The normalized key (first name, last name, company), or undefined when there is no company (not indexed). */
export function nameKey(fields: NameKeyFields): readonly [string, string, string] | undefined {
  const company = fields.company === undefined ? '' : normalize(fields.company);
  if (company === '') return undefined;
  return [normalize(fields.firstName), normalize(fields.lastName), company];
}

export function sameNameKey(a: NameKeyFields, b: NameKeyFields): boolean {
  const x = nameKey(a);
  const y = nameKey(b);
  return x !== undefined && y !== undefined && x.every((part, i) => part === y[i]);
}

function indexStream(deps: ClaimDeps, tenantId: string, key: readonly string[]): string {
  return hashedStreamName('contactname', [tenantId, ...key], deps.key);
}

/**
 * The name used before the unambiguous key derivation (parts joined with newlines). Only read: the
 * reader merges its entries, so contacts indexed before the upgrade are still found.
 * TODO(1.0): drop together with a backfill that indexes every active contact under the new name.
 */
function legacyIndexStream(deps: ClaimDeps, tenantId: string, key: readonly string[]): string {
  return `contactname-${createHmac('sha256', deps.legacyKey ?? deps.key).update(`${tenantId}\n${key.join('\n')}`).digest('hex')}`;
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

/** The oldest active contact of the tenant that has this name and company now, if any. */
export async function nameMatch(deps: ClaimDeps, tenantId: string, fields: NameKeyFields): Promise<string | undefined> {
  const key = nameKey(fields);
  if (key === undefined) return undefined;
  const legacy = (await readIndex(deps, legacyIndexStream(deps, tenantId, key))).ids;
  const current = (await readIndex(deps, indexStream(deps, tenantId, key))).ids;
  for (const id of [...new Set([...legacy, ...current])]) {
    const { state } = await readContact(deps.store, id, tenantId);
    if (state.status === 'Active' && sameNameKey(state, fields)) return id;
  }
  return undefined;
}

/** Adds `contactId` under its name + company; returns whether this call appended. Idempotent: a contact already indexed appends nothing. */
export async function indexName(deps: ClaimDeps, envelope: CommandEnvelope, fields: NameKeyFields, contactId: string, now: Date): Promise<boolean> {
  const key = nameKey(fields);
  if (key === undefined) return false;
  const stream = indexStream(deps, envelope.tenantId, key);
  for (let attempt = 0; attempt < 10; attempt++) {
    const { ids, revision } = await readIndex(deps, stream);
    if (ids.includes(contactId)) return false;
    try {
      // At the revision read, so two concurrent writers for one contact never both append.
      await deps.store.append(stream, [{ type: 'ContactNameIndexed', data: { contactId }, metadata: reservationMetadata(envelope, now) }], {
        expectedRevision: revision === -1n ? 'no_stream' : revision,
      });
      return true;
    } catch (e) {
      if (!(e instanceof WrongExpectedRevisionError)) throw e;
    }
  }
  throw new Error(`name index stream ${stream} kept changing`);
}

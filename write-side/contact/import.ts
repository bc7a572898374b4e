import { z } from 'zod';
import type { EventStore } from '../../platform/event-store/event-store.js';
import { streamName } from '../../schemas/events/streams.js';
import type { CommandMetadata } from '../kernel/decider.js';
import { DomainError } from '../kernel/errors.js';
import { claimIdempotentId, handleCommand, type CommandEnvelope } from '../kernel/handle-command.js';
import { tupleDigest } from '../kernel/stream-keys.js';
import { foldEvents } from '../http/command.js';
import { HttpError } from '../http/problem.js';
import { strictDeep } from '../http/schemas.js';
import { CreateContactBody, UpdateContactData } from './commands.js';
import { ContactErrorCode, contactDecider } from './decide.js';
import { emailOwner, type ClaimDeps } from './email-claims.js';
import { ImportErrorCode, type CsvRow, type ImportColumns } from './import-csv.js';
import { nameMatch } from './name-index.js';
import { reserveContactKeys } from './reservations.js';
import type { ActiveContactState } from './state.js';

/**
 * The contact CSV import, row by row (SPEC: contact). Each row is validated with the very schema of
 * `POST /contacts`, matched against the tenant's contacts (by email through the email reservations, else
 * by name + company through the name index, both of which also hold the rows imported a moment before,
 * so duplicates within the file count too), and then created, or, as a duplicate, skipped, updated or
 * merged. Every row is all-or-nothing: its contact event is one append, and the reservations taken for it
 * are claimed from the state of that very append and taken back when it fails (reservations.ts).
 *
 * `onDuplicate`:
 * - `skip`: the row is reported with the existing contact's id; nothing is written.
 * - `update`: the row's non-empty cells overwrite the existing contact's fields (the update command:
 *   changed fields only; an empty cell leaves a field alone, it never clears it; tags replace the set,
 *   custom fields are set key by key).
 * - `merge`: fills the gaps, never overwrites: the row sets only the fields the existing contact lacks,
 *   adds custom fields it does not have, and adds the row's tags to its own. This is what CRMs call
 *   merging an import into a record; it is not the `POST /contacts/{id}/merge` command, which would
 *   create a second contact only to make it a read-only pointer (and needs a manager).
 */
export type OnDuplicate = 'skip' | 'update' | 'merge';

export const ImportRowError = z.object({
  field: z.string().describe('The contact field: `email`, `customFields.tier`, `tags.2`.'),
  column: z.string().optional().describe('The CSV column that fed it.'),
  rule: z.string(),
  issue: z.string().describe('The zod issue code.'),
});

export const ImportRowReport = z.object({
  row: z.number().int().describe('Data row number, 1 for the first row after the header.'),
  line: z.number().int().describe('The file line the row starts on (the header is line 1).'),
  status: z.enum(['created', 'updated', 'merged', 'skipped', 'rejected']),
  id: z.string().optional().describe('The contact the row created.'),
  existingId: z.string().optional().describe('The existing contact the row matched (skipped, updated, merged).'),
  matchedBy: z.enum(['email', 'name+company']).optional(),
  reason: z.string().optional().describe('Why the row was rejected: a stable code.'),
  detail: z.string().optional(),
  errors: z.array(ImportRowError).optional().describe('Every invalid field of a rejected row.'),
});
export type ImportRowReport = z.infer<typeof ImportRowReport>;

export const ImportSummary = z.object({
  created: z.number().int(),
  updated: z.number().int(),
  merged: z.number().int(),
  skipped: z.number().int(),
  rejected: z.number().int(),
});

export const ImportReport = z
  .object({
    summary: ImportSummary,
    columns: z.object({ mapped: z.record(z.string(), z.string()), ignored: z.array(z.string()) }),
    rows: z.array(ImportRowReport),
  })
  .meta({ id: 'ContactImportReport' });
export type ImportReport = z.infer<typeof ImportReport>;

export interface ImportDeps extends ClaimDeps {
  readonly store: EventStore;
  readonly clock: () => Date;
  readonly ids: () => string;
}

export interface ImportContext {
  /** The request's envelope (tenant, actor, correlation); each row derives its own idempotency key from it. */
  readonly envelope: CommandEnvelope;
  readonly onDuplicate: OnDuplicate;
  /** Names the CSV column of a field in row errors. */
  readonly headerOf: (target: string) => string | undefined;
}

const CreateRow = strictDeep(CreateContactBody);
const UpdateRow = strictDeep(UpdateContactData);
type CreateRow = z.infer<typeof CreateRow>;
type Match = { readonly contact: ActiveContactState; readonly revision: bigint; readonly by: 'email' | 'name+company' };

/**
 * Imports `rows`, returning the report. A stop in the middle (a malformed record, a limit) is an
 * HttpError that carries the report of the rows done so far, as `report`: they stay imported.
 */
export async function importContacts(deps: ImportDeps, ctx: ImportContext, columns: ImportColumns, rows: AsyncIterable<CsvRow>): Promise<ImportReport> {
  const report = emptyReport(columns);
  try {
    for await (const row of rows) {
      const result = await importRow(deps, ctx, row);
      report.summary[result.status]++;
      report.rows.push(result);
    }
  } catch (e) {
    if (e instanceof HttpError) throw new HttpError(e.statusCode, e.code, e.message, { ...e.details, report });
    throw e;
  }
  return report;
}

export function emptyReport(columns: ImportColumns): ImportReport {
  return { summary: { created: 0, updated: 0, merged: 0, skipped: 0, rejected: 0 }, columns, rows: [] };
}

async function importRow(deps: ImportDeps, ctx: ImportContext, csv: CsvRow): Promise<ImportRowReport> {
  const at = { row: csv.row, line: csv.line };
  if (csv.fieldCountProblem) return { ...at, status: 'rejected', reason: ImportErrorCode.FieldCount, detail: csv.fieldCountProblem };
  const body = toBody(csv.values);
  const parsed = CreateRow.safeParse(body);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((i) => {
      const field = i.path.map(String).join('.');
      const column = ctx.headerOf(field.startsWith('customFields.') ? `custom.${field.slice('customFields.'.length)}` : field.split('.')[0]!);
      const rule = i.code === 'invalid_type' && body[field] === undefined ? `${field} is required` : i.message;
      return { field, ...(column === undefined ? {} : { column }), rule, issue: i.code };
    });
    return { ...at, status: 'rejected', reason: ImportErrorCode.InvalidRow, detail: `row ${csv.row}: ${errors.length} invalid field(s): ${errors.map((e) => e.field).join(', ')}`, errors };
  }
  const envelope = rowEnvelope(deps, ctx, csv);
  try {
    const match = await findMatch(deps, envelope.tenantId, parsed.data);
    if (match) {
      // A retried import finds the contact this very row created the first time: report it again.
      const ours = await createdByRow(deps.store, match.contact.contactId, envelope);
      if (ours) return { ...at, status: 'created', id: match.contact.contactId };
      return await duplicate(deps, ctx, envelope, csv, match);
    }
    return await create(deps, ctx, envelope, csv, parsed.data);
  } catch (e) {
    if (e instanceof DomainError) return { ...at, status: 'rejected', reason: e.code, detail: e.message };
    throw e;
  }
}

/** Non-empty cells as the body `POST /contacts` takes: `tags` is `;`-separated, `custom.<key>` feeds customFields. */
function toBody(values: Readonly<Record<string, string>>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const customFields: Record<string, string> = {};
  for (const [target, value] of Object.entries(values)) {
    if (target.startsWith('custom.')) customFields[target.slice('custom.'.length)] = value;
    else if (target === 'tags') body.tags = value.split(';').map((t) => t.trim()).filter((t) => t !== '');
    else body[target] = value;
  }
  if (Object.keys(customFields).length) body.customFields = customFields;
  return body;
}

/**
 * Each row is its own command: with an Idempotency-Key on the request, row n carries a key derived from
 * the tuple (request key, n) (`contact-import-row-<sha256>`, kernel/stream-keys.ts) and a keyed hash of
 * its mapped cells and the duplicate mode, so a retried import creates and changes nothing twice, and a
 * row that changed under the same key is refused (IDEMPOTENCY_ERR_KEY_REUSED). The derivation is a tuple
 * digest rather than `<key>#row-<n>`, which a client's own key for another command could equal.
 */
function rowEnvelope(deps: ImportDeps, ctx: ImportContext, csv: CsvRow): CommandEnvelope {
  const key = ctx.envelope.idempotencyKey;
  if (!key) return { ...ctx.envelope, idempotencyKey: undefined, requestHash: undefined };
  return {
    ...ctx.envelope,
    idempotencyKey: `contact-import-row-${tupleDigest(['contact-import-row', key, String(csv.row)])}`,
    requestHash: tupleDigest(['contact-import', ctx.onDuplicate, JSON.stringify(csv.values)], deps.key),
  };
}

async function loadActive(store: EventStore, id: string, tenantId: string): Promise<{ contact: ActiveContactState; revision: bigint } | undefined> {
  const events = await store.readStream(streamName.contact(id), { tenantId });
  if (events.length === 0) return undefined;
  const state = foldEvents(contactDecider, events);
  return state.status === 'Active' ? { contact: state, revision: events[events.length - 1]!.streamRevision } : undefined;
}

/** By email first (the stronger key), else by name + company; active contacts only. */
async function findMatch(deps: ImportDeps, tenantId: string, row: CreateRow): Promise<Match | undefined> {
  const byEmail = row.email === undefined ? undefined : await emailOwner(deps, tenantId, row.email, deps.clock());
  const email = byEmail === undefined ? undefined : await loadActive(deps.store, byEmail, tenantId);
  if (email) return { ...email, by: 'email' };
  const byName = await nameMatch(deps, tenantId, row);
  const name = byName === undefined ? undefined : await loadActive(deps.store, byName, tenantId);
  return name ? { ...name, by: 'name+company' } : undefined;
}

async function createdByRow(store: EventStore, contactId: string, envelope: CommandEnvelope): Promise<boolean> {
  if (!envelope.idempotencyKey) return false;
  const [created] = await store.readStream(streamName.contact(contactId), { toRevision: 0n });
  if (created?.idempotencyKey !== envelope.idempotencyKey) return false;
  if (envelope.requestHash && created.requestHash && created.requestHash !== envelope.requestHash) {
    throw new DomainError('IDEMPOTENCY_ERR_KEY_REUSED', `this row changed since the import with this Idempotency-Key created a contact from it; use a new key`, 'invariant');
  }
  return true;
}

function metadataOf(envelope: CommandEnvelope, now: Date): CommandMetadata {
  return { now, tenantId: envelope.tenantId, actor: envelope.actor };
}

async function create(deps: ImportDeps, ctx: ImportContext, base: CommandEnvelope, csv: CsvRow, data: CreateRow): Promise<ImportRowReport> {
  const now = deps.clock();
  const id = await claimIdempotentId(deps.store, base, streamName.contact, deps.ids(), 'CreateContact', now);
  const envelope = { ...base, subjectId: id };
  try {
    await handleCommand(
      deps.store,
      contactDecider,
      streamName.contact(id),
      { type: 'CreateContact', data: { ...data, contactId: id }, metadata: metadataOf(envelope, now) },
      envelope,
      { reserve: reserveContactKeys(deps, envelope, now) },
    );
  } catch (e) {
    // Claimed by a concurrent create between our lookup and our claim: a duplicate after all (once it exists).
    const existing = e instanceof DomainError && e.code === ContactErrorCode.EmailTaken ? await loadActive(deps.store, String(e.details?.existingId), base.tenantId) : undefined;
    if (existing) return duplicate(deps, ctx, base, csv, { ...existing, by: 'email' });
    throw e;
  }
  return { row: csv.row, line: csv.line, status: 'created', id };
}

async function duplicate(deps: ImportDeps, ctx: ImportContext, base: CommandEnvelope, csv: CsvRow, first: Match): Promise<ImportRowReport> {
  const at = { row: csv.row, line: csv.line, existingId: first.contact.contactId, matchedBy: first.by };
  if (ctx.onDuplicate === 'skip') return { ...at, status: 'skipped' };
  const envelope = { ...base, subjectId: first.contact.contactId };
  let match: Match | undefined = first;
  // Merge decides from the contact's current fields, so it appends at the revision it read; a
  // concurrent change makes it read and decide again.
  for (let attempt = 1; match; attempt++) {
    const change = ctx.onDuplicate === 'update' ? updateOf(csv.values) : fillOf(match.contact, csv.values);
    const checked = UpdateRow.safeParse(change);
    if (!checked.success) {
      const errors = checked.error.issues.map((i) => ({ field: i.path.map(String).join('.'), rule: i.message, issue: i.code }));
      return { ...at, status: 'rejected', reason: ImportErrorCode.InvalidRow, detail: `row ${csv.row}: the ${ctx.onDuplicate} would be invalid`, errors };
    }
    const now = deps.clock();
    const contact: ActiveContactState = match.contact;
    try {
      await handleCommand(
        deps.store,
        contactDecider,
        streamName.contact(contact.contactId),
        { type: 'UpdateContact', data: checked.data, metadata: metadataOf(envelope, now) },
        { ...envelope, expectedRevision: match.revision },
        { reserve: reserveContactKeys(deps, envelope, now) },
      );
      return { ...at, status: ctx.onDuplicate === 'update' ? 'updated' : 'merged' };
    } catch (e) {
      if (!(e instanceof DomainError && e.code === 'STREAM_ERR_REVISION_MISMATCH') || attempt >= 3) throw e;
    }
    const reloaded = await loadActive(deps.store, contact.contactId, envelope.tenantId);
    match = reloaded && { ...reloaded, by: first.by };
  }
  throw new DomainError(ContactErrorCode.NotFound, 'the matching contact was merged or erased while the row was imported', 'not-found');
}

/** `update`: every non-empty cell, as the update command takes it. */
function updateOf(values: Readonly<Record<string, string>>): Record<string, unknown> {
  return toBody(values);
}

/** `merge`: only what the contact lacks; tags are added to its own. */
function fillOf(contact: ActiveContactState, values: Readonly<Record<string, string>>): Record<string, unknown> {
  const row = toBody(values) as Partial<Record<'lastName' | 'email' | 'phone' | 'company' | 'title', string>> & {
    customFields?: Record<string, string>;
    tags?: string[];
  };
  const fill: Record<string, unknown> = {};
  if (row.lastName !== undefined && contact.lastName === '') fill.lastName = row.lastName;
  for (const key of ['email', 'phone', 'company', 'title'] as const) {
    if (row[key] !== undefined && contact[key] === undefined) fill[key] = row[key];
  }
  const custom = Object.entries(row.customFields ?? {}).filter(([k]) => !Object.hasOwn(contact.customFields, k));
  if (custom.length) fill.customFields = Object.fromEntries(custom);
  const added = (row.tags ?? []).filter((t) => !contact.tags.includes(t));
  if (added.length) fill.tags = [...contact.tags, ...added];
  return fill;
}

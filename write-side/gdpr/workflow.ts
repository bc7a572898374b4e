import { randomBytes } from 'node:crypto';
import type { EventStore } from '../../platform/event-store/event-store.js';
import type { Logger } from '../../platform/logging/logger.js';
import type { KeyStore } from '../../platform/pii/key-store.js';
import { hashMatcher, stringLeaves, valueHash, type PersonalDataScanner } from '../../platform/pii/scanner.js';
import { PiiError, fieldName } from '../../platform/pii/errors.js';
import { currentVersion, personalPathsOf, type EventEnvelope } from '../../schemas/events/registry.js';
import { mapPersonal } from '../../schemas/events/personal-data.js';
import { ERASED_MARKER } from '../../schemas/events/opaque-personal.js';
import type { ErasureReason } from '../../schemas/events/consent.js';
import { streamName } from '../../schemas/events/streams.js';
import type { Actor } from '../../schemas/events/envelope.js';
import { handleCommand, type CommandEnvelope } from '../kernel/handle-command.js';
import { DomainError } from '../kernel/errors.js';
import { HttpError } from '../http/problem.js';
import { consentDecider, ConsentErrorCode } from '../consent/decide.js';
import { defineErrors } from '../../platform/errors/catalogue.js';
import { contactDecider } from '../contact/decide.js';
import { leadDecider } from '../lead/decide.js';
import type { ErasureCertificate, ErasureRecords, ErasureRow, ProjectorReport, StoreReport } from './certificates.js';

/**
 * The erasure workflow (issue 10 §2). Steps, each recorded in `ErasureRecords` before the next starts,
 * so a crash or a failed step resumes on the next request or start (`resumePending`):
 *  1. capture: the subject's personal values, decrypted from its events, kept only as keyed salted
 *     hashes (the plaintext never leaves this function); tampered ciphertexts are listed, not erased;
 *  2. destroy the data key of the subject and of linked subjects (the lead a contact was converted
 *     from, the contact a lead became): platform/pii records time and actor, is idempotent and never
 *     recreates a key;
 *  3. append the erasure events: `SubjectErasureRequested`, `ContactErased` / `LeadErased`,
 *     `SubjectErased` (each decider appends nothing the second time);
 *  4. wait (bounded) until every projector has passed the last of them: they redact on those events;
 *  5. scan every store through its `PersonalDataScanner` and store the certificate only if every
 *     store holds none of the values (otherwise the answer is an error with the report, and a retry
 *     scans again).
 * A certified erasure answers its first certificate again (idempotent).
 */

/** HKDF label of the key that hashes searched values (certificates); no other use shares it. */
export const GDPR_VALUE_HASH_LABEL = 'annals/gdpr/value-hash/v1';

export const GdprErrorCode = defineErrors('GDPR', {
  SubjectNotFound: 'GDPR_ERR_SUBJECT_NOT_FOUND',
  NotErased: 'GDPR_ERR_NOT_ERASED',
  ProjectorsBehind: 'GDPR_ERR_PROJECTORS_BEHIND',
  ScanFoundData: 'GDPR_ERR_SCAN_FOUND_DATA',
  NotConfigured: 'GDPR_ERR_NOT_CONFIGURED',
});

/** Waits until every projector has applied `streams` up to `position` (at most `timeoutMs`), and says which did. */
export type ProjectorWait = (position: bigint, streams: readonly string[], timeoutMs: number) => Promise<ProjectorReport[]>;

export interface ErasureDeps {
  readonly store: EventStore;
  readonly keyStore: KeyStore;
  readonly records: ErasureRecords;
  /** Every store that may hold a copy: event store, bus, each read model (injected by the composition root). */
  readonly scanners: readonly PersonalDataScanner[];
  readonly waitForProjectors: ProjectorWait;
  /** Keys the value hashes (derived from the master key under its own label). */
  readonly hashKey: string;
  readonly clock: () => Date;
  readonly log: Logger;
  /** Bound on the projector wait (default 30 000 ms). */
  readonly projectorTimeoutMs?: number;
  /**
   * PII_KEY_CACHE_TTL_MS: a destroyed key may still decrypt in another process for this long, so the
   * scan starts no earlier than this after the destruction (platform/pii's bound).
   */
  readonly keyCacheTtlMs?: number;
}

export interface ErasureRequest {
  readonly tenantId: string;
  readonly subjectId: string;
  readonly actor: Actor;
  readonly reason: ErasureReason;
  readonly requestId: string;
  readonly correlationId: string;
}

type SubjectType = 'contact' | 'lead';
interface Subject {
  readonly id: string;
  readonly type: SubjectType;
}

const notFound = () => new DomainError(GdprErrorCode.SubjectNotFound, 'the data subject (contact or lead) does not exist', 'not-found');

/**
 * The subject's type, if it is a contact or lead of `tenantId`. Another tenant's subject is 404 too, and
 * `onForeign` is told (the caller logs a security event).
 */
export async function resolveSubject(store: EventStore, tenantId: string, subjectId: string, onForeign: () => void): Promise<SubjectType> {
  let foreign = false;
  for (const type of ['contact', 'lead'] as const) {
    const [first] = await store.readStreamRaw(type === 'contact' ? streamName.contact(subjectId) : streamName.lead(subjectId), { toRevision: 0n });
    if (!first) continue;
    const tenant = (JSON.parse(first.metadata) as { tenantId?: unknown }).tenantId;
    if (tenant === tenantId) return type;
    foreign = true;
  }
  if (foreign) onForeign();
  throw notFound();
}

const streamsOf = (s: Subject): string[] => [s.type === 'contact' ? streamName.contact(s.id) : streamName.lead(s.id), streamName.consent(s.id)];

interface Read {
  readonly events: EventEnvelope[];
  readonly tampered: string[];
  readonly erased: boolean;
}

/** Every readable event of the subjects' streams (tenant's only); unreadable records are listed. */
async function readSubjects(store: EventStore, tenantId: string, subjects: readonly Subject[]): Promise<Read> {
  const events: EventEnvelope[] = [];
  const tampered: string[] = [];
  let erased = false;
  for (const s of subjects) {
    for (const stream of streamsOf(s)) {
      const raw = (await store.readStreamRaw(stream)).filter((r) => (JSON.parse(r.metadata) as { tenantId?: unknown }).tenantId === tenantId);
      const outcomes = await store.reader.read(raw);
      outcomes.forEach((o, i) => {
        if (o.ok) {
          events.push(o.event);
          if (o.event.erased) erased = true;
          return;
        }
        const e = o.error;
        const where = `${raw[i]!.streamId}@${raw[i]!.streamRevision}`;
        tampered.push(e instanceof PiiError ? `${where} ${tamperedFields(e)} ${e.code}`.replace(/\s+/g, ' ') : `${where} unreadable`);
      });
    }
  }
  return { events, tampered, erased };
}

/**
 * The field(s) a reader blamed: one (`data.customFields.vip`), or every field sealed together in the
 * event (`data.email,data.firstName`) when its one pii:v2 tag failed as a whole.
 */
function tamperedFields(e: PiiError): string {
  const fields = e.details.fields;
  if (Array.isArray(fields) && fields.every((f) => typeof f === 'string')) return fields.join(',');
  return e.coordinates.path ? fieldName(e.coordinates.path) : '';
}

/** The subject and the subjects linked to it by a conversion (one person, two ids). */
async function linkedSubjects(store: EventStore, tenantId: string, subject: Subject): Promise<Subject[]> {
  const { events } = await readSubjects(store, tenantId, [subject]);
  const out: Subject[] = [subject];
  for (const e of events) {
    if (e.type === 'ContactCreated' && e.data.convertedFromLeadId) out.push({ id: e.data.convertedFromLeadId, type: 'lead' });
    if (e.type === 'LeadConverted') out.push({ id: e.data.contactId, type: 'contact' });
  }
  return out.filter((s, i) => out.findIndex((o) => o.id === s.id) === i);
}

/**
 * Step 1. The personal values of every event, minus the ones the subject also holds as non-personal
 * data (a custom field equal to its company name would otherwise be "found" in the clear company field)
 * and one-character values (too common to mean anything).
 */
function capture(events: readonly EventEnvelope[]): { values: Set<string>; excluded: number } {
  const personalValues: string[] = [];
  const clear = new Set<string>();
  for (const e of events) {
    const paths = personalPathsOf(e.type, currentVersion(e.type) ?? e.schemaVersion);
    mapPersonal(e.data, paths, (value) => {
      for (const leaf of stringLeaves(value)) if (leaf !== ERASED_MARKER) personalValues.push(leaf.trim());
      return value;
    });
    for (const leaf of stringLeaves(mapPersonal(e.data, paths, () => null))) clear.add(leaf.trim());
  }
  const values = new Set<string>();
  let excluded = 0;
  for (const v of new Set(personalValues)) {
    if (v.length < 2 || clear.has(v)) excluded++;
    else values.add(v);
  }
  return { values, excluded };
}

export interface ErasureOutcome {
  readonly certificate: ErasureCertificate;
  /** True when this request found the erasure already certified (nothing was done again). */
  readonly replayed: boolean;
}

export function createErasureWorkflow(deps: ErasureDeps) {
  const projectorTimeoutMs = deps.projectorTimeoutMs ?? 30_000;

  const scan = async (row: ErasureRow): Promise<StoreReport[]> => {
    const matcher = hashMatcher(deps.hashKey, row.salt, row.valueHashes);
    const subjectIds = [row.subjectId, ...row.linkedSubjectIds];
    const reports: StoreReport[] = [];
    for (const scanner of deps.scanners) {
      const started = performance.now();
      const r = await scanner.scan({ tenantId: row.tenantId, subjectIds, matcher });
      reports.push({
        store: r.store,
        valuesSearched: row.valueHashes,
        found: r.found,
        examined: r.examined,
        elapsedMs: Math.round(performance.now() - started),
        locations: r.findings.map((f) => f.location),
        ...(r.tampered && r.tampered.length > 0 ? { tampered: r.tampered } : {}),
        ...(r.incomplete ? { incomplete: r.incomplete } : {}),
      });
    }
    return reports;
  };

  const envelopeFor = (row: ErasureRow, correlationId: string, roles: Actor['roles']): CommandEnvelope => ({
    tenantId: row.tenantId,
    actor: { userId: row.actor, roles: [...roles] },
    correlationId,
    causationId: row.requestId,
  });

  /** Step 3, idempotent: each decider appends nothing when its part is already done. */
  const appendErasureEvents = async (row: ErasureRow, subjects: readonly Subject[], correlationId: string, roles: Actor['roles']): Promise<bigint> => {
    const envelope = envelopeFor(row, correlationId, roles);
    const metadata = { now: deps.clock(), tenantId: row.tenantId, actor: envelope.actor };
    let position = -1n;
    const seen = (p: bigint | undefined) => {
      if (p !== undefined && p > position) position = p;
    };
    const alreadyErased = (e: unknown) => e instanceof DomainError && e.code === ConsentErrorCode.SubjectErased;
    for (const s of subjects) {
      const consent = streamName.consent(s.id);
      try {
        seen((await handleCommand(store(), consentDecider, consent, { type: 'RequestErasure', data: { subjectId: s.id, subjectType: s.type, reason: row.reason as ErasureReason }, metadata }, envelope)).position);
      } catch (e) {
        if (!alreadyErased(e)) throw e;
      }
      if (s.type === 'contact') {
        seen((await handleCommand(store(), contactDecider, streamName.contact(s.id), { type: 'EraseContact', data: {}, metadata }, envelope)).position);
      } else {
        seen((await handleCommand(store(), leadDecider, streamName.lead(s.id), { type: 'EraseLead', data: {}, metadata }, envelope)).position);
      }
      try {
        seen((await handleCommand(store(), consentDecider, consent, { type: 'CompleteErasure', data: { subjectId: s.id }, metadata }, envelope)).position);
      } catch (e) {
        if (!alreadyErased(e)) throw e;
        seen((await deps.store.readStreamRaw(consent)).at(-1)?.position);
      }
    }
    return position;
  };
  const store = () => deps.store;

  /** Steps 2–5 from wherever `row` stands. */
  const continueErasure = async (start: ErasureRow, correlationId: string, roles: Actor['roles']): Promise<ErasureOutcome> => {
    let row = start;
    const subjects: Subject[] = [{ id: row.subjectId, type: row.subjectType }, ...row.linkedSubjectIds.map((id) => ({ id, type: (row.subjectType === 'contact' ? 'lead' : 'contact') as SubjectType }))];
    const log = deps.log.child({ gdpr: 'erasure', tenantId: row.tenantId, subjectId: row.subjectId, requestId: row.requestId });
    if (row.step === 'captured') {
      let first: string | undefined;
      for (const s of subjects) {
        // Idempotent in platform/pii: a second destroy returns the first record, and never recreates a key.
        const d = await deps.keyStore.destroy({ tenantId: row.tenantId, subjectId: s.id }, { actor: row.actor, reason: row.reason });
        if (first === undefined || d.destroyedAt < first) first = d.destroyedAt;
      }
      await deps.records.advance(row.tenantId, row.subjectId, 'keys-destroyed', { keyDestroyedAt: first! });
      log.info({ step: 'keys-destroyed' }, 'gdpr erasure: data keys destroyed');
      row = (await deps.records.get(row.tenantId, row.subjectId))!;
    }
    if (row.step === 'keys-destroyed') {
      const position = await appendErasureEvents(row, subjects, correlationId, roles);
      await deps.records.advance(row.tenantId, row.subjectId, 'events-appended', { erasurePosition: position.toString() });
      log.info({ step: 'events-appended', position: position.toString() }, 'gdpr erasure: erasure events appended');
      row = (await deps.records.get(row.tenantId, row.subjectId))!;
    }
    if (row.step === 'certified') return { certificate: row.certificate!, replayed: true };

    const waitStarted = performance.now();
    const projectors = await deps.waitForProjectors(BigInt(row.erasurePosition!), subjects.flatMap(streamsOf), projectorTimeoutMs);
    const projectorsWaitMs = Math.round(performance.now() - waitStarted);
    const behind = projectors.filter((p) => !p.passed);
    if (behind.length > 0) {
      log.warn({ behind: behind.map((p) => p.name) }, 'gdpr erasure: projectors did not pass the erasure in time; a retry continues');
      throw new HttpError(503, GdprErrorCode.ProjectorsBehind, `read models have not applied the erasure within ${projectorTimeoutMs} ms: ${behind.map((p) => p.name).join(', ')}; retry the request to continue`, {
        projectors: behind.map((p) => ({ name: p.name, appliedPosition: p.appliedPosition })),
        erasurePosition: row.erasurePosition,
      });
    }
    // platform/pii's bound: another process may decrypt with a cached key until TTL after the destruction.
    const ttl = deps.keyCacheTtlMs ?? 0;
    const wait = Date.parse(row.keyDestroyedAt!) + ttl - deps.clock().getTime();
    if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, ttl)));

    const scanStartedAt = deps.clock().toISOString();
    const stores = await scan(row);
    const destructions = [];
    for (const s of subjects) {
      const d = await deps.keyStore.destruction({ tenantId: row.tenantId, subjectId: s.id });
      if (d) destructions.push({ subjectId: s.id, destroyedAt: d.destroyedAt, keyExisted: d.keyExisted });
    }
    const clean = stores.every((s) => s.found === 0 && s.incomplete === undefined);
    const certificate: ErasureCertificate = {
      schemaVersion: 1,
      tenantId: row.tenantId,
      subjectId: row.subjectId,
      subjectType: row.subjectType,
      linkedSubjectIds: row.linkedSubjectIds,
      requestId: row.requestId,
      actor: row.actor,
      reason: row.reason,
      requestedAt: row.requestedAt,
      keyDestroyedAt: row.keyDestroyedAt!,
      keyDestructions: destructions,
      erasurePosition: row.erasurePosition!,
      projectors,
      projectorsWaitMs,
      capture: row.capture,
      hashAlgorithm: 'hmac-sha256(annals/gdpr/value-hash/v1)',
      salt: row.salt,
      stores,
      scanStartedAt,
      completedAt: deps.clock().toISOString(),
      clean,
    };
    if (!clean) {
      log.error({ stores: stores.filter((s) => s.found > 0 || s.incomplete).map((s) => ({ store: s.store, found: s.found, locations: s.locations, incomplete: s.incomplete })) }, 'gdpr erasure: personal data still found after erasure');
      throw new HttpError(500, GdprErrorCode.ScanFoundData, 'personal values of the subject are still present after erasure; the erasure is not certified (retry after fixing the store named)', {
        stores: stores.map((s) => ({ store: s.store, found: s.found, locations: s.locations, ...(s.incomplete ? { incomplete: s.incomplete } : {}) })),
      });
    }
    await deps.records.advance(row.tenantId, row.subjectId, 'certified', { certificate });
    // Two requests racing through the steps both scan; the first certificate stored is THE certificate.
    const stored = (await deps.records.get(row.tenantId, row.subjectId))!.certificate!;
    const mine = stored.completedAt === certificate.completedAt && stored.scanStartedAt === certificate.scanStartedAt;
    if (mine) log.info({ step: 'certified', stores: stores.length }, 'gdpr erasure: certified');
    return { certificate: stored, replayed: !mine };
  };

  return {
    async erase(req: ErasureRequest, onForeign: () => void = () => undefined): Promise<ErasureOutcome> {
      const existing = await deps.records.get(req.tenantId, req.subjectId);
      if (existing?.step === 'certified') return { certificate: existing.certificate!, replayed: true };
      let row = existing;
      if (!row) {
        const type = await resolveSubject(deps.store, req.tenantId, req.subjectId, onForeign);
        const subjects = await linkedSubjects(deps.store, req.tenantId, { id: req.subjectId, type });
        const read = await readSubjects(deps.store, req.tenantId, subjects);
        const { values, excluded } = capture(read.events);
        const salt = randomBytes(16).toString('base64url');
        const valueHashes = [...values].map((v) => valueHash(deps.hashKey, salt, v)).sort();
        values.clear(); // the plaintext is not kept beyond this point
        row = await deps.records.start({
          tenantId: req.tenantId,
          subjectId: req.subjectId,
          subjectType: type,
          linkedSubjectIds: subjects.slice(1).map((s) => s.id),
          requestId: req.requestId,
          actor: req.actor.userId,
          reason: req.reason,
          requestedAt: deps.clock().toISOString(),
          step: 'captured',
          salt,
          valueHashes,
          capture: { values: valueHashes.length, excluded, tampered: read.tampered, keyAlreadyDestroyed: read.erased },
          keyDestroyedAt: undefined,
          erasurePosition: undefined,
          certificate: undefined,
        });
        if (read.tampered.length > 0) deps.log.warn({ gdpr: 'erasure', subjectId: req.subjectId, tampered: read.tampered }, 'gdpr erasure: tampered ciphertexts found at capture (reported in the certificate)');
      }
      return continueErasure(row, req.correlationId, req.actor.roles);
    },

    async certificate(tenantId: string, subjectId: string): Promise<ErasureRow | undefined> {
      return deps.records.get(tenantId, subjectId);
    },

    /** `annals gdpr verify`: the same scan again, from the hashes kept with the erasure. */
    async verify(tenantId: string, subjectId: string): Promise<{ clean: boolean; stores: StoreReport[]; verifiedAt: string }> {
      const row = await deps.records.get(tenantId, subjectId);
      if (!row?.certificate) throw new DomainError(GdprErrorCode.NotErased, 'the subject has no certified erasure to verify', 'not-found');
      const stores = await scan(row);
      return { clean: stores.every((s) => s.found === 0 && s.incomplete === undefined), stores, verifiedAt: deps.clock().toISOString() };
    },

    /** Erasures a crash left unfinished, continued at start-up (as the dpo who asked). */
    async resumePending(): Promise<number> {
      let n = 0;
      for (const p of await deps.records.pending()) {
        const row = await deps.records.get(p.tenantId, p.subjectId);
        if (!row || row.step === 'certified') continue;
        try {
          await continueErasure(row, `gdpr-resume-${row.requestId}`, ['dpo']);
          n++;
        } catch (err) {
          deps.log.warn({ err, subjectId: row.subjectId }, 'gdpr erasure: resume failed; the next start or request retries');
        }
      }
      return n;
    },
  };
}

export type ErasureWorkflow = ReturnType<typeof createErasureWorkflow>;

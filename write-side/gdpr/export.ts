import type { EventStore } from '../../platform/event-store/event-store.js';
import { streamName } from '../../schemas/events/streams.js';
import type { ErasureRecords } from './certificates.js';

/** Current read-model rows that mention the subjects, by read model and table (injected: write-side never imports projections/). */
export type SubjectRows = (tenantId: string, subjectIds: readonly string[]) => Promise<Record<string, Record<string, unknown[]>>>;

export const EXPORT_SCHEMA_VERSION = 1;

/**
 * The subject access export (GDPR art. 15/20, issue 10 §4): every event of the subject's streams
 * decrypted (after erasure: "[erased]" values, and the document says the subject was erased), the
 * current read-model rows, and the consents with lawful basis and full history, as one JSON document.
 */
export async function exportSubject(
  deps: { store: EventStore; records: ErasureRecords; subjectRows?: SubjectRows | undefined; clock: () => Date },
  tenantId: string,
  subjectId: string,
  subjectType: 'contact' | 'lead',
): Promise<Record<string, unknown>> {
  const own = subjectType === 'contact' ? streamName.contact(subjectId) : streamName.lead(subjectId);
  const readAll = async (stream: string) => {
    const raw = (await deps.store.readStreamRaw(stream)).filter((r) => (JSON.parse(r.metadata) as { tenantId?: unknown }).tenantId === tenantId);
    return deps.store.reader.readOrThrow(raw);
  };
  const events = await readAll(own);
  const consentEvents = await readAll(streamName.consent(subjectId));
  const erasure = await deps.records.get(tenantId, subjectId);
  const consents: Record<string, unknown> = {};
  for (const e of consentEvents) {
    if (e.type === 'ConsentGranted' || e.type === 'ConsentWithdrawn') {
      const entry = (consents[e.data.purpose] ??= { purpose: e.data.purpose, history: [] as unknown[] }) as { history: unknown[]; current?: unknown };
      entry.history.push({ type: e.type, ...e.data });
      entry.current = e.type === 'ConsentGranted' ? { status: 'granted', lawfulBasis: e.data.lawfulBasis, noticeVersion: e.data.noticeVersion, since: e.data.grantedAt } : { status: 'withdrawn', since: e.data.withdrawnAt };
    }
  }
  const erased = erasure !== undefined || events.some((e) => e.erased === true) || consentEvents.some((e) => e.type === 'SubjectErased');
  const envelope = (e: (typeof events)[number]) => ({
    eventId: e.eventId,
    type: e.type,
    streamId: e.streamId,
    streamRevision: e.streamRevision.toString(),
    position: e.position.toString(),
    occurredAt: e.occurredAt,
    data: e.data,
    ...(e.erased ? { erased: true } : {}),
  });
  return {
    schemaVersion: EXPORT_SCHEMA_VERSION,
    exportedAt: deps.clock().toISOString(),
    subject: { id: subjectId, type: subjectType, tenantId },
    erased,
    ...(erased
      ? {
          erasure: erasure
            ? { step: erasure.step, requestedAt: erasure.requestedAt, keyDestroyedAt: erasure.keyDestroyedAt ?? null, requestId: erasure.requestId }
            : { step: 'erased', note: 'the subject was erased; personal values read as "[erased]"' },
        }
      : {}),
    events: [...events, ...consentEvents].sort((a, b) => (a.position < b.position ? -1 : 1)).map(envelope),
    consents: Object.values(consents),
    readModels: deps.subjectRows ? await deps.subjectRows(tenantId, [subjectId]) : {},
  };
}

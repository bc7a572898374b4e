import { personalPathsOf, currentVersion } from '../../schemas/events/registry.js';
import { mapPersonal } from '../../schemas/events/personal-data.js';
import { ERASED_MARKER } from '../../schemas/events/opaque-personal.js';
import { PiiError, PiiErrorCode } from '../pii/errors.js';
import { jsonOrText, matchLeaves, type PersonalDataScanner, type ScanFinding, type ScanResult, type ScanTarget } from '../pii/scanner.js';
import type { EventStore } from './event-store.js';

/**
 * The event store's `PersonalDataScanner` (issue 10, erasure certificate). Two searches:
 * - plaintext: every stored record of the tenant that concerns the subjects (its metadata names one, or
 *   its stream id or data mentions one's id: a deal opened for the contact…), read from `$all` in
 *   batches, data and metadata bytes as stored, string leaf by string leaf: a personal value of the
 *   subject in clear (a non-personal field, metadata, an unencrypted store) is found. Records about
 *   other subjects are not searched: a common value (a first name) there is their data, not a leak;
 * - decrypt attempts: every record whose metadata names one of the subjects goes through the store's own
 *   reader; a personal field that still decrypts to a value (not "[erased]") counts as found, a ciphertext
 *   that fails authentication is reported as tampered (never taken for erased).
 * The whole store is read: the cost grows with the store, not with the subject (documented).
 */
export function eventStorePiiScanner(store: EventStore, options: { batchSize?: number } = {}): PersonalDataScanner {
  const batchSize = options.batchSize ?? 1_000;
  return {
    store: 'event-store',
    async scan(target: ScanTarget): Promise<ScanResult> {
      const subjects = new Set(target.subjectIds);
      const findings: ScanFinding[] = [];
      const tampered: string[] = [];
      let examined = 0;
      let after: bigint | undefined;
      for (;;) {
        const batch = await store.readAllRaw(after === undefined ? { maxCount: batchSize } : { after, maxCount: batchSize });
        if (batch.length === 0) break;
        after = batch[batch.length - 1]!.position;
        const mine: typeof batch = [];
        for (const record of batch) {
          examined++;
          const metadata = jsonOrText(record.metadata) as { tenantId?: unknown; subjectId?: unknown };
          if (metadata?.tenantId !== target.tenantId) continue;
          const own = typeof metadata.subjectId === 'string' && subjects.has(metadata.subjectId);
          if (!own && !target.subjectIds.some((id) => record.streamId.includes(id) || record.data.includes(id))) continue;
          const at = `${record.streamId}@${record.streamRevision}`;
          matchLeaves(target.matcher, jsonOrText(record.data), (h) => findings.push({ location: `${at} data (stored bytes)`, valueHash: h }));
          matchLeaves(target.matcher, metadata, (h) => findings.push({ location: `${at} metadata (stored bytes)`, valueHash: h }));
          if (own) mine.push(record);
        }
        const outcomes = await store.reader.read(mine);
        outcomes.forEach((outcome, i) => {
          const record = mine[i]!;
          const at = `${record.streamId}@${record.streamRevision}`;
          if (!outcome.ok) {
            const e = outcome.error;
            if (e instanceof PiiError && (e.code === PiiErrorCode.CiphertextInvalid || e.code === PiiErrorCode.CiphertextUnsupported)) {
              tampered.push(`${at} ${e.coordinates.path ?? ''} ${e.code}`.trim());
            } else {
              tampered.push(`${at} unreadable: ${e instanceof Error && 'code' in e ? String((e as { code: unknown }).code) : 'error'}`);
            }
            return;
          }
          const event = outcome.event;
          const version = currentVersion(event.type) ?? event.schemaVersion;
          mapPersonal(event.data, personalPathsOf(event.type, version), (value, path) => {
            if (value === ERASED_MARKER) return value;
            matchLeaves(target.matcher, value, (h) => findings.push({ location: `${at} data.${path.join('.')} (decrypted)`, valueHash: h }));
            return value;
          });
        });
      }
      return { store: 'event-store', found: findings.length, findings, examined, tampered };
    },
  };
}

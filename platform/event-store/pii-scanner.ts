import { personalPathsOf, currentVersion } from '../../schemas/events/registry.js';
import { mapPersonal } from '../../schemas/events/personal-data.js';
import { ERASED_MARKER } from '../../schemas/events/opaque-personal.js';
import { PiiError, PiiErrorCode } from '../pii/errors.js';
import { jsonOrText, matchLeaves, type PersonalDataScanner, type ScanFinding, type ScanResult, type ScanTarget } from '../pii/scanner.js';
import { streamName } from '../../schemas/events/streams.js';
import type { EventStore } from './event-store.js';

/**
 * The event store's `PersonalDataScanner` (issue 10, erasure certificate). It reads the subjects' records
 * only, through the store's indexed lookup (`readBySubjectRaw`: the subjects' own streams `contact-<id>`,
 * `lead-<id>`, `consent-<id>`, plus every record whose metadata names one of them), never `$all`: the
 * cost grows with the subjects' records, not with the store. Two searches over those records:
 * - plaintext: data and metadata bytes as stored, string leaf by string leaf: a personal value of the
 *   subject in clear (a non-personal field, metadata, an unencrypted store) is found;
 * - decrypt attempts: every record whose metadata names one of the subjects goes through the store's own
 *   reader; a personal field that still decrypts to a value (not "[erased]") counts as found, a ciphertext
 *   that fails authentication is reported as tampered (never taken for erased).
 * Not searched: records of other aggregates that only mention the subject's id in their data without
 * naming it in metadata (a deal's `contactId`). The write side encrypts personal values under the
 * subject's key only in events whose metadata names the subject, so those records hold none of its
 * encrypted data; a value copied into them in clear is outside the guarantee (docs/gdpr.md, limits).
 * Records are read in pages of `batchSize` for the decrypt attempts.
 */
export function eventStorePiiScanner(store: EventStore, options: { batchSize?: number } = {}): PersonalDataScanner {
  const batchSize = options.batchSize ?? 1_000;
  return {
    store: 'event-store',
    async scan(target: ScanTarget): Promise<ScanResult> {
      const subjects = new Set(target.subjectIds);
      const findings: ScanFinding[] = [];
      const tampered: string[] = [];
      const streamIds = target.subjectIds.flatMap((id) => [streamName.contact(id), streamName.lead(id), streamName.consent(id)]);
      const records = await store.readBySubjectRaw({ subjectIds: target.subjectIds, streamIds });
      let examined = 0;
      for (let from = 0; from < records.length; from += batchSize) {
        const batch = records.slice(from, from + batchSize);
        const mine: typeof batch = [];
        for (const record of batch) {
          examined++;
          const metadata = jsonOrText(record.metadata) as { tenantId?: unknown; subjectId?: unknown };
          // A stream id is not tenant-scoped: another tenant's record under the same id is not this subject's.
          if (metadata?.tenantId !== target.tenantId) continue;
          const own = typeof metadata.subjectId === 'string' && subjects.has(metadata.subjectId);
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

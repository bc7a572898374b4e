import type { EventEnvelope } from '../../schemas/events/registry.js';
import { parseStreamName } from '../../schemas/events/streams.js';
import { personalFieldsOf, type SearchDocument, type SearchKind } from '../../schemas/read-models/search/documents.js';

/**
 * The search projector, pure (GUIDE rule 7): an event → the changes it makes to search documents, and the
 * fold of a change into the current document. Both stores apply exactly these: the Elasticsearch model
 * (projections/elasticsearch) folds them in TypeScript and writes whole documents with external version =
 * position; the embedded search table (projections/postgres/search) runs the same patches as jsonb updates
 * with the same position rule. So both stores hold the same documents and pass the same search suite.
 *
 * THE POSITION RULE. A document remembers the global position of the last event folded into it; a change
 * whose position is not greater is skipped (a redelivered or late event never overwrites newer data),
 * except a redaction, which is applied to a document that still holds personal values whatever its
 * position (erasure must win; it only ever removes data).
 */
export const searchEventTypes = [
  'ContactCreated',
  'ContactUpdated',
  'ContactMerged',
  'ContactErased',
  'SubjectErased',
  'LeadCaptured',
  'LeadQualified',
  'LeadStatusChanged',
  'LeadConverted',
  'LeadErased',
  'DealOpened',
  'DealWon',
  'DealLost',
  'DealReopened',
] as const satisfies readonly EventEnvelope['type'][];

export interface DocumentKey {
  readonly tenantId: string;
  readonly kind: SearchKind;
  readonly id: string;
}

/** Fields a patch may set (never the key, the version or the state machine's `erased`). */
export type DocumentPatch = Partial<Omit<SearchDocument, 'tenantId' | 'kind' | 'id' | 'position' | 'updatedAt'>>;

export type DocumentChange =
  | { readonly op: 'create'; readonly key: DocumentKey; readonly position: number; readonly doc: SearchDocument }
  | { readonly op: 'patch'; readonly key: DocumentKey; readonly position: number; readonly updatedAt: string; readonly patch: DocumentPatch }
  | { readonly op: 'redact'; readonly key: DocumentKey; readonly position: number; readonly updatedAt: string };

export const documentId = (k: DocumentKey): string => `${k.kind}:${k.id}`;

/**
 * Positions travel as JSON numbers (the Elasticsearch version is a long; JSON readers parse numbers as
 * doubles): a position beyond 2^53 would silently collide with its neighbour, so it is refused (loudly, as
 * a failure of that event) instead.
 */
export function positionNumber(position: bigint): number {
  if (position < 0n || position > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`position ${position} is outside 0..2^53-1`);
  return Number(position);
}

export function changesOf(event: EventEnvelope): DocumentChange[] {
  const tenantId = event.tenantId;
  const position = positionNumber(event.position);
  const updatedAt = event.occurredAt;
  const key = (kind: SearchKind, id: string): DocumentKey => ({ tenantId, kind, id });
  const patch = (kind: SearchKind, id: string, p: DocumentPatch): DocumentChange[] => [{ op: 'patch', key: key(kind, id), position, updatedAt, patch: p }];
  const dealId = (): string => {
    const parsed = parseStreamName(event.streamId);
    if (parsed?.aggregate !== 'deal') throw new Error(`${event.type} at position ${event.position} is not on a deal stream`);
    return parsed.id;
  };
  const blank = { firstName: null, lastName: null, name: null, email: null, company: null, title: null, contactId: null, mergedInto: null };
  switch (event.type) {
    case 'ContactCreated': {
      const d = event.data;
      const doc: SearchDocument = {
        ...blank,
        ...key('contact', d.contactId),
        state: 'active',
        status: 'active',
        firstName: d.firstName,
        lastName: d.lastName,
        email: d.email ?? null,
        company: d.company ?? null,
        title: d.title ?? null,
        position,
        updatedAt,
      };
      return [{ op: 'create', key: key('contact', d.contactId), position, doc }];
    }
    case 'ContactUpdated': {
      const d = event.data;
      const p: { -readonly [K in keyof DocumentPatch]: DocumentPatch[K] } = {};
      if (d.firstName !== undefined) p.firstName = d.firstName;
      if (d.lastName !== undefined) p.lastName = d.lastName;
      if (d.email !== undefined) p.email = d.email;
      if (d.company !== undefined) p.company = d.company;
      if (d.title !== undefined) p.title = d.title;
      // Phone, tags and custom fields are not searched: nothing to write.
      return Object.keys(p).length > 0 ? patch('contact', d.contactId, p) : [];
    }
    case 'ContactMerged':
      return patch('contact', event.data.contactId, { state: 'merged', status: 'merged', mergedInto: event.data.survivorId });
    case 'ContactErased':
      return [{ op: 'redact', key: key('contact', event.data.contactId), position, updatedAt }];
    case 'SubjectErased':
      return [{ op: 'redact', key: key(event.data.subjectType === 'lead' ? 'lead' : 'contact', event.data.subjectId), position, updatedAt }];
    case 'LeadCaptured': {
      const d = event.data;
      const doc: SearchDocument = {
        ...blank,
        ...key('lead', d.leadId),
        state: 'active',
        status: 'New',
        name: d.name,
        email: d.email ?? null,
        company: d.company ?? null,
        position,
        updatedAt,
      };
      return [{ op: 'create', key: key('lead', d.leadId), position, doc }];
    }
    case 'LeadQualified':
      return patch('lead', event.data.leadId, { status: 'Qualified' });
    case 'LeadStatusChanged':
      return patch('lead', event.data.leadId, { status: event.data.to });
    case 'LeadConverted':
      return patch('lead', event.data.leadId, { status: 'Converted', contactId: event.data.contactId });
    case 'LeadErased':
      return [{ op: 'redact', key: key('lead', event.data.leadId), position, updatedAt }];
    case 'DealOpened': {
      const d = event.data;
      const doc: SearchDocument = { ...blank, ...key('deal', d.dealId), state: 'active', status: 'open', name: d.name, contactId: d.contactId, position, updatedAt };
      return [{ op: 'create', key: key('deal', d.dealId), position, doc }];
    }
    case 'DealWon':
      return patch('deal', dealId(), { status: 'won' });
    case 'DealLost':
      return patch('deal', dealId(), { status: 'lost' });
    case 'DealReopened':
      return patch('deal', dealId(), { status: 'open' });
    default:
      return [];
  }
}

/**
 * What an erasure sets: every personal field null, `state: erased` (never found again). A contact's own
 * status reads `erased` like the PostgreSQL read model; a lead keeps its pipeline status.
 */
export function redactionPatch(kind: SearchKind): DocumentPatch {
  const nulls = Object.fromEntries(personalFieldsOf(kind).map((f) => [f, null]));
  return { ...nulls, state: 'erased', ...(kind === 'contact' ? { status: 'erased' } : {}) };
}

/** An erased document's patch: personal fields and the state are frozen (erasure is final). */
export function patchOfErased(kind: SearchKind, patch: DocumentPatch): DocumentPatch {
  const frozen = new Set<string>([...personalFieldsOf(kind), 'state', 'status']);
  return Object.fromEntries(Object.entries(patch).filter(([k]) => !frozen.has(k)));
}

const holdsPersonalData = (doc: SearchDocument): boolean => personalFieldsOf(doc.kind).some((f) => doc[f] !== null);

/**
 * Folds one change into the current document (undefined: none stored). Returns the SAME object when the
 * change changes nothing (skipped by the position rule, a patch of a missing document), so a caller can
 * tell "no write needed" by identity.
 * - create: only when no document exists (a stream's first event; an existing document is newer or a tombstone);
 * - patch: only a newer change to an existing document; on an erased one, personal fields stay null;
 * - redact: a missing document becomes an erased tombstone at this position (an older event delivered
 *   later can then never index the subject); an existing one loses its personal fields whatever its position.
 */
export function fold(current: SearchDocument | undefined, change: DocumentChange): SearchDocument | undefined {
  switch (change.op) {
    case 'create':
      return current ?? change.doc;
    case 'patch': {
      if (current === undefined || change.position <= current.position) return current;
      const patch = current.state === 'erased' ? patchOfErased(current.kind, change.patch) : change.patch;
      return { ...current, ...patch, position: change.position, updatedAt: change.updatedAt };
    }
    case 'redact': {
      const { kind } = change.key;
      if (current === undefined) {
        return {
          ...change.key,
          firstName: null,
          lastName: null,
          name: null,
          email: null,
          company: null,
          title: null,
          contactId: null,
          mergedInto: null,
          status: kind === 'contact' ? 'erased' : kind === 'lead' ? 'New' : 'open',
          ...redactionPatch(kind),
          state: 'erased',
          position: change.position,
          updatedAt: change.updatedAt,
        };
      }
      if (change.position <= current.position) {
        // Older than the document: remove what it still holds, keep its version (see the position rule).
        return current.state === 'erased' && !holdsPersonalData(current) ? current : { ...current, ...redactionPatch(kind) };
      }
      return { ...current, ...redactionPatch(kind), position: change.position, updatedAt: change.updatedAt };
    }
  }
}

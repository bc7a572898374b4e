import { z } from 'zod';
import { Id } from '../common.js';
import { personal } from '../personal-data.js';
import { defineUpcaster } from './define.js';

/**
 * ContactCreated v1 → v2. v1 stored the whole name in one personal `name` field; v2 has
 * firstName/lastName. The split is on the last run of whitespace, because given names come in several
 * words more often than family names in the data we hold ("Mary Ann Smith" → "Mary Ann" / "Smith").
 * A single word becomes firstName with lastName '' (v2 allows an empty lastName for exactly this and
 * for people with one name); nothing is invented. v1 had no custom fields or tags on every event, so
 * their absence maps to empty ones.
 *
 * The v1 schema keeps its personal markers: stored v1 events were encrypted by these paths, so
 * `personalPathsOf('ContactCreated', 1)` must still find them (erasure, decryption, redaction).
 */
export const ContactCreatedV1 = z.object({
  contactId: Id,
  name: personal(z.string().trim().min(1, 'name must not be empty').max(200, 'name must be at most 200 characters'), 'name'),
  email: personal(z.string().max(320), 'email').optional(),
  phone: personal(z.string().max(40), 'phone').optional(),
  company: z.string().max(200).optional(),
  title: z.string().max(200).optional(),
  customFields: z.record(z.string(), personal(z.string(), 'free-form')).optional(),
  tags: z.array(z.string()).optional(),
});
export type ContactCreatedV1 = z.infer<typeof ContactCreatedV1>;

export function splitName(name: string): { firstName: string; lastName: string } {
  const trimmed = name.trim();
  const match = /^(.*\S)\s+(\S+)$/.exec(trimmed);
  return match ? { firstName: match[1]!, lastName: match[2]! } : { firstName: trimmed, lastName: '' };
}

export const contactCreatedV1 = defineUpcaster({
  type: 'ContactCreated',
  fromVersion: 1,
  schema: ContactCreatedV1,
  up: ({ name, customFields, tags, ...rest }) => ({ ...rest, ...splitName(name), customFields: customFields ?? {}, tags: tags ?? [] }),
});

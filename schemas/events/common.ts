import { z } from 'zod';
import { personal } from './personal-data.js';

/** Building blocks shared by the event schemas of every aggregate. */

// Ids are UUIDv7 (time-ordered); we accept any RFC 4122 UUID so imported ids stay valid.
export const Id = z.uuid();
export const TenantId = z.string().min(1).max(64);
export const UserId = z.string().min(1).max(128);
export const IsoDateTime = z.iso.datetime({ offset: true });
export const IsoDate = z.iso.date();
export const CurrencyCode = z.string().regex(/^[A-Z]{3}$/, 'ISO 4217 currency code, e.g. EUR');

/** Money in minor units (cents) so sums are exact. */
export const Money = z.object({
  amountMinor: z.number().int().nonnegative(),
  currency: CurrencyCode,
});
export type Money = z.infer<typeof Money>;

export const PersonName = personal(z.string().trim().min(1).max(200), 'name');
export const Email = personal(z.email().max(320), 'email');
export const Phone = personal(z.string().trim().min(3).max(40), 'phone');
export const FreeText = personal(z.string().max(10_000), 'free-form');

export const Role = z.enum(['admin', 'manager', 'sales', 'marketing', 'analyst', 'auditor', 'dpo']);
export type Role = z.infer<typeof Role>;

/** Purposes a data subject can consent to (SPEC: consent). Shared: contact and lead interactions check them. */
export const ConsentPurpose = z.enum(['marketing_email', 'sms', 'phone', 'profiling', 'data_sharing']);
export type ConsentPurpose = z.infer<typeof ConsentPurpose>;

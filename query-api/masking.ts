import { ERASED_MARKER } from '../schemas/events/opaque-personal.js';

/**
 * Masking of personal fields for roles without `read:personal` (SPEC: the analyst sees personal fields
 * masked). The shape of a value stays recognisable (its kind, its first letter, an email's domain, a
 * phone's last two digits) so an analyst can tell records apart and spot data-quality issues, but never
 * reads the value itself:
 *
 * | kind    | value                    | masked               |
 * |---------|--------------------------|----------------------|
 * | email   | `alice.smith@example.com`| `a***@example.com`   |
 * | name    | `Alice`                  | `A***`               |
 * | phone   | `+1 555 0100 42`         | `***42`              |
 * | text    | any free text            | `***`                |
 *
 * `[erased]` (GDPR) and null pass through unchanged: they are not personal data. A masked value always
 * ends in `***` or `@domain`, never reveals its length.
 */
export type PersonalKind = 'email' | 'name' | 'phone' | 'text';

export const MASK = '***';

/** First code point (never half a surrogate pair), upper-cased only by the data itself. */
function firstChar(s: string): string {
  const first = [...s.trim()][0];
  return first ?? '';
}

export function maskEmail(value: string): string {
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1) return MASK;
  return `${firstChar(value.slice(0, at))}${MASK}@${value.slice(at + 1)}`;
}

export function maskName(value: string): string {
  const first = firstChar(value);
  return first === '' ? MASK : `${first}${MASK}`;
}

export function maskPhone(value: string): string {
  const digits = value.replace(/\D/g, '');
  return digits.length >= 6 ? `${MASK}${digits.slice(-2)}` : MASK;
}

export function mask(value: string, kind: PersonalKind): string {
  if (value === ERASED_MARKER) return value;
  switch (kind) {
    case 'email':
      return maskEmail(value);
    case 'name':
      return maskName(value);
    case 'phone':
      return maskPhone(value);
    case 'text':
      return MASK;
    default: {
      const never: never = kind;
      throw new Error(`unknown personal kind ${String(never)}`);
    }
  }
}

/** A JSON value (custom fields) with every string leaf masked as text; keys and structure stay. */
export function maskJson(value: unknown): unknown {
  if (typeof value === 'string') return value === ERASED_MARKER ? value : MASK;
  if (typeof value === 'number' || typeof value === 'boolean') return MASK;
  if (Array.isArray(value)) return value.map(maskJson);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskJson(v)]));
  return value;
}

import { z } from 'zod';
import { personal } from './personal-data.js';

/**
 * Building blocks shared by the event schemas of every aggregate.
 *
 * The storable-input gate. What an event schema accepts, every store behind the event store
 * (PostgreSQL read models, Elasticsearch, ClickHouse) must hold exactly, or a projector refuses the
 * event long after the command answered 201 (a stuck projector or a dead letter). So the refusal lives
 * here, in the primitives every schema is built from, and the command API answers 400 naming the field:
 *  - text: any Unicode except U+0000 (PostgreSQL text and jsonb cannot hold NUL: 22021 / 22P05) and
 *    unpaired UTF-16 surrogates (not Unicode scalar values: jsonb refuses them with 22P02, a UTF-8
 *    encoder silently turns them into U+FFFD). Astral characters, emoji, RTL, combining marks and
 *    noncharacters pass and round-trip byte-exact. Every string field is built from `Text`;
 *    `defineEvent` refuses at load time a schema with a string that is not (see storable.ts).
 *  - dates and instants: years 0001–9999 (PostgreSQL has no year 0000: 22008), UTC offsets within
 *    ±14:00 (the widest in use; PostgreSQL refuses beyond ±15:59: 22009), at most millisecond
 *    precision (JavaScript dates and Elasticsearch `date` hold milliseconds, so a microsecond would be
 *    rounded away on the way back), and an instant whose UTC time also falls within 0001–9999.
 *  - numbers: integers only, within ±(2^53 − 1) (exact in JavaScript, PostgreSQL bigint, ClickHouse
 *    Int64 and Float64), money at most MAX_AMOUNT_MINOR so sums of many amounts stay exact too.
 */

/**
 * True when `s` holds no U+0000 and every UTF-16 surrogate is half of a pair. Both checks are V8 builtins
 * (`isWellFormed`, ES2024, in Node 20): seven times faster than a charCodeAt loop, and this runs on every
 * string of every event at append (bench/README: the append rows).
 */
export function isStorableText(s: string): boolean {
  return s.isWellFormed() && !s.includes('\0');
}

/**
 * The published form of the text rule, a JSON Schema `pattern` (OpenAPI, schemathesis). It means the
 * same with and without the `u` flag (code points or UTF-16 units), so every consumer reads it alike.
 * Validation does not run this pattern: a RegExp subclass whose `test` is `isStorableText` keeps zod's
 * regex check (its issue format, its JSON Schema export, several patterns merged with allOf) while
 * avoiding V8's backtracking stack, which overflows on a string of a few million characters.
 */
export const STORABLE_TEXT_PATTERN = '^(?:[^\\u0000\\uD800-\\uDFFF]|[\\uD800-\\uDBFF][\\uDC00-\\uDFFF])*$';
class StorableTextPattern extends RegExp {
  constructor() {
    super(STORABLE_TEXT_PATTERN);
  }
  override test(s: string): boolean {
    return isStorableText(s);
  }
}
export const STORABLE_TEXT_RULE = 'must not contain U+0000 (NUL) or an unpaired UTF-16 surrogate (\\ud800-\\udfff)';
const storableText = new StorableTextPattern();
/** Marks a string schema as gated; `assertStorable` (storable.ts) looks for it. */
export const isStorableTextPattern = (pattern: unknown): boolean => pattern instanceof StorableTextPattern;

/** Every free string of every event and command is built from this: `Text.trim().min(1).max(200)`. */
export const Text = z.string().regex(storableText, STORABLE_TEXT_RULE);

// Ids are UUIDv7 (time-ordered); we accept any RFC 4122 UUID so imported ids stay valid.
export const Id = z.uuid();
export const TenantId = Text.min(1).max(64);
export const UserId = Text.min(1).max(128);

/** The dates and instants every store holds exactly (see the gate above). */
export const MIN_INSTANT = '0001-01-01T00:00:00.000Z';
export const MAX_INSTANT = '9999-12-31T23:59:59.999Z';
const MIN_MS = Date.parse(MIN_INSTANT);
const MAX_MS = Date.parse(MAX_INSTANT);
const instantInRange = (s: string): boolean => {
  const t = Date.parse(s);
  return t >= MIN_MS && t <= MAX_MS;
};
/** The gate's checks run only on what is already a well-formed ISO value: one issue per bad field. */
const wellFormed = (payload: { issues: readonly unknown[] }): boolean => payload.issues.length === 0;
// zod 4 honours `when` on every check at run time; the type of its regex params just does not list it.
const ifWellFormed = (message: string) => ({ message, when: wellFormed }) as { message: string };
export const IsoDateTime = z.iso
  .datetime({ offset: true })
  .regex(
    /^(?!0000)[^.]*(?:\.\d{1,3})?(?:Z|[+-](?:(?:0\d|1[0-3]):[0-5]\d|14:00))$/,
    ifWellFormed('a date-time with a year from 0001 to 9999, at most millisecond precision and a UTC offset within ±14:00'),
  )
  .check((ctx) => {
    // Not a custom issue: the command API answers a malformed value 400 (a custom issue means a broken rule, 422).
    if (ctx.issues.length === 0 && !instantInRange(ctx.value)) {
      ctx.issues.push({
        code: 'invalid_format',
        format: 'datetime',
        input: ctx.value,
        message: `the instant must fall between ${MIN_INSTANT} and ${MAX_INSTANT}`,
      });
    }
  });
export const IsoDate = z.iso.date().regex(/^(?!0000)/, ifWellFormed('the year must be from 0001 to 9999'));
export const CurrencyCode = Text.regex(/^[A-Z]{3}$/, 'ISO 4217 currency code, e.g. EUR');

/**
 * The largest amount in minor units: 10^15 − 1 (ten trillion in a two-decimal currency). Far below
 * 2^53, so about nine thousand maximal amounts still sum exactly in JavaScript (deciders, GraphQL),
 * and far below PostgreSQL bigint / ClickHouse Int64, so sums there never overflow either.
 */
export const MAX_AMOUNT_MINOR = 999_999_999_999_999;
export const MinorUnits = z
  .number()
  .int('minor units are whole numbers')
  .nonnegative('minor units are not negative')
  .max(MAX_AMOUNT_MINOR, `at most ${MAX_AMOUNT_MINOR} minor units`);

/** Money in minor units (cents) so sums are exact. */
export const Money = z.object({
  amountMinor: MinorUnits,
  currency: CurrencyCode,
});
export type Money = z.infer<typeof Money>;

export const PersonName = personal(Text.trim().min(1).max(200), 'name');
export const Email = personal(z.email().max(320), 'email');
export const Phone = personal(Text.trim().min(3).max(40), 'phone');
export const FreeText = personal(Text.max(10_000), 'free-form');

export const Role = z.enum(['admin', 'manager', 'sales', 'marketing', 'analyst', 'auditor', 'dpo']);
export type Role = z.infer<typeof Role>;

/** Purposes a data subject can consent to (SPEC: consent). Shared: contact and lead interactions check them. */
export const ConsentPurpose = z.enum(['marketing_email', 'sms', 'phone', 'profiling', 'data_sharing']);
export type ConsentPurpose = z.infer<typeof ConsentPurpose>;

import { createJsonSchemaTransform, createJsonSchemaTransformObject } from 'fastify-type-provider-zod';
import type { z } from 'zod';

/**
 * The OpenAPI document must say what the server enforces, no more and no less: CI fuzzes the API from
 * its own `/docs/json` (scripts/ci/api-fuzz.sh, schemathesis `--checks all`), which fails when a
 * schema-valid request is refused with 400 or a schema-invalid one is accepted, and when a status or a
 * content type is not the documented one. zod's JSON Schema export misses two things this module adds:
 *
 * 1. Trimming. `z.string().trim().min(1).max(200)` checks the lengths AFTER trimming, which JSON Schema
 *    cannot say with minLength/maxLength on the raw value: `"\n"` passes `minLength: 1` and is refused.
 *    Such a string is published with patterns stating the trimmed lengths exactly (see trimmedPatterns).
 * 2. Errors. Every error is `application/problem+json` (RFC 9457), for every status the HTTP layer can
 *    answer on any operation (400 validation, 401, 403, 413, 415, 429, 431, 500, 503), besides the
 *    statuses a route declares itself (404, 409, 422, 501).
 *
 * Rules zod holds as refinements (a period's end after its start, …) cannot be published as JSON
 * Schema; such a rule answers 422 (HTTP_ERR_RULE, see problem.ts) and the route's description names it.
 */

/** JavaScript's String.prototype.trim set (WhiteSpace + LineTerminator), spelled out: `\s` differs between regex dialects. */
export const TRIMMED_WHITESPACE = '\\t\\n\\u000b\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';
const WS = `[${TRIMMED_WHITESPACE}]`;
const NON_WS = `[^${TRIMMED_WHITESPACE}]`;

/**
 * Patterns that hold exactly when the trimmed string has at least `min` and at most `max` characters.
 * Trimmed = from the first to the last non-whitespace character, so: at least `min` means two such
 * characters at least `min - 1` apart; at most `max` means the string is whitespace, at most `max`
 * characters, whitespace.
 */
export function trimmedPatterns(min: number, max: number | undefined): string[] {
  const patterns: string[] = [];
  if (min === 1) patterns.push(NON_WS);
  else if (min > 1) patterns.push(`${NON_WS}[\\s\\S]{${min - 2},}${NON_WS}`);
  if (max !== undefined) patterns.push(`^${WS}*[\\s\\S]{0,${max}}${WS}*$`);
  return patterns;
}

type Json = Record<string, unknown>;
interface OverrideContext {
  readonly zodSchema: z.core.$ZodType;
  readonly jsonSchema: Json;
}

function isTrimmed(schema: z.core.$ZodType): boolean {
  const def = schema._zod.def as { type: string; checks?: { _zod: { def: { check: string; tx?: (s: string) => unknown } } }[] };
  if (def.type !== 'string') return false;
  return (def.checks ?? []).some((c) => c._zod.def.check === 'overwrite' && c._zod.def.tx?.(' \n x \t') === 'x');
}

/**
 * zod → JSON Schema override, for request and response schemas alike (the library passes no direction).
 * It replaces fastify-type-provider-zod's default, whose only effect on an OpenAPI 3.1 document is
 * dropping empty union branches (kept here); its date/undefined output rules do not apply (no route
 * answers a z.date() or z.undefined()). Trimming is published on responses too: harmless, since what
 * the server answers was trimmed on the way in.
 */
function override(ctx: OverrideContext): void {
  const { zodSchema, jsonSchema } = ctx;
  if (zodSchema._zod.def.type === 'union' && Array.isArray(jsonSchema.anyOf)) {
    jsonSchema.anyOf = (jsonSchema.anyOf as Json[]).filter((s) => Object.keys(s).length > 0);
  }
  if (isTrimmed(zodSchema)) publishTrim(jsonSchema);
}

function publishTrim(s: Json): void {
  const min = typeof s.minLength === 'number' ? s.minLength : 0;
  const max = typeof s.maxLength === 'number' ? s.maxLength : undefined;
  // The raw value may be longer than `max` (surrounding whitespace is dropped first).
  delete s.maxLength;
  const patterns = trimmedPatterns(min, max);
  const existing: Json[] = [];
  if (typeof s.pattern === 'string') existing.push({ pattern: s.pattern });
  if (Array.isArray(s.allOf)) existing.push(...(s.allOf as Json[]));
  delete s.pattern;
  const all = [...existing, ...patterns.map((pattern) => ({ pattern }))];
  if (all.length === 1) s.pattern = all[0]!.pattern;
  else if (all.length > 1) s.allOf = all;
  const note = `Surrounding whitespace is trimmed; the length limits${min > 0 || max !== undefined ? ` (${min}–${max ?? '∞'})` : ''} apply to the trimmed text.`;
  s.description = typeof s.description === 'string' ? `${s.description} ${note}` : note;
}

export const openapiTransform = createJsonSchemaTransform({ zodToJsonConfig: { override } });

/** Statuses any /api/v1 operation can answer, whatever the route declares. */
const COMMON_ERRORS: Record<string, string> = {
  '400': 'The request breaks the published schema (body, path, query or headers); `errors` lists every bad field.',
  '401': 'No token, or a token that does not verify (signature, algorithm, issuer, audience, expiry, claims).',
  '403': "None of the caller's roles grants the permission this operation needs.",
  '429': 'Rate limited per tenant and user; retry after `Retry-After` seconds.',
  '431': 'Request headers too large.',
  '500': 'An unexpected error; quote the correlationId.',
  '503': 'The server is shutting down or a dependency is unavailable.',
};
const BODY_ERRORS: Record<string, string> = {
  '413': 'The body is larger than BODY_LIMIT_BYTES.',
  '415': 'The body is not of a Content-Type this operation accepts (the detail names them).',
};
const DECLARED: Record<string, string> = {
  '404': 'The resource does not exist in the caller\'s tenant (another tenant\'s resource reads as absent).',
  '409': 'Conflict: a stale If-Match revision, a duplicate, or an Idempotency-Key already in flight.',
  '422': 'A domain rule refuses the command (the rule is in `code` and `detail`): state rules, and the cross-field rules the description lists.',
  '501': 'Not implemented yet.',
};

const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };
const PROBLEM_MEDIA = 'application/problem+json';

/** Rewrites every operation's error responses as problem+json and adds the statuses any operation may answer. */
export function publishProblems(document: Json): Json {
  const paths = (document.paths ?? {}) as Record<string, Record<string, Json>>;
  for (const [path, item] of Object.entries(paths)) {
    if (!path.startsWith('/api/')) continue;
    for (const [method, operation] of Object.entries(item)) {
      if (typeof operation !== 'object' || operation === null || !('responses' in operation)) continue;
      const responses = (operation.responses ?? {}) as Record<string, Json>;
      const statuses: Record<string, string> = { ...COMMON_ERRORS, ...(operation.requestBody || method !== 'get' ? BODY_ERRORS : {}) };
      for (const status of Object.keys(responses)) if (Number(status) >= 400 && !statuses[status]) statuses[status] = DECLARED[status] ?? 'Error.';
      for (const [status, description] of Object.entries(statuses)) {
        const existing = responses[status];
        const keep = existing && typeof existing.description === 'string' && existing.description !== 'Default Response' ? existing.description : description;
        responses[status] = { description: keep, content: { [PROBLEM_MEDIA]: { schema: PROBLEM_REF } } };
      }
      operation.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
    }
  }
  return document;
}

const zodTransformObject = createJsonSchemaTransformObject({ zodToJsonConfig: { override } });
export const openapiTransformObject: typeof zodTransformObject = (document) => publishProblems(zodTransformObject(document) as Json) as ReturnType<typeof zodTransformObject>;

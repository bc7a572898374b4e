import { createJsonSchemaTransform, createJsonSchemaTransformObject } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { IsoDate, IsoDateTime, STORABLE_TEXT_PATTERN } from '../../schemas/events/common.js';

/**
 * The OpenAPI document must say what the server enforces, no more and no less: CI fuzzes the API from
 * its own `/docs/json` (scripts/ci/api-fuzz.sh, schemathesis `--checks all`), which fails when a
 * schema-valid request is refused with 400 or a schema-invalid one is accepted, and when a status or a
 * content type is not the documented one. zod's JSON Schema export misses three things this module adds:
 *
 * 1. Trimming. `z.string().trim().min(1).max(200)` checks the lengths AFTER trimming, which JSON Schema
 *    cannot say with minLength/maxLength on the raw value: `"\n"` passes `minLength: 1` and is refused.
 *    Such a string is published with one pattern stating the trimmed lengths exactly (trimmedPattern).
 * 2. The storable-text rule, in a pattern every regex engine compiles (NO_NUL_PATTERN).
 * 3. Errors. Every error is `application/problem+json` (RFC 9457), for every status the HTTP layer can
 *    answer on any operation (400 validation, 401, 403, 413, 414, 415, 429, 431, 500, 503), besides the
 *    statuses a route declares itself (404, 409, 422, 501).
 *
 * Rules zod holds as refinements (a period's end after its start, …) cannot be published as JSON
 * Schema; such a rule answers 422 (HTTP_ERR_RULE_BROKEN, see problem.ts) and the route's description names it.
 */

/** JavaScript's String.prototype.trim set (WhiteSpace + LineTerminator), spelled out: `\s` differs between regex dialects. */
export const TRIMMED_WHITESPACE = '\\t\\n\\u000b\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';

/**
 * The storable-text rule (schemas/events/common.ts) as a pattern every consumer can compile. The gate's
 * own pattern names the surrogate range, which regex engines over Unicode scalar values (Rust's, behind
 * schemathesis' validator) refuse to compile: the rule then silently vanished from what they generate
 * and check. A JSON string can only carry a lone surrogate as a `\\udXXX` escape, so the pattern says
 * "no U+0000" and the description says the rest.
 */
export const NO_NUL_PATTERN = '^[^\\u0000]*$';
const STORABLE_NOTE = 'U+0000 and unpaired UTF-16 surrogates are refused.';

/**
 * One pattern that holds exactly when the trimmed string has at least `min` and at most `max`
 * characters (and, with `noNul`, no U+0000). Trimmed = from the first to the last non-whitespace
 * character, so the string is: whitespace, then nothing / one non-whitespace character / two of them
 * with `min - 2` to `max - 2` characters between, then whitespace. One pattern rather than an allOf of
 * several, which every generator handles.
 */
export function trimmedPattern(min: number, max: number | undefined, noNul: boolean): string {
  const W = `[${TRIMMED_WHITESPACE}]`;
  const N = noNul ? `[^\\u0000${TRIMMED_WHITESPACE}]` : `[^${TRIMMED_WHITESPACE}]`;
  const C = noNul ? '[^\\u0000]' : '[\\s\\S]';
  const lo = Math.max(0, min - 2);
  const between = max === undefined ? (lo === 0 ? `${C}*` : `${C}{${lo},}`) : `${C}{${lo},${max - 2}}`;
  const cores: string[] = [];
  if (min <= 1 && (max === undefined || max >= 1)) cores.push(N);
  if (max === undefined || max >= 2) cores.push(`${N}${between}${N}`);
  const core = `(?:${cores.join('|')})${min <= 0 ? '?' : ''}`;
  return `^${W}*${core}${W}*$`;
}

/**
 * The gate's dates (schemas/events/common.ts) as single patterns without lookahead. zod publishes a
 * date as its format pattern plus the gate's `^(?!0000)` in an allOf; a generator that cannot intersect
 * them draws from the loose one and throws nearly everything away (schemathesis: "too many examples
 * filtered out"). These say the same, in one pattern each (edges.unit.test pins them to the zod
 * schemas): Gregorian dates of years 0001-9999; date-times with seconds, at most millisecond precision,
 * a UTC offset within ±14:00, and an instant (local time minus offset) within 0001-9999 too. The last
 * rule only bites on the first and last day: there the pattern refuses any offset that moves the
 * instant outwards (0001-01-01 with +hh:mm, 9999-12-31 with -hh:mm), which is slightly stricter than
 * the server (it accepts 0001-01-01T23:00:00+01:00); stricter on a value no client sends, rather than
 * a document promising what the server refuses.
 */
const YEAR = '(?:[1-9]\\d{3}|0[1-9]\\d{2}|00[1-9]\\d|000[1-9])';
/** Years 0002-9998. */
const INNER_YEAR = '(?:[1-8]\\d{3}|9(?:[0-8]\\d\\d|9[0-8]\\d|99[0-8])|0[1-9]\\d{2}|00[1-9]\\d|000[2-9])';
const LEAP_YEAR = '(?:\\d\\d(?:[2468][048]|[13579][26]|0[48])|(?:[2468][048]|[13579][26]|0[48])00)';
const D31 = '(?:0[1-9]|[12]\\d|3[01])';
const D30 = '(?:0[1-9]|[12]\\d|30)';
const FEB = '02-(?:0[1-9]|1\\d|2[0-8])';
const MONTH_DAY = `(?:(?:0[13578]|1[02])-${D31}|(?:0[469]|11)-${D30}|${FEB})`;
const MONTH_DAY_NOT_0101 = `(?:01-(?:0[2-9]|[12]\\d|3[01])|(?:0[3578]|1[02])-${D31}|(?:0[469]|11)-${D30}|${FEB})`;
const MONTH_DAY_NOT_1231 = `(?:(?:0[13578]|10)-${D31}|12-${D30}|(?:0[469]|11)-${D30}|${FEB})`;
const DATE = `(?:${LEAP_YEAR}-02-29|${YEAR}-${MONTH_DAY})`;
/** Every date but 0001-01-01 and 9999-12-31 (neither year is a leap year). */
const INNER_DATE = `(?:${LEAP_YEAR}-02-29|${INNER_YEAR}-${MONTH_DAY}|0001-${MONTH_DAY_NOT_0101}|9999-${MONTH_DAY_NOT_1231})`;
const TIME = '(?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(?:\\.\\d{1,3})?';
const HHMM = '(?:(?:0\\d|1[0-3]):[0-5]\\d|14:00)';
export const DATE_PATTERN = `^${DATE}$`;
export const DATE_TIME_PATTERN =
  `^(?:${INNER_DATE}T${TIME}(?:Z|[+-]${HHMM})` + `|0001-01-01T${TIME}(?:Z|-${HHMM}|\\+00:00)` + `|9999-12-31T${TIME}(?:Z|\\+${HHMM}|-00:00))$`;

/** True when `schema` is `base` or a copy of it (`.describe()`, …): the same checks, no more. */
function derivesFrom(schema: z.core.$ZodType, base: z.core.$ZodType): boolean {
  const a = (schema._zod.def as { checks?: unknown[] }).checks ?? [];
  const b = (base._zod.def as { checks?: unknown[] }).checks ?? [];
  return a.length === b.length && b.length > 0 && b.every((c, i) => a[i] === c);
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

// zod may hand the same generated node to the override more than once; it is rewritten once.
const rewritten = new WeakSet<Json>();

/**
 * zod → JSON Schema override, for request and response schemas alike (the library passes no direction).
 * It replaces fastify-type-provider-zod's default, whose only effect on an OpenAPI 3.1 document is
 * dropping empty union branches (kept here); its date/undefined output rules do not apply (no route
 * answers a z.date() or z.undefined()).
 */
function override(ctx: OverrideContext): void {
  const { zodSchema, jsonSchema } = ctx;
  if (zodSchema._zod.def.type === 'union' && Array.isArray(jsonSchema.anyOf)) {
    jsonSchema.anyOf = (jsonSchema.anyOf as Json[]).filter((s) => Object.keys(s).length > 0);
  }
  if (zodSchema._zod.def.type === 'string' && !rewritten.has(jsonSchema)) {
    rewritten.add(jsonSchema);
    if (derivesFrom(zodSchema, IsoDate)) publishDate(jsonSchema, DATE_PATTERN, 'An ISO 8601 date (YYYY-MM-DD), year 0001 to 9999.');
    else if (derivesFrom(zodSchema, IsoDateTime)) {
      publishDate(
        jsonSchema,
        DATE_TIME_PATTERN,
        'An ISO 8601 date-time with seconds and an offset (Z or ±hh:mm within ±14:00), at most millisecond precision, year 0001 to 9999; the instant it names must fall within 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z (on those two days, an offset pointing outwards is refused).',
      );
    } else publishString(jsonSchema, isTrimmed(zodSchema));
  }
}

/** No `format` beside the pattern: a generator would draw from the format and filter by the pattern. */
function publishDate(s: Json, pattern: string, note: string): void {
  delete s.allOf;
  delete s.format;
  s.pattern = pattern;
  s.description = [typeof s.description === 'string' ? s.description : '', note].filter(Boolean).join(' ');
}

/** Rewrites a string's patterns: the storable-text rule made portable, trimming stated exactly. */
function publishString(s: Json, trimmed: boolean): void {
  const given = [
    ...(typeof s.pattern === 'string' ? [s.pattern] : []),
    ...(Array.isArray(s.allOf) ? (s.allOf as Json[]).filter((p) => typeof p.pattern === 'string' && Object.keys(p).length === 1).map((p) => p.pattern as string) : []),
  ];
  const otherAllOf = Array.isArray(s.allOf) ? (s.allOf as Json[]).filter((p) => !(typeof p.pattern === 'string' && Object.keys(p).length === 1)) : [];
  const storable = given.includes(STORABLE_TEXT_PATTERN);
  const patterns = new Set(given.filter((p) => p !== STORABLE_TEXT_PATTERN));
  const notes: string[] = [];
  if (trimmed) {
    const min = typeof s.minLength === 'number' ? s.minLength : 0;
    const max = typeof s.maxLength === 'number' ? s.maxLength : undefined;
    // The raw value may be longer than `max`: surrounding whitespace is dropped first.
    delete s.maxLength;
    patterns.add(trimmedPattern(min, max, storable));
    notes.push(`Surrounding whitespace is trimmed; the length limits (${min}–${max ?? '∞'}) apply to the trimmed text.`);
  } else if (storable) {
    patterns.add(NO_NUL_PATTERN);
  }
  if (storable) notes.push(STORABLE_NOTE);
  delete s.pattern;
  delete s.allOf;
  const all = [...patterns];
  if (all.length === 1 && otherAllOf.length === 0) s.pattern = all[0];
  else if (all.length + otherAllOf.length > 0) s.allOf = [...all.map((pattern) => ({ pattern })), ...otherAllOf];
  if (notes.length) s.description = [typeof s.description === 'string' ? s.description : '', ...notes].filter(Boolean).join(' ');
}

const zodTransform = createJsonSchemaTransform({ zodToJsonConfig: { override } });

/**
 * Per-route transform: zod → JSON Schema, then a route that takes a non-JSON body (FastifyContextConfig
 * `accepts`, the CSV import) gets that body documented: its handler reads the raw stream, so there is
 * no zod body schema to export.
 */
export const openapiTransform: typeof zodTransform = (document) => {
  // Routes another plugin mounts on the same server (the GraphQL endpoint and GraphiQL's files under `npm
  // start`) carry plain JSON Schemas or none: they are not part of the command API's contract, so they are
  // left out of it (converting them as zod made /docs/json answer 500).
  const routeSchema = (document as { schema?: unknown }).schema;
  const foreign = !hasOnlyZodSchemas(routeSchema) || (routeSchema === undefined && !document.url.startsWith('/api/'));
  if (foreign) return { schema: { hide: true }, url: document.url } as ReturnType<typeof zodTransform>;
  const result = zodTransform(document) as { schema: Json; url: string };
  const accepts = (document.route as { config?: { accepts?: readonly string[] } } | undefined)?.config?.accepts;
  if (accepts && !result.schema.hide && result.schema.body === undefined) {
    result.schema.body = { type: 'string', description: `The request body, as ${accepts.join(' or ')}.` };
    result.schema.consumes = [...accepts];
  }
  return result as ReturnType<typeof zodTransform>;
};

const isZod = (v: unknown): boolean => typeof v === 'object' && v !== null && '_zod' in v;

/** Whether every part of a route schema (body, querystring, params, headers, each response) is a zod schema. */
function hasOnlyZodSchemas(schema: unknown): boolean {
  if (typeof schema !== 'object' || schema === null) return true;
  const s = schema as Record<string, unknown>;
  for (const part of ['body', 'querystring', 'params', 'headers'] as const) if (s[part] !== undefined && !isZod(s[part])) return false;
  const response = s.response;
  if (typeof response === 'object' && response !== null) for (const r of Object.values(response)) if (r !== undefined && !isZod(r)) return false;
  return true;
}

/** Statuses any /api/v1 operation can answer, whatever the route declares. */
const COMMON_ERRORS: Record<string, string> = {
  '400': 'The request breaks the published schema (body, path, query or headers); `errors` lists every bad field.',
  '401': 'No token, or a token that does not verify (signature, algorithm, issuer, audience, expiry, claims).',
  '403': "None of the caller's roles grants the permission this operation needs.",
  '414': 'A path parameter longer than 100 characters.',
  '429': 'Rate limited per tenant and user; retry after `Retry-After` seconds.',
  '431': 'Request headers too large.',
  '500': 'An unexpected error; quote the correlationId.',
  '503': 'The server is shutting down or a dependency is unavailable.',
};
const BODY_ERRORS: Record<string, string> = {
  '413': 'The body is larger than BODY_LIMIT_BYTES.',
  '415': 'The body is not of a Content-Type this operation accepts (the detail names them).',
};
/** A command naming an erased data subject (GDPR): final, never retried (write-side/gdpr/errors.ts). */
const GONE: Record<string, string> = { '410': 'The data subject this command names was erased (GDPR); nothing more is recorded for it.' };
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
      const statuses: Record<string, string> = { ...COMMON_ERRORS, ...(operation.requestBody || method !== 'get' ? BODY_ERRORS : {}), ...(method !== 'get' ? GONE : {}) };
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

/**
 * OpenAPI links from each create (a POST answering 201 `{ id }`) to the operations on what it created:
 * `/leads` → `/leads/{id}/…`, and a lead or contact → `/consents/{subjectId}/…`, `/subjects/{subjectId}/…`
 * (both are data subjects). A client reads them as "what can I do next"; schemathesis' stateful phase
 * follows them, so it drives real lifecycles (capture → qualify → convert) instead of unknown ids.
 */
export function publishLinks(document: Json): Json {
  const paths = (document.paths ?? {}) as Record<string, Record<string, Json>>;
  const pointer = (path: string, method: string) => `#/paths/${path.replaceAll('~', '~0').replaceAll('/', '~1')}/${method}`;
  const subjects = new Set(['/api/v1/leads', '/api/v1/contacts']);
  for (const [base, item] of Object.entries(paths)) {
    const created = (item.post?.responses as Record<string, Json> | undefined)?.['201'];
    if (!created) continue;
    const links: Record<string, Json> = {};
    for (const [path, target] of Object.entries(paths)) {
      const param = path.startsWith(`${base}/{id}`) ? 'id' : subjects.has(base) && /^\/api\/v1\/(consents|subjects)\/\{subjectId\}/.test(path) ? 'subjectId' : undefined;
      if (!param) continue;
      for (const method of Object.keys(target)) {
        // `qualify`, `consents_grant`, `get_subjects_export`, `patch`: what follows, without the ids.
        const rest = path.slice(path.startsWith(base) ? base.length : '/api/v1'.length).split('/').filter((seg) => seg && !seg.startsWith('{'));
        const name = [...(method === 'post' ? [] : [method]), ...rest].join('_') || method;
        links[name] = { operationRef: pointer(path, method), parameters: { [param]: '$response.body#/id' } };
      }
    }
    if (Object.keys(links).length) created.links = links;
  }
  return document;
}

const zodTransformObject = createJsonSchemaTransformObject({ zodToJsonConfig: { override } });
export const openapiTransformObject: typeof zodTransformObject = (document) => publishLinks(publishProblems(zodTransformObject(document) as Json)) as ReturnType<typeof zodTransformObject>;

import { z } from 'zod';

/**
 * Shared HTTP schemas of the command API. Bodies are strict at every depth: an unknown field is a 400
 * naming it (`body.value.amount`), never silently dropped. A typo (`ownerID`, `amount` for `amountMinor`)
 * would otherwise "succeed" and lose the value the caller meant to send. The OpenAPI document shows this
 * as `additionalProperties: false`.
 */
export function strictDeep<T extends z.ZodType>(schema: T): T {
  return strictify(schema) as T;
}

/**
 * A clone is a new schema instance, and zod keeps `.meta()`/`.describe()` in a registry keyed by
 * instance: without this, what a schema publishes beyond zod's own keywords (`uniqueItems` on tags, a
 * description) would vanish from the OpenAPI document of every strict body. The `id` stays with the
 * original (two schemas may not share a component name).
 */
function withMeta(clone: z.ZodType, original: z.ZodType): z.ZodType {
  const meta = clone === original ? undefined : z.globalRegistry.get(original);
  if (!meta) return clone;
  const { id: _id, ...rest } = meta;
  return Object.keys(rest).length ? clone.meta(rest) : clone;
}

function strictify(schema: z.ZodType): z.ZodType {
  return withMeta(strictifyShape(schema), schema);
}

function strictifyShape(schema: z.ZodType): z.ZodType {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  switch (def.type) {
    case 'object': {
      const shape = Object.fromEntries(Object.entries(def.shape as Record<string, z.ZodType>).map(([k, v]) => [k, strictify(v)]));
      // clone keeps the object's refinements (checks), only shape and catchall change.
      return schema.clone({ ...def, shape, catchall: z.never() } as never);
    }
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'nonoptional':
      return schema.clone({ ...def, innerType: strictify(def.innerType as z.ZodType) } as never);
    case 'array':
      return schema.clone({ ...def, element: strictify(def.element as z.ZodType) } as never);
    default:
      return schema;
  }
}

/** What every accepted command answers. Revision and position are 64-bit, so decimal strings on the wire. */
export const CommandAccepted = z
  .object({
    id: z.string().describe('The aggregate id (a UUIDv7 for creates).'),
    revision: z.string().regex(/^-?\d+$/).describe('Stream revision after the command; send it back as If-Match.'),
    position: z.string().regex(/^\d+$/).describe('Global position of the last event written: the consistency token (X-Consistent-With on reads).'),
  })
  .meta({ id: 'CommandAccepted' });
export type CommandAccepted = z.infer<typeof CommandAccepted>;

export const IdParams = z.object({ id: z.uuid('must be a UUID') });
export const SubjectParams = z.object({ subjectId: z.uuid('must be a UUID') });

/**
 * The command headers, validated like the body (a bad one is a 400 naming `headers.<name>`) and
 * documented in OpenAPI. Loose: every other header passes through.
 */
export const CommandHeaders = z.looseObject({
  'idempotency-key': z
    .string()
    .min(1)
    .max(256, 'at most 256 characters')
    .optional()
    .describe('A retried command with the same key returns the first answer and appends nothing (per tenant).'),
  'if-match': z
    .string()
    .regex(/^\s*(W\/)?"?-?\d+"?\s*$/, 'must be a stream revision, e.g. "3" (the ETag of the last answer)')
    .optional()
    .describe('Expected stream revision; a stale one answers 409 STREAM_ERR_REVISION_MISMATCH.'),
  'x-correlation-id': z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'at most 128 characters of A-Z a-z 0-9 . _ : -')
    .optional()
    .describe('Generated when absent; echoed, logged and stored in every event the command writes.'),
});

/** `"3"`, `3` or `W/"3"` → 3n. */
export function parseRevision(header: string | undefined): bigint | undefined {
  if (header === undefined) return undefined;
  const m = /-?\d+/.exec(header);
  return m ? BigInt(m[0]) : undefined;
}

import type { z } from 'zod';

/**
 * A pure mapping of one event type from `fromVersion` to `fromVersion + 1`. `schema` validates the old
 * payload first, so an upcaster never sees data it was not written for.
 */
export interface Upcaster<S extends z.ZodType = z.ZodType> {
  readonly type: string;
  readonly fromVersion: number;
  readonly schema: S;
  readonly up: (data: z.infer<S>) => unknown;
}

export function defineUpcaster<S extends z.ZodType>(u: Upcaster<S>): Upcaster<S> {
  return u;
}

import { z } from 'zod';
import { personalPaths, type DataPath } from './personal-data.js';
import { assertStorable } from './storable.js';

/**
 * One event type at one schema version. `schema` validates the `{ type, data }` pair that deciders
 * produce and projectors consume; `personalPaths` lists the personal fields of `data`.
 */
export interface EventDefinition<T extends string = string, D extends z.ZodType = z.ZodType> {
  readonly type: T;
  readonly version: number;
  readonly data: D;
  readonly schema: z.ZodObject<{ type: z.ZodLiteral<T>; data: D }>;
  readonly personalPaths: readonly DataPath[];
}

export function defineEvent<T extends string, D extends z.ZodType>(type: T, version: number, data: D): EventDefinition<T, D> {
  // The storable-input gate: a payload field that accepts what a store cannot hold fails at load time.
  assertStorable(data, `event ${type} v${version}`);
  return {
    type,
    version,
    data,
    schema: z.object({ type: z.literal(type), data }),
    personalPaths: personalPaths(data),
  };
}

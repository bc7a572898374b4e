import { z } from 'zod';
import { defineEvent } from './define.js';

/**
 * Events the platform itself writes, outside the five aggregates. They live in non-aggregate streams,
 * which the relay does not publish.
 */

/**
 * Stream `idempotency-<sha256(tenant:key)>`: the first command carrying an idempotency key that creates an
 * aggregate claims the new aggregate's stream here (appended with `no_stream`), so a retry of the same
 * create resolves to the same id instead of creating a second aggregate.
 */
export const IdempotencyKeyClaimed = defineEvent(
  'IdempotencyKeyClaimed',
  1,
  z.object({
    streamId: z.string().min(1).max(200),
    commandType: z.string().min(1).max(100),
  }),
);

export const systemEvents = [IdempotencyKeyClaimed] as const;
export type SystemEvent = z.infer<(typeof systemEvents)[number]['schema']>;

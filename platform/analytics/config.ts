import { z } from 'zod';

/**
 * The analytics engine's configuration variables (SPEC "Shape": CLICKHOUSE_URL chooses the adapter), as
 * a shape every deployable that opens the engine spreads into its one zod schema (platform/config).
 */
export const AnalyticsEnv = {
  /** The ClickHouse server over HTTP; unset → chDB (embedded) under DATA_DIR/analytics. */
  CLICKHOUSE_URL: z
    .string()
    .regex(/^https?:\/\/\S+$/, 'must start with http:// or https://')
    .optional(),
  /** The database of the fact table (created if missing). */
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'letters, digits and _ (at most 64), not starting with a digit')
    .default('annals'),
  CLICKHOUSE_USER: z.string().min(1).optional(),
  CLICKHOUSE_PASSWORD: z.string().optional(),
  /** `off`: no analytics projector and no engine (GraphQL analytics answers ANALYTICS_ERR_NOT_CONFIGURED). */
  ANALYTICS: z.enum(['on', 'off'], { error: 'must be on or off' }).default('on'),
} as const;

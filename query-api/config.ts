import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { deepFreeze, int, parseEnvs, SharedEnv, type Env } from '../platform/config/env.js';
import type { KeySource } from '../platform/auth/verify.js';
import type { LogLevel } from '../platform/logging/logger.js';

/**
 * The query API's settings (GUIDE rule 10), parsed by the one parser in platform/config. `QueryLimitsEnv`
 * is what the query API adds wherever it runs (its own process, or inside `npm start`, which parses it
 * with its other schemas in one pass); `QueryApiEnv` is the standalone process's whole environment.
 */
const onOff = z.enum(['on', 'off']);

export const QueryLimitsEnv = z.object({
  /** Deepest nesting of selections a query may have (introspection's own `__` fields are not counted). */
  QUERY_MAX_DEPTH: int(2, 64).default(10),
  /** Highest estimated cost of one query: each field costs 1, a page multiplies what is under it by its size. */
  QUERY_MAX_COST: int(10, 10_000_000).default(20_000),
  /** Largest `first`/`last` of a connection. */
  QUERY_MAX_PAGE_SIZE: int(1, 1_000).default(100),
  /** `first` when a connection gets neither `first` nor `last`. */
  QUERY_DEFAULT_PAGE_SIZE: int(1, 1_000).default(20),
  /** Read-your-writes: longest wait (ms) for the read models to reach X-Consistent-With before answering stale. */
  QUERY_CONSISTENCY_MAX_WAIT_MS: int(0, 60_000).default(5_000),
  /** Queries one user of one tenant may send per window (429 with Retry-After beyond). */
  QUERY_RATE_LIMIT_MAX_PER_WINDOW: int(1, 10_000_000).default(1_200),
  QUERY_RATE_LIMIT_WINDOW_MS: int(1_000, 86_400_000).default(60_000),
  /** GraphiQL at /graphiql. Default: on unless NODE_ENV=production. */
  GRAPHIQL: onOff.optional(),
  /** Schema introspection. Default: on unless NODE_ENV=production. */
  INTROSPECTION: onOff.optional(),
  NODE_ENV: z.string().optional(),
});
export type QueryLimitsEnv = z.output<typeof QueryLimitsEnv>;

export const QueryApiEnv = z
  .object({
    PORT: int(0, 65_535).default(8081),
    HOST: z.string().min(1).default('0.0.0.0'),
    DATA_DIR: SharedEnv.DATA_DIR,
    LOG_LEVEL: SharedEnv.LOG_LEVEL,
    READ_DB_URL: SharedEnv.READ_DB_URL,
    EVENTSTORE_URL: SharedEnv.EVENTSTORE_URL,
    SHUTDOWN_TIMEOUT_MS: SharedEnv.SHUTDOWN_TIMEOUT_MS,
    AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters (HS256 needs 256 bits)').optional(),
    AUTH_JWKS_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    AUTH_ISSUER: z.string().min(1).optional(),
    AUTH_AUDIENCE: z.string().min(1).optional(),
  })
  .superRefine((env, ctx) => {
    if (env.AUTH_JWT_SECRET !== undefined && env.AUTH_JWKS_URL !== undefined) {
      for (const v of ['AUTH_JWT_SECRET', 'AUTH_JWKS_URL']) ctx.addIssue({ code: 'custom', path: [v], message: 'set AUTH_JWT_SECRET or AUTH_JWKS_URL, not both' });
    }
    if (env.AUTH_JWKS_URL !== undefined) {
      for (const v of ['AUTH_ISSUER', 'AUTH_AUDIENCE'] as const) {
        if (env[v] === undefined) ctx.addIssue({ code: 'custom', path: [v], message: 'is required with AUTH_JWKS_URL' });
      }
    }
  });

/** What the query API itself needs, whoever hosts it (tests build this object directly). */
export interface QueryLimits {
  readonly maxDepth: number;
  readonly maxCost: number;
  readonly maxPageSize: number;
  readonly defaultPageSize: number;
  readonly graphiql: boolean;
  readonly introspection: boolean;
  /** Queries per user of a tenant per window (QUERY_RATE_LIMIT_MAX_PER_WINDOW / _WINDOW_MS). */
  readonly rateLimit?: { readonly maxPerWindow: number; readonly windowMs: number };
  /** Read-your-writes bound in ms (QUERY_CONSISTENCY_MAX_WAIT_MS, default 5 000). */
  readonly consistencyMaxWaitMs?: number;
}

export const DEFAULT_LIMITS: QueryLimits = Object.freeze({
  maxDepth: 10,
  maxCost: 20_000,
  maxPageSize: 100,
  defaultPageSize: 20,
  graphiql: true,
  introspection: true,
  rateLimit: { maxPerWindow: 1_200, windowMs: 60_000 },
  consistencyMaxWaitMs: 5_000,
});

export function queryLimitsOf(e: QueryLimitsEnv): QueryLimits {
  const production = e.NODE_ENV === 'production';
  const toggle = (v: 'on' | 'off' | undefined) => (v === undefined ? !production : v === 'on');
  if (e.QUERY_DEFAULT_PAGE_SIZE > e.QUERY_MAX_PAGE_SIZE) {
    // Caught here rather than in zod so the message names both variables.
    throw new Error(`QUERY_DEFAULT_PAGE_SIZE (${e.QUERY_DEFAULT_PAGE_SIZE}) must not exceed QUERY_MAX_PAGE_SIZE (${e.QUERY_MAX_PAGE_SIZE})`);
  }
  return deepFreeze({
    maxDepth: e.QUERY_MAX_DEPTH,
    maxCost: e.QUERY_MAX_COST,
    maxPageSize: e.QUERY_MAX_PAGE_SIZE,
    defaultPageSize: e.QUERY_DEFAULT_PAGE_SIZE,
    graphiql: toggle(e.GRAPHIQL),
    introspection: toggle(e.INTROSPECTION),
    rateLimit: { maxPerWindow: e.QUERY_RATE_LIMIT_MAX_PER_WINDOW, windowMs: e.QUERY_RATE_LIMIT_WINDOW_MS },
    consistencyMaxWaitMs: e.QUERY_CONSISTENCY_MAX_WAIT_MS,
  });
}

export interface QueryApiProcessConfig {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  readonly readDbUrl: string | undefined;
  readonly eventStoreUrl: string | undefined;
  readonly shutdownTimeoutMs: number;
  readonly auth: { readonly keys: KeySource; readonly issuer: string; readonly audience: string };
  readonly limits: QueryLimits;
}

/** The same defaults as the command API's (write-side/config.ts), so one token works on both. */
export const DEFAULT_ISSUER = 'annals';
export const DEFAULT_AUDIENCE = 'annals-api';

/**
 * The standalone query API's configuration. Without AUTH_JWT_SECRET / AUTH_JWKS_URL it uses the
 * development secret the embedded command API generated into DATA_DIR/secrets (never creates one: a query
 * API with a secret of its own would accept no token the command API's users hold).
 */
export async function loadQueryApiConfig(env: Env): Promise<{ config: QueryApiProcessConfig; warnings: string[] }> {
  const [e, l] = parseEnvs(env, [QueryApiEnv, QueryLimitsEnv]);
  const dataDir = resolve(e.DATA_DIR);
  const warnings: string[] = [];
  let keys: KeySource;
  if (e.AUTH_JWKS_URL !== undefined) keys = { kind: 'jwks', url: e.AUTH_JWKS_URL };
  else if (e.AUTH_JWT_SECRET !== undefined) keys = { kind: 'secret', secret: e.AUTH_JWT_SECRET };
  else {
    const path = join(dataDir, 'secrets', 'auth-jwt-secret');
    const secret = await readFile(path, 'utf8').then((s) => s.trim(), () => undefined);
    if (!secret) throw new Error(`AUTH_JWT_SECRET or AUTH_JWKS_URL is required (no development secret at ${path}: start the command API once, or set one)`);
    keys = { kind: 'secret', secret };
    warnings.push(`AUTH_JWT_SECRET is not set: using the development secret from ${path}`);
  }
  return {
    config: deepFreeze({
      port: e.PORT,
      host: e.HOST,
      dataDir,
      logLevel: e.LOG_LEVEL,
      readDbUrl: e.READ_DB_URL,
      eventStoreUrl: e.EVENTSTORE_URL,
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
      auth: { keys, issuer: e.AUTH_ISSUER ?? DEFAULT_ISSUER, audience: e.AUTH_AUDIENCE ?? DEFAULT_AUDIENCE },
      limits: queryLimitsOf(l),
    }),
    warnings,
  };
}

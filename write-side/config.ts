import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, deepFreeze, int, parseEnv, SharedEnv, type Env } from '../platform/config/env.js';
import type { LogLevel } from '../platform/logging/logger.js';
import type { KeySource } from '../platform/auth/verify.js';
import { eventStoreConfig, type EventStoreConfig } from '../platform/event-store/open.js';
import { PiiEnvShape } from '../platform/pii/config.js';
import { deriveSubkey } from '../platform/pii/master-key.js';

/**
 * The write side's configuration (GUIDE rule 10): one zod schema over the environment, parsed once at
 * start-up by the one parser in platform/config, frozen. A failure names every bad variable at once, so a
 * deployment is fixed in one go. Units are in the names (`_MS`, `_BYTES`, `_PER_WINDOW`).
 */

export const ConfigEnv = z
  .object({
    PORT: int(0, 65_535).default(8080),
    HOST: z.string().min(1).default('0.0.0.0'),
    DATA_DIR: SharedEnv.DATA_DIR,
    EVENTSTORE_URL: SharedEnv.EVENTSTORE_URL,
    AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters (HS256 needs 256 bits)').optional(),
    AUTH_JWKS_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    AUTH_ISSUER: z.string().min(1).optional(),
    AUTH_AUDIENCE: z.string().min(1).optional(),
    /**
     * GDPR (platform/pii): PII_MASTER_KEY (32 random bytes, base64/base64url/hex) wraps the per-subject data
     * keys; the email-uniqueness and request hashes use keys derived from it under their own HKDF labels.
     * PII_PREVIOUS_MASTER_KEYS, PII_KEY_CACHE_TTL_MS, PII_KEY_CACHE_SIZE, KEYSTORE_URL: see platform/pii/config.ts.
     */
    ...PiiEnvShape,
    /** Where the key tables live when KEYSTORE_URL is unset: the read database (else the embedded read PGlite). */
    READ_DB_URL: SharedEnv.READ_DB_URL,
    /**
     * `on` (default): personal fields are encrypted in the event store and on the bus. `off` stores them in
     * clear (benchmarks, a development store written before encryption); a store holding the other form
     * refuses to start either way.
     */
    PII_ENCRYPTION: z.enum(['on', 'off']).default('on'),
    LOG_LEVEL: SharedEnv.LOG_LEVEL,
    /** Commands one user of one tenant may send per window. */
    RATE_LIMIT_MAX_PER_WINDOW: int(1, 1_000_000).default(600),
    RATE_LIMIT_WINDOW_MS: int(1_000, 86_400_000).default(60_000),
    /** Largest accepted request body; larger answers 413. */
    BODY_LIMIT_BYTES: int(1_024, 100 * 1024 * 1024).default(1024 * 1024),
    /** How long a graceful shutdown waits for in-flight requests before the process exits anyway. */
    SHUTDOWN_TIMEOUT_MS: SharedEnv.SHUTDOWN_TIMEOUT_MS,
    /** Run the lead-conversion process manager in this process (off when another instance runs it). */
    CONVERSION_PROCESS: z.enum(['on', 'off']).default('on'),
  })
  .superRefine((env, ctx) => {
    const embedded = env.EVENTSTORE_URL === undefined;
    if (env.AUTH_JWT_SECRET !== undefined && env.AUTH_JWKS_URL !== undefined) {
      for (const v of ['AUTH_JWT_SECRET', 'AUTH_JWKS_URL']) ctx.addIssue({ code: 'custom', path: [v], message: 'set AUTH_JWT_SECRET or AUTH_JWKS_URL, not both' });
    }
    if (!embedded && env.AUTH_JWT_SECRET === undefined && env.AUTH_JWKS_URL === undefined) {
      ctx.addIssue({ code: 'custom', path: ['AUTH_JWT_SECRET'], message: 'AUTH_JWT_SECRET or AUTH_JWKS_URL is required when EVENTSTORE_URL is set' });
    }
    if (!embedded && env.PII_MASTER_KEY === undefined) {
      ctx.addIssue({ code: 'custom', path: ['PII_MASTER_KEY'], message: 'is required when EVENTSTORE_URL is set' });
    }
    // An identity provider has its own issuer and audience; guessing them would accept nothing (or too much).
    if (env.AUTH_JWKS_URL !== undefined) {
      for (const v of ['AUTH_ISSUER', 'AUTH_AUDIENCE'] as const) {
        if (env[v] === undefined) ctx.addIssue({ code: 'custom', path: [v], message: 'is required with AUTH_JWKS_URL' });
      }
    }
  });
export type ConfigEnv = z.input<typeof ConfigEnv>;

export type { EventStoreConfig };

export interface WriteSideConfig {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly eventStore: EventStoreConfig;
  /** READ_DB_URL: the read database of `npm start` (unset = embedded PGlite under DATA_DIR/read). */
  readonly readDbUrl?: string | undefined;
  readonly auth: { readonly keys: KeySource; readonly issuer: string; readonly audience: string };
  /** PII_MASTER_KEY as configured (text); only the key store uses it. */
  readonly piiMasterKey: string;
  /** Key of the email-uniqueness hashes: HKDF of the master key under its own label, never the master key itself. */
  readonly emailHashKey: string;
  /** Key of the idempotency request hashes (HKDF, another label). */
  readonly requestHashKey: string;
  readonly pii: {
    readonly encryption: boolean;
    readonly previousMasterKeys: readonly string[];
    readonly cacheTtlMs: number;
    readonly cacheSize: number;
    /** KEYSTORE_URL, else READ_DB_URL; undefined = the embedded read PGlite under DATA_DIR/read. */
    readonly keyStoreUrl: string | undefined;
  };
  readonly logLevel: LogLevel;
  readonly rateLimit: { readonly maxPerWindow: number; readonly windowMs: number };
  readonly bodyLimitBytes: number;
  readonly shutdownTimeoutMs: number;
  readonly conversionProcess: boolean;
}

/** HKDF labels of the write side's keyed hashes (changing one re-keys every stored hash: a new label, never an edit). */
export const EMAIL_HASH_LABEL = 'annals/write-side/email-hash/v1';
export const REQUEST_HASH_LABEL = 'annals/write-side/request-hash/v1';

export const DEFAULT_ISSUER = 'annals';
export const DEFAULT_AUDIENCE = 'annals-api';

// The one ConfigError of every deployable (platform/config); re-exported for the write side's callers.
export { ConfigError };

export interface LoadedConfig {
  readonly config: WriteSideConfig;
  /** Things main must log as warnings once the logger exists (config comes before the logger). */
  readonly warnings: readonly string[];
}

/** Parses the environment without touching the disk; the embedded secrets are filled in by `loadConfig`. */
export function parseConfigEnv(env: Env): Readonly<z.output<typeof ConfigEnv>> {
  return parseEnv(ConfigEnv, env);
}

/**
 * Parses the environment once and freezes the result. In embedded mode (no EVENTSTORE_URL) a missing
 * AUTH secret or PII master key is generated once into DATA_DIR/secrets (mode 0600) and reused on every
 * later start, with a warning: a fresh machine runs `npm start` with no setup, and its data stays
 * readable across restarts. In any other mode their absence is a start-up error (see the schema).
 */
export async function loadConfig(env: Env): Promise<LoadedConfig> {
  const e = parseConfigEnv(env);
  const dataDir = resolve(e.DATA_DIR);
  const warnings: string[] = [];

  let keys: KeySource;
  if (e.AUTH_JWKS_URL !== undefined) keys = { kind: 'jwks', url: e.AUTH_JWKS_URL };
  else if (e.AUTH_JWT_SECRET !== undefined) keys = { kind: 'secret', secret: e.AUTH_JWT_SECRET };
  else {
    const { value, created } = await embeddedSecret(dataDir, 'auth-jwt-secret');
    keys = { kind: 'secret', secret: value };
    warnings.push(`AUTH_JWT_SECRET is not set: using the development secret ${created ? 'generated into' : 'from'} ${secretPath(dataDir, 'auth-jwt-secret')} (embedded mode only)`);
  }
  let piiMasterKey = e.PII_MASTER_KEY;
  if (piiMasterKey === undefined) {
    const { value, created } = await embeddedSecret(dataDir, 'pii-master-key');
    piiMasterKey = value;
    warnings.push(`PII_MASTER_KEY is not set: using the development key ${created ? 'generated into' : 'from'} ${secretPath(dataDir, 'pii-master-key')} (embedded mode only)`);
  }

  const eventStore = eventStoreConfig(e.EVENTSTORE_URL, dataDir);

  const config: WriteSideConfig = {
    port: e.PORT,
    host: e.HOST,
    dataDir,
    eventStore,
    readDbUrl: e.READ_DB_URL,
    auth: { keys, issuer: e.AUTH_ISSUER ?? DEFAULT_ISSUER, audience: e.AUTH_AUDIENCE ?? DEFAULT_AUDIENCE },
    piiMasterKey,
    emailHashKey: deriveSubkey(piiMasterKey, EMAIL_HASH_LABEL),
    requestHashKey: deriveSubkey(piiMasterKey, REQUEST_HASH_LABEL),
    pii: {
      encryption: e.PII_ENCRYPTION === 'on',
      previousMasterKeys: e.PII_PREVIOUS_MASTER_KEYS,
      cacheTtlMs: e.PII_KEY_CACHE_TTL_MS,
      cacheSize: e.PII_KEY_CACHE_SIZE,
      keyStoreUrl: e.KEYSTORE_URL ?? e.READ_DB_URL,
    },
    logLevel: e.LOG_LEVEL,
    rateLimit: { maxPerWindow: e.RATE_LIMIT_MAX_PER_WINDOW, windowMs: e.RATE_LIMIT_WINDOW_MS },
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    conversionProcess: e.CONVERSION_PROCESS === 'on',
  };
  return { config: deepFreeze(config), warnings };
}

export function secretPath(dataDir: string, name: string): string {
  return join(dataDir, 'secrets', name);
}

/** Reads DATA_DIR/secrets/<name>, creating it (0600, in a 0700 directory) on first use. */
async function embeddedSecret(dataDir: string, name: string): Promise<{ value: string; created: boolean }> {
  const path = secretPath(dataDir, name);
  try {
    return { value: (await readFile(path, 'utf8')).trim(), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(join(dataDir, 'secrets'), { recursive: true, mode: 0o700 });
  const value = randomBytes(32).toString('base64url');
  try {
    // `wx`: two processes starting at once must not overwrite each other's secret.
    await writeFile(path, `${value}\n`, { mode: 0o600, flag: 'wx' });
    return { value, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return { value: (await readFile(path, 'utf8')).trim(), created: false };
  }
}

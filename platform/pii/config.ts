import { z } from 'zod';
import { DEFAULT_KEY_CACHE_SIZE, DEFAULT_KEY_CACHE_TTL_MS } from './key-store.js';
import { PiiMasterKeyText } from './master-key.js';

/**
 * The environment of the key store, for a deployable's config schema to spread into its own object (so a
 * failure names the variable: GUIDE rule 10). Parse the keys with `parseMasterKey` after validation.
 */
export const PiiEnvShape = {
  /** 32 bytes, base64 / base64url / hex. Required outside embedded mode (the deployable decides). */
  PII_MASTER_KEY: PiiMasterKeyText.optional(),
  /** Comma-separated older master keys still accepted for unwrapping during a rotation. */
  PII_PREVIOUS_MASTER_KEYS: z
    .string()
    .optional()
    .transform((v) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []))
    .pipe(z.array(PiiMasterKeyText)),
  /** Longest time a cached data key is used without checking for destructions by other processes. */
  PII_KEY_CACHE_TTL_MS: z.coerce.number().int().min(0).max(3_600_000).default(DEFAULT_KEY_CACHE_TTL_MS),
  /** Data keys kept in memory per process. */
  PII_KEY_CACHE_SIZE: z.coerce.number().int().min(1).max(10_000_000).default(DEFAULT_KEY_CACHE_SIZE),
  /** Where the key tables live; unset = the read database (READ_DB_URL), or PGlite when embedded. */
  KEYSTORE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
};
export const PiiEnv = z.object(PiiEnvShape);
export type PiiEnv = z.infer<typeof PiiEnv>;
